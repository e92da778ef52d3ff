using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.Data.Preferences;
using LoraLab.Demo;
using LoraLab.ModelFiles;
using Xunit;

namespace LoraLab.Tests.Demo;

/// The demo's built-in preference pairs (assets/demo-data/prefs-*.jsonl, written by `pretrain --demo-data`).
public class DemoPreferencesTests
{
    static string DataDir => Path.Combine(DemoAssets.Locate(), DemoAssets.DataFolder);

    [Fact]
    public void CommittedPairsAreWhatTheGeneratorWritesFromTheCommittedExamples()
    {
        var (train, held) = DemoTasks.Generate(1);
        var (prefsTrain, prefsHeld) = DemoPreferences.Generate(train, held, 1);
        Assert.Equal(prefsTrain.Select(PreferenceJsonl.ToJson), File.ReadAllLines(Path.Combine(DataDir, DemoAssets.PrefsTrainFile)));
        Assert.Equal(prefsHeld.Select(PreferenceJsonl.ToJson), File.ReadAllLines(Path.Combine(DataDir, DemoAssets.PrefsHeldOutFile)));
        // the reader takes them as plain-string pairs
        var read = PreferenceReader.Load(Path.Combine(DataDir, DemoAssets.PrefsHeldOutFile));
        Assert.Equal(held.Count, read.Count);
        Assert.All(read, r => Assert.IsType<TextPreference>(r));
    }

    [Fact]
    public void ChosenIsTheRightAnswerAndRejectedIsWrongOrRunsOn()
    {
        var (train, held) = DemoTasks.Generate(1, trainPerTask: 60, heldOutPerTask: 20);
        var (a, b) = DemoPreferences.Generate(train, held, 5);
        Assert.Equal(a, DemoPreferences.Generate(train, held, 5).Train);
        Assert.NotEqual(a.Select(p => p.Rejected), DemoPreferences.Generate(train, held, 6).Train.Select(p => p.Rejected));
        int wrong = 0, runOn = 0;
        foreach (var (e, p) in train.Zip(a).Concat(held.Zip(b)))
        {
            Assert.Equal(DemoTasks.ByInstruction(e.Instruction)!.Answer(e.Input), p.Chosen);
            Assert.Equal(new AlpacaTemplate().RenderPrompt(e.Instruction, e.Input), p.Prompt);
            Assert.NotEqual(p.Chosen, p.Rejected);
            if (p.Rejected == DemoPreferences.RunOn(e)) runOn++;
            else
            {
                // a wrong answer is another example's answer to the same task
                Assert.Contains((train.Contains(e) ? train : held), x => x.Task == e.Task && x.Output == p.Rejected);
                wrong++;
            }
        }
        Assert.InRange(wrong, 50, 150);
        Assert.InRange(runOn, 50, 150);
    }

    /// DPO sees exactly the SFT example's tokens: prompt + chosen (with EOS) of a pair are the ids the demo's
    /// supervised data has for the same example, and the prompt ends where the SFT labels start.
    [Fact]
    public void PairTokensMatchTheSupervisedExample()
    {
        using var loaded = ModelLoader.Load(Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder));
        var tok = loaded.RequireTokenizer();
        var template = new AlpacaTemplate();
        var builder = new ExampleBuilder(tok, template, new ExampleBuilderOptions { MaxSeqLength = 256 });
        var encoder = new PreferenceEncoder(tok, template, 256, 200);
        var (train, held) = DemoTasks.Generate(1, trainPerTask: 10, heldOutPerTask: 10);
        var (pairs, _) = DemoPreferences.Generate(train, held, 1);
        foreach (var (e, p) in train.Zip(pairs))
        {
            var sft = builder.Encode(new AlpacaRecord("demo", e.Instruction, e.Input, e.Output));
            var dpo = encoder.EncodePair(p);
            Assert.Equal(sft.InputIds, dpo.Prompt.Concat(dpo.Chosen).ToArray());
            Assert.Equal(dpo.Prompt.Length, Array.FindIndex(sft.Labels, l => l != Labels.Ignore));
        }
    }
}
