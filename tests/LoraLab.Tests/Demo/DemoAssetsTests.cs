using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.Demo;
using LoraLab.ModelFiles;
using Xunit;

namespace LoraLab.Tests.Demo;

/// The committed demo assets (assets/ in the repository, copied beside the CLI and the tests).
public class DemoAssetsTests
{
    [Fact]
    public void CommittedBaseLoadsAndIsSmall()
    {
        var dir = Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder);
        long bytes = new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length);
        Assert.True(bytes <= 5_000_000, $"{dir} holds {bytes:N0} bytes");
        using var loaded = ModelLoader.Load(dir);
        var tok = loaded.RequireTokenizer();
        Assert.Equal(loaded.Config.VocabSize, tok.VocabSize);
        Assert.Equal(loaded.Config.EosTokenId, tok.EosId);
        Assert.Equal("llama", loaded.Config.ModelType);
        // Pretrained: fresh corpus text (another seed) scores near the final validation loss (1.9), far below
        // uniform guessing (ln 1115 ≈ 7.0).
        var rows = LoraLab.Training.Pretrainer.ChunkCorpus(DemoCorpus.Documents(12345, 20_000), tok, 128).Take(24)
            .Select(r => (IReadOnlyList<int>)r.InputIds).ToList();
        var eval = Evaluation.Perplexity.Evaluate(loaded.Model, rows);
        Assert.True(eval.Loss < 2.3, $"corpus loss {eval.Loss:F3}");
    }

    [Fact]
    public void CommittedDatasetsMatchTheGeneratorAndKeepHeldOutApart()
    {
        var dir = Path.Combine(DemoAssets.Locate(), DemoAssets.DataFolder);
        var train = DemoTasks.FromRecords(DatasetReader.Load(Path.Combine(dir, DemoAssets.TrainFile)));
        var held = DemoTasks.FromRecords(DatasetReader.Load(Path.Combine(dir, DemoAssets.HeldOutFile)));
        Assert.DoesNotContain(train, e => e.Task == "other");
        // They are exactly what `pretrain --demo-data` generates with its default seed (1).
        var (genTrain, genHeld) = DemoTasks.Generate(1);
        Assert.Equal(genTrain, train);
        Assert.Equal(genHeld, held);
        foreach (var e in train.Concat(held)) Assert.Equal(e.Output, DemoTasks.ByInstruction(e.Instruction)!.Answer(e.Input));
        var trainKeys = train.Select(e => (e.Task, e.Input)).ToHashSet();
        Assert.DoesNotContain(held, e => trainKeys.Contains((e.Task, e.Input)));
    }
}
