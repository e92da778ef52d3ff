using LoraLab.Data;
using LoraLab.Tests.Fakes;
using Xunit;

namespace LoraLab.Tests.Data;

/// Real instruction data nobody here wrote: the 175 Stanford Alpaca seed tasks (with and without input,
/// code, lists, Unicode) must load and tokenize through every template that takes Alpaca records.
public class AlpacaSeedTasksTests
{
    static string Path_ => SharedFixtures.Path_("fixtures", "alpaca-seed-tasks", "seed_tasks_alpaca.json");

    [SharedFact(SharedFixtures.AlpacaSeedTasks)]
    public void LoadsAllSeedTasks()
    {
        var records = DatasetReader.Load(Path_);
        Assert.Equal(175, records.Count);
        var alpaca = records.Cast<AlpacaRecord>().ToList();
        Assert.Contains(alpaca, r => r.Input.Length > 0);
        Assert.Contains(alpaca, r => r.Input.Length == 0);
        Assert.All(alpaca, r => Assert.False(string.IsNullOrWhiteSpace(r.Instruction)));
    }

    [SharedTheory(SharedFixtures.AlpacaSeedTasks)]
    [InlineData("alpaca")]
    [InlineData("chatml")]
    [InlineData("llama3")]
    [InlineData("llama2-chat")]
    public void TokenizesAndRoundTripsThroughEveryChatTemplate(string name)
    {
        var records = DatasetReader.Load(Path_);
        var tok = new CharTokenizer();
        var template = PromptTemplate.Get(name);
        // The byte tokenizer makes one token per byte; the longest task (a 6 kB input) fits in 8192.
        var built = new ExampleBuilder(tok, template, new ExampleBuilderOptions { MaxSeqLength = 8192 }).Build(records);
        Assert.Equal(new DataStats(175, 0, 0, built.Stats.Tokens, built.Stats.TargetTokens), built.Stats);
        Assert.InRange(built.Stats.TargetShare, 0.05, 0.95);
        // Targets decode to exactly the responses (plus the end marker): the mask sits on the right bytes.
        for (int i = 0; i < records.Count; i++)
        {
            var targets = tok.Decode(built.Examples[i].Labels.Where(l => l != Labels.Ignore));
            Assert.Contains(((AlpacaRecord)records[i]).Output.Trim(), targets);
        }

        var truncated = new ExampleBuilder(tok, template, new ExampleBuilderOptions { MaxSeqLength = 256 }).Build(records);
        Assert.True(truncated.Stats.Truncated + truncated.Stats.Dropped > 0);
        Assert.All(truncated.Examples, e => Assert.True(e.Length <= 256));
        using var batch = Batcher.For(tok).Collate(truncated.Examples.Take(8).ToList());
        Assert.Equal(truncated.Examples.Take(8).Sum(e => e.TargetTokens), batch.TargetTokens);
    }
}
