using System.Text.Json;
using LoraLab.Evaluation.Tasks;
using LoraLab.ModelFiles;
using Xunit;

namespace LoraLab.Tests.Tasks;

/// Multiple choice against tools/make_task_reference.py: the lm-evaluation-harness conventions computed with PyTorch
/// on the random-weight tiny-chat model, example by example (tokens, per-choice log-likelihoods, acc, acc_norm).
public class MultipleChoiceReferenceTests
{
    static readonly string TaskDir = RepoFixtures.Path_("tasks");
    static JsonElement Reference() => JsonDocument.Parse(File.ReadAllText(Path.Combine(TaskDir, "mc-reference.json"))).RootElement;
    static LoadedModel Load() => ModelLoader.Load(RepoFixtures.Path_("tiny-chat"));
    static List<ChoiceExample> Examples() => TaskFile.LoadChoices(Path.Combine(TaskDir, "mc.jsonl"), TaskFormat.Plain, TaskFields.Parse(null));

    [Fact]
    public void Tokens_split_as_the_reference_does()
    {
        using var loaded = Load();
        var encoder = new PlainTextEncoder(loaded.RequireTokenizer());
        var refs = Reference().GetProperty("examples").EnumerateArray().ToList();
        var examples = Examples();
        for (int e = 0; e < examples.Count; e++)
            for (int c = 0; c < examples[e].Choices.Count; c++)
            {
                var r = encoder.Encode(examples[e].Context, " " + examples[e].Choices[c]);
                Assert.Equal(Ids(refs[e].GetProperty("context_ids")[c]), r.Context);
                Assert.Equal(Ids(refs[e].GetProperty("continuation_ids")[c]), r.Continuation);
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Loglikelihoods_acc_and_acc_norm_equal_the_reference(int batchSize)
    {
        using var loaded = Load();
        var result = MultipleChoice.Score(loaded.Model, new PlainTextEncoder(loaded.RequireTokenizer()), Examples(), batchSize);
        var reference = Reference();
        var refs = reference.GetProperty("examples").EnumerateArray().ToList();
        Assert.Equal(refs.Count, result.Examples.Count);
        for (int e = 0; e < refs.Count; e++)
        {
            var lls = refs[e].GetProperty("loglikelihoods").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            for (int c = 0; c < lls.Length; c++) Assert.Equal(lls[c], result.Examples[e].LogLikelihoods[c], 1e-4);
            Assert.Equal(refs[e].GetProperty("pred").GetInt32(), result.Examples[e].Pred);
            Assert.Equal(refs[e].GetProperty("pred_norm").GetInt32(), result.Examples[e].PredNorm);
        }
        Assert.Equal(reference.GetProperty("acc").GetDouble(), result.Acc.Value, 12);
        Assert.Equal(reference.GetProperty("acc_stderr").GetDouble(), result.Acc.StdErr, 12);
        Assert.Equal(reference.GetProperty("acc_norm").GetDouble(), result.AccNorm.Value, 12);
        Assert.Equal(reference.GetProperty("acc_norm_stderr").GetDouble(), result.AccNorm.StdErr, 12);
        // the fixture's choices differ in length, and that changes the answer somewhere
        Assert.Contains(result.Examples, x => x.Pred != x.PredNorm);
    }

    [Fact]
    public void Batched_scoring_equals_unbatched()
    {
        using var loaded = Load();
        var encoder = new PlainTextEncoder(loaded.RequireTokenizer());
        var requests = Examples().SelectMany(e => e.Choices.Select(c => encoder.Encode(e.Context, " " + c))).ToList();
        var one = LoglikelihoodScorer.Score(loaded.Model, requests, batchSize: 1);
        var all = LoglikelihoodScorer.Score(loaded.Model, requests, batchSize: requests.Count);
        Assert.Equal(one.Length, all.Length);
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], all[i], 1e-5);
    }

    static int[] Ids(JsonElement a) => a.EnumerateArray().Select(x => x.GetInt32()).ToArray();
}
