using LoraLab.Data.Demo;
using LoraLab.Demo;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Tokenization;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Demo;

public class PretrainerTests
{
    [Fact]
    public void AFewStepsLowerTheLossAndWriteALoadableModelFolder()
    {
        var root = TempDir.New("pretrain");
        try
        {
            var docs = DemoCorpus.Documents(9, 20_000);
            var tokDir = Path.Combine(root, "tok");
            DemoAssets.TrainTokenizer(tokDir, docs, [], 320);
            var tok = TokenizerLoader.Load(tokDir);
            var cfg = DemoAssets.ModelConfig(tok.VocabSize, tok.BosId!.Value, tok.EosId!.Value) with
            {
                HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8,
            };
            var options = new PretrainOptions
            {
                Model = cfg, SeqLength = 32, SaveDtype = TorchSharp.torch.ScalarType.Float16,
                Train = new LoraLab.Configuration.RunConfig { Lr = 1e-2, BatchSize = 8, MicroBatchSize = 8, MaxSteps = 30, WarmupSteps = 0, Schedule = LoraLab.Configuration.ScheduleKind.Constant, Seed = 3 },
            };
            var losses = new List<double>();
            var outDir = Path.Combine(root, "model");
            var result = Pretrainer.Run(options, docs, tok, tokDir, outDir, Path.Combine(root, "run"), onStep: r => losses.Add(r.Loss));

            Assert.Equal(30, losses.Count);
            Assert.True(losses.Skip(25).Average() < losses.Take(3).Average() - 1.0, $"loss went from {losses[0]:F3} to {losses[^1]:F3}");
            Assert.NotNull(result.Train.FinalValLoss);
            foreach (var f in new[] { "config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json" })
                Assert.True(File.Exists(Path.Combine(outDir, f)), f);

            using var loaded = ModelLoader.Load(outDir);
            Assert.Equal("float16", loaded.Config.TorchDtype);
            Assert.Equal(cfg.HiddenSize, loaded.Config.HiddenSize);
            Assert.Equal(tok.VocabSize, loaded.RequireTokenizer().VocabSize);
            // The saved model scores about as well as the trained one did (fp16 rounding only).
            var rows = Pretrainer.ChunkCorpus(docs.Take(20), tok, 32).Select(r => (IReadOnlyList<int>)r.InputIds).ToList();
            var eval = Evaluation.Perplexity.Evaluate(loaded.Model, rows);
            Assert.True(eval.Loss < losses.Take(3).Average() - 1.0, $"reloaded loss {eval.Loss:F3}");
        }
        finally { if (Directory.Exists(root)) Directory.Delete(root, true); }
    }

    [Fact]
    public void WithoutLoraEveryWeightIsTrainable()
    {
        var cfg = DemoAssets.ModelConfig(300, 297, 298) with { HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1, HeadDim = 8 };
        using var model = new CausalLM(cfg, TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU);
        model.InitializeRandom(1);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        var trainable = RunSetup.Trainable(model, null, 1).Parameters;
        Assert.Equal(ModelShapes.Expected(cfg).Count(), trainable.Count);
        Assert.All(trainable, t => Assert.True(t.Param.requires_grad));
    }

    [Fact]
    public void ChunkingCutsFullRowsOfDocumentsBetweenBosAndEos()
    {
        var dir = TempDir.New("chunk");
        try
        {
            DemoAssets.TrainTokenizer(dir, DemoCorpus.Documents(1, 5_000), [], 300);
            var tok = TokenizerLoader.Load(dir);
            var docs = new[] { "the cat runs.", "a dog sleeps in the sun." };
            var stream = docs.SelectMany(d => new[] { tok.BosId!.Value }.Concat(tok.Encode(d)).Append(tok.EosId!.Value)).ToList();
            var rows = Pretrainer.ChunkCorpus(docs, tok, 4);
            Assert.Equal(stream.Count / 4, rows.Count);
            Assert.Equal(stream.Take(rows.Count * 4), rows.SelectMany(r => r.InputIds));
            Assert.All(rows, r => Assert.Equal(r.InputIds, r.Labels));
        }
        finally { Directory.Delete(dir, true); }
    }
}
