using LoraLab.Runtime;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Evaluation;

public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 128;
    /// 0 = greedy (deterministic).
    public double Temperature { get; init; } = 0;
    public double TopP { get; init; } = 1.0;
    public int TopK { get; init; } = 0;
    public long Seed { get; init; } = 0;
    public IReadOnlyCollection<int> StopIds { get; init; } = Array.Empty<int>();

    /// Accepted flag values (generate, chat): NaN would slip past a plain comparison and sample garbage.
    public static readonly NumberRange MaxNewTokensRange = NumberRange.AtLeast(1);
    public static readonly NumberRange TemperatureRange = NumberRange.NonNegative;
    public static readonly NumberRange TopPRange = new(0, 1, MinOpen: true);
    public static readonly NumberRange TopKRange = NumberRange.AtLeast(0);
}

public sealed record GenerationResult(IReadOnlyList<int> Tokens, bool Stopped);

/// Autoregressive decoding with a KV cache: one prefill pass over the prompt, then one token per step.
public static class TextGenerator
{
    /// `stopAfter` is asked after each token whether to end there (a stop string the tokenizer spells in several
    /// tokens, an interrupt); the result then counts as stopped. `sampler`: a generator that goes on across calls (a
    /// chat's turns); by default each call samples from a fresh one seeded with opts.Seed.
    public static GenerationResult Generate(CausalLM model, IReadOnlyList<int> prompt, SamplingOptions opts, Action<int>? onToken = null,
        Func<bool>? stopAfter = null, torch.Generator? sampler = null)
    {
        if (prompt.Count == 0) throw new UserException("the prompt is empty (no tokens)");
        using var _ = no_grad();
        using var own = sampler is null ? new torch.Generator((ulong)opts.Seed, CPU) : null;
        var gen = sampler ?? own!;
        long max = prompt.Count + opts.MaxNewTokens;
        using var cache = new KvCache(model.Config, 1, max, model.Dtype, model.Device);
        var output = new List<int>();
        using var first = tensor(prompt.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: model.Device).unsqueeze(0);
        var input = first.alias();
        try
        {
            for (int step = 0; step < opts.MaxNewTokens; step++)
            {
                int next;
                using (var scope = NewDisposeScope())
                {
                    var logits = model.Forward(input, cache: cache);
                    var last = logits.select(1, logits.shape[1] - 1).squeeze(0).to(ScalarType.Float32).cpu();
                    // argmax over NaN picks an arbitrary id (often 0, printed as a NUL byte): stop instead.
                    if (!isfinite(last).all().item<bool>())
                        throw new UserException($"the model's logits are NaN/Inf at generated token {step + 1} (non-finite weights, or values that overflow {model.Dtype}; try --precision fp32)");
                    next = Sample(last, opts, gen);
                }
                output.Add(next);
                onToken?.Invoke(next);
                if (opts.StopIds.Contains(next) || stopAfter?.Invoke() == true) return new GenerationResult(output, true);
                input.Dispose();
                input = tensor(new long[] { next }, dtype: ScalarType.Int64, device: model.Device).unsqueeze(0);
            }
        }
        finally { input.Dispose(); }
        return new GenerationResult(output, false);
    }

    /// Greedy argmax at temperature 0; otherwise temperature, then top-k, then nucleus (top-p) filtering.
    public static int Sample(Tensor logits, SamplingOptions opts, torch.Generator gen)
    {
        using var scope = NewDisposeScope();
        if (opts.Temperature <= 0) return (int)logits.argmax().item<long>();
        var scaled = logits.div(opts.Temperature);
        if (opts.TopK > 0 && opts.TopK < scaled.shape[0])
        {
            var kth = scaled.topk(opts.TopK).values[opts.TopK - 1];
            scaled = scaled.masked_fill(scaled.lt(kth), double.NegativeInfinity);
        }
        if (opts.TopP < 1.0)
        {
            var (sorted, idx) = scaled.sort(descending: true);
            var cum = sorted.softmax(0).cumsum(0);
            // drop a token when the mass before it already reaches top_p (the first token always stays)
            var drop = cum.sub(sorted.softmax(0)).ge(opts.TopP);
            var dropOrig = zeros_like(drop).scatter(0, idx, drop);
            scaled = scaled.masked_fill(dropOrig, double.NegativeInfinity);
        }
        var probs = scaled.softmax(0);
        return (int)multinomial(probs, 1, generator: gen).item<long>();
    }
}
