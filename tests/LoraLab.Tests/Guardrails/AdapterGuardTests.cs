using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Tests.Adapters;
using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.Guardrails;

/// Serving an adapter: a different base is a one-line warning (the load proceeds), a base it does not fit is an
/// error, and an adapter that leaves the output unchanged is an error for eval and generate.
[Collection("cli")]
public class AdapterGuardTests
{
    static string Tiny => LoraTestModels.TinyDir;
    static string TinyAdapter => LoraTestModels.TinyAdapterDir;

    static string[] Generate(string model, string adapter) =>
        ["generate", "--model", model, "--adapter", adapter, "--prompt-ids", "1,5,9", "--max-new-tokens", "2", "--threads", "1"];

    /// The reference PEFT adapter with a loralab_adapter.json that records tiny-llama as its base.
    static string AdapterWithProvenance()
    {
        var dir = TempDir.New();
        foreach (var f in Directory.GetFiles(TinyAdapter)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        AdapterProvenance.Write(dir, new AdapterProvenance
        {
            Template = "plain", AddBos = true, BosId = 1, EosId = 2, StopIds = [2], BaseModel = Tiny, BaseFingerprint = BaseFingerprint.Compute(Tiny),
        });
        return dir;
    }

    /// An adapter saved straight after injection: every B is zero, so it changes nothing.
    static string ZeroAdapter()
    {
        var dir = TempDir.New();
        using var m = LoraTestModels.LoadTiny();
        var cfg = new LoraConfig { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj"] };
        LoraInjector.Apply(m.Model, cfg, seed: 1);
        PeftFormat.Save(dir, m.Model, cfg, Tiny);
        return dir;
    }

    [Fact]
    public void RecordedBaseLoadsWithoutWarning()
    {
        var (code, _, err) = CliRunner.Run(Generate(Tiny, AdapterWithProvenance()));
        Assert.True(code == 0, err);
        Assert.DoesNotContain("warning", err);
    }

    [Fact]
    public void ADifferentBaseWarnsOnOneLineAndProceeds()
    {
        var nudged = ModelCopies.WithNudgedEmbedding(Tiny);
        var (code, stdout, err) = CliRunner.Run(Generate(nudged, AdapterWithProvenance()));
        Assert.True(code == 0, err);
        var warning = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("warning: ", warning);
        Assert.Contains("different base", warning);
        Assert.Contains("sampled weights differ", warning);
        Assert.NotEmpty(stdout.Trim());
    }

    [Fact]
    public void ABaseTheAdapterDoesNotFitIsAnError()
    {
        var (code, _, err) = CliRunner.Run(Generate(RepoFixtures.Path_("mqa-tied"), TinyAdapter));
        Assert.Equal(2, code);
        Assert.Contains("has shape", err);
    }

    [Fact]
    public void AnAdapterThatChangesNothingIsAnErrorForGenerateAndEval()
    {
        var zero = ZeroAdapter();
        var (code, _, err) = CliRunner.Run(Generate(Tiny, zero));
        Assert.Equal(2, code);
        Assert.Contains("does not change the model's output", err);

        var data = Path.Combine(TempDir.New(), "ids.jsonl");
        File.WriteAllText(data, "{\"input_ids\": [1, 5, 9, 14, 20]}\n");
        (code, _, err) = CliRunner.Run("eval", "--model", Tiny, "--adapter", zero, "--data", data);
        Assert.Equal(2, code);
        Assert.Contains("does not change the model's output", err);
    }

    [Fact]
    public void AdapterEffectIsZeroOnlyWhenTheAdapterIsOffOrZero()
    {
        using var m = LoraTestModels.LoadTiny();
        PeftFormat.Load(TinyAdapter, m.Model);
        Assert.True(AdapterEffect.MaxLogitChange(m.Model) > 1e-3);
        using (AdaptersOff.On(m.Model)) Assert.Equal(0, AdapterEffect.MaxLogitChange(m.Model));
        Assert.True(m.Model.Projections().Where(p => p.Projection.Adapter is not null).All(p => p.Projection.AdapterActive));
    }

    [Fact]
    public void ValidateReportsModulesShapesAndFingerprint()
    {
        var adapter = AdapterWithProvenance();
        var (code, stdout, err) = CliRunner.Run("adapter", "validate", "--model", Tiny, "--adapter", adapter);
        Assert.True(code == 0, err + stdout);
        Assert.Contains("q_proj", stdout);
        Assert.Contains("[4, 64]", stdout);
        Assert.Contains("4 modules matched", stdout);
        Assert.Contains("sampled weights", stdout);
        Assert.Contains("fits this base", stdout);

        (code, stdout, _) = CliRunner.Run("adapter", "validate", "--model", ModelCopies.WithNudgedEmbedding(Tiny), "--adapter", adapter);
        Assert.Equal(1, code);
        Assert.Contains("differ", stdout);
        Assert.Contains("problems found", stdout);

        (code, stdout, _) = CliRunner.Run("adapter", "validate", "--model", Tiny, "--adapter", ZeroAdapter());
        Assert.Equal(1, code);
        Assert.Contains("none: the output equals the base's", stdout);

        (code, _, err) = CliRunner.Run("adapter", "validate", "--model", RepoFixtures.Path_("mqa-tied"), "--adapter", adapter);
        Assert.Equal(2, code);
        Assert.Contains("has shape", err);
    }
}
