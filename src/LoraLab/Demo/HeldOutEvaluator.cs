using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.Evaluation;
using LoraLab.Models;
using LoraLab.Tokenization;
using LoraLab.Training;
using static TorchSharp.torch;
using DataLoader = LoraLab.Data.DataLoader;

namespace LoraLab.Demo;

/// One held-out prompt, what the model answered, and whether it matched.
public sealed record GenerationSample(string Task, string Instruction, string Input, string Expected, string Generated, bool Correct, bool Stopped);

/// How a model does on the held-out set: exact-match accuracy of greedy answers, the mean next-token loss on
/// the answer tokens, and the share of answers that ended with EOS before the token limit.
public sealed record HeldOutScore(double Accuracy, double ValLoss, double StopShare, int Count,
    IReadOnlyDictionary<string, double> TaskAccuracy, IReadOnlyList<GenerationSample> Samples);

/// Scores a model on instruction examples the way the demo reports it.
public static class HeldOutEvaluator
{
    public static HeldOutScore Evaluate(CausalLM model, ITokenizer tokenizer, ExampleBuilder builder, IReadOnlyList<DemoExample> examples,
        BuiltDataset encoded, int maxNewTokens = 16, Action<int, int>? progress = null)
    {
        var samples = new List<GenerationSample>(examples.Count);
        var options = new SamplingOptions { MaxNewTokens = maxNewTokens, Temperature = 0, StopIds = builder.StopTokenIds.ToArray() };
        model.eval();
        foreach (var e in examples)
        {
            var prompt = builder.EncodePrompt(e.Instruction, e.Input);
            var result = TextGenerator.Generate(model, prompt, options);
            var answer = result.Stopped ? result.Tokens.Take(result.Tokens.Count - 1) : result.Tokens;
            var text = tokenizer.Decode(answer).Trim();
            samples.Add(new GenerationSample(e.Task, e.Instruction, e.Input, e.Output, text, text == e.Output.Trim(), result.Stopped));
            progress?.Invoke(samples.Count, examples.Count);
        }
        var byTask = samples.GroupBy(s => s.Task).ToDictionary(g => g.Key, g => g.Average(s => s.Correct ? 1.0 : 0.0));
        return new HeldOutScore(
            samples.Count == 0 ? 0 : samples.Average(s => s.Correct ? 1.0 : 0.0),
            ValidationLoss(model, encoded, Batcher.For(tokenizer)),
            samples.Count == 0 ? 0 : samples.Average(s => s.Stopped ? 1.0 : 0.0),
            samples.Count, byTask, samples);
    }

    /// Mean next-token loss over the target (answer) tokens of every example.
    public static double ValidationLoss(CausalLM model, BuiltDataset data, Batcher batcher, int microBatch = 16)
    {
        model.eval();
        return Losses.MeanOver(model, new DataLoader(data.Examples, batcher, microBatch, seed: 0, shuffle: false).Epoch(0));
    }
}
