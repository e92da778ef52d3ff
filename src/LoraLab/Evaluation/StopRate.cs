using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.Models;

namespace LoraLab.Evaluation;

/// Share of prompts whose greedy generation ends with a stop token before the length limit.
public sealed record StopRateResult(int Prompts, int Stopped, int MaxNewTokens)
{
    public double Rate => Prompts == 0 ? 0 : (double)Stopped / Prompts;
    public override string ToString() => $"{Stopped}/{Prompts} ({Rate:P0})";
}

/// The base model's and the tuned model's stop rate on the same held-out prompts.
public sealed record StopRateComparison(StopRateResult? Base, StopRateResult Tuned)
{
    /// The metrics.jsonl record: `{"type":"stop_rate", ...}`.
    public object ToMetricsRecord() => new
    {
        type = "stop_rate", prompts = Tuned.Prompts, max_new_tokens = Tuned.MaxNewTokens,
        base_stopped = Base?.Stopped, base_rate = Base?.Rate, tuned_stopped = Tuned.Stopped, tuned_rate = Tuned.Rate,
    };
}

/// How often a model stops by itself. A tuned model that never learnt its end token (pad = EOS masked out, a
/// template without the stop token) generates to the limit every time, while its loss curve looks fine; comparing
/// with the base on held-out prompts makes that visible right after training.
public static class StopRate
{
    public const int DefaultPrompts = 16, DefaultMaxNewTokens = 64;

    /// Generation prompts from records with a prompt/response split (Alpaca and chat records), in order;
    /// plain-text and pre-tokenized records have no prompt and are skipped, as are prompts of max-seq-length or more.
    public static IReadOnlyList<int[]> Prompts(ExampleBuilder builder, IEnumerable<Record> records, int max = DefaultPrompts)
    {
        var prompts = new List<int[]>();
        foreach (var r in records)
        {
            if (prompts.Count >= max) break;
            int[]? ids = r switch
            {
                AlpacaRecord a => builder.EncodePrompt(a.Instruction, a.Input),
                ChatRecord { Messages: [.., { Role: ChatMessage.User }, { Role: ChatMessage.Assistant }] } c => builder.EncodePrompt(c.Messages.Take(c.Messages.Count - 1).ToList()),
                _ => null,
            };
            // a prompt at the length limit would have been cut in training too: its response was never seen
            if (ids is { Length: > 0 } && ids.Length < builder.Options.MaxSeqLength) prompts.Add(ids);
        }
        return prompts;
    }

    /// Greedy generation of each prompt; stopped when one of the builder's stop ids comes out within the limit.
    public static StopRateResult Measure(CausalLM model, IReadOnlyList<int[]> prompts, IReadOnlyCollection<int> stopIds, int maxNewTokens = DefaultMaxNewTokens)
    {
        if (stopIds.Count == 0) throw new UserException("no stop token ids: cannot measure whether generation stops");
        using (EvalMode.On(model))
        {
            var opts = new SamplingOptions { MaxNewTokens = maxNewTokens, Temperature = 0, StopIds = stopIds };
            int stopped = prompts.Count(p => TextGenerator.Generate(model, p, opts).Stopped);
            return new StopRateResult(prompts.Count, stopped, maxNewTokens);
        }
    }

    /// The tuned model's stop rate and, when it carries LoRA adapters and `withBase`, the base's (adapters switched off).
    public static StopRateComparison Compare(CausalLM model, ExampleBuilder builder, IEnumerable<Record> heldOut,
        int maxPrompts = DefaultPrompts, int maxNewTokens = DefaultMaxNewTokens, bool withBase = true)
    {
        var prompts = Prompts(builder, heldOut, maxPrompts);
        StopRateResult? baseRate = null;
        if (withBase && LoraInjector.Adapters(model).Count > 0)
            using (AdaptersOff.On(model)) baseRate = Measure(model, prompts, builder.StopTokenIds.ToArray(), maxNewTokens);
        return new StopRateComparison(baseRate, Measure(model, prompts, builder.StopTokenIds.ToArray(), maxNewTokens));
    }
}
