using Xunit;

namespace LoraLab.Tests.Cli;

/// Every numeric flag and YAML value is checked against its range, with its name, before libtorch sees it and
/// before anything is written: `--lr NaN` or `save_every: -5` used to train (or crash) and leave files behind.
[Collection("cli")]
public class SettingRangeTests
{
    static void ExpectRefusedBeforeWriting(string expected, params string[] args)
    {
        var outDir = Path.Combine(TempDir.New(), "run");
        var (code, _, err) = CliRunner.Run(new[] { "train", "--model", "no-model", "--data", "no-data.jsonl", "--out", outDir }.Concat(args).ToArray());
        Assert.Equal(2, code);
        Assert.Equal("error: " + expected.Replace("{cores}", $"{4 * Environment.ProcessorCount} (4 x the {Environment.ProcessorCount} cores)"), err.Trim());
        Assert.False(Directory.Exists(outDir), "the output folder was created before the check");
    }

    [Theory]
    [InlineData("--lr must be a finite number > 0, got NaN", "--lr", "NaN")]
    [InlineData("--lr must be a finite number > 0, got 0", "--lr", "0")]
    [InlineData("--min-lr must be a finite number >= 0, got -1E-05", "--min-lr", "-1e-5")]
    [InlineData("--alpha must be a finite number > 0, got Infinity", "--alpha", "Infinity")]
    [InlineData("--lora-dropout must be a finite number in [0, 1), got 1", "--lora-dropout", "1")]
    [InlineData("--weight-decay must be a finite number >= 0, got -0.1", "--weight-decay", "-0.1")]
    [InlineData("--momentum must be a finite number in [0, 1), got 1.5", "--momentum", "1.5")]
    [InlineData("--max-grad-norm must be a finite number >= 0, got NaN", "--max-grad-norm", "NaN")]
    [InlineData("--batch-size must be at least 1, got 0", "--batch-size", "0")]
    [InlineData("--micro-batch-size must be at least 1, got -2", "--micro-batch-size", "-2")]
    [InlineData("--epochs must be at least 1, got 0", "--epochs", "0")]
    [InlineData("--max-steps must be at least 1, got 0", "--max-steps", "0")]
    [InlineData("--warmup-steps must be at least 0, got -1", "--warmup-steps", "-1")]
    [InlineData("--warmup-ratio must be a finite number in [0, 1], got 2", "--warmup-ratio", "2")]
    [InlineData("--save-every must be at least 0, got -5", "--save-every", "-5")]
    [InlineData("--eval-every must be at least 0, got -1", "--eval-every", "-1")]
    [InlineData("--log-every must be at least 0, got -1", "--log-every", "-1")]
    [InlineData("--val-fraction must be a finite number in [0, 1), got 1", "--val-fraction", "1")]
    [InlineData("--max-seq-length must be at least 8, got 4", "--max-seq-length", "4")]
    [InlineData("--r must be at least 1, got 0", "--r", "0")]
    [InlineData("--stop-rate-prompts must be at least 0, got -1", "--stop-rate-prompts", "-1")]
    [InlineData("--threads must be between 1 and {cores}, got 0", "--threads", "0")]
    [InlineData("--threads must be between 1 and {cores}, got 100000", "--threads", "100000")]
    [InlineData("--streams must be between 1 and {cores}, got 0", "--streams", "0")]
    public void TrainFlagsOutOfRangeAreRefusedBeforeAnythingIsWritten(string expected, params string[] args) =>
        ExpectRefusedBeforeWriting(expected, args);

    [Theory]
    [InlineData("lr: .inf\n", "{f}:1: lr must be a finite number > 0, got Infinity")]
    [InlineData("model: m\nsave_every: -5\n", "{f}:2: save_every must be at least 0, got -5")]
    [InlineData("lora_dropout: .nan\n", "{f}:1: lora_dropout must be a finite number in [0, 1), got NaN")]
    [InlineData("model: m\n\nr: [1, 2]\n", "{f}:3: r: expected a whole number")]
    [InlineData("lr: fast\n", "{f}:1: lr: expected a number, got 'fast'")]
    [InlineData("packing: maybe\n", "{f}:1: packing: expected true or false, got 'maybe'")]
    [InlineData("model: {a: 1}\n", "{f}:1: model: expected a single value (text)")]
    [InlineData("lr: 1e-4\nlearning_rate: 1e-3\n", "{f}:2: unknown key 'learning_rate' (did you mean 'lr'?)")]
    [InlineData("max_step: 3\n", "{f}:1: unknown key 'max_step' (did you mean 'max_steps'?)")]
    [InlineData("max_record_bytes: 2000000000\n", "{f}:1: max_record_bytes must be between 1 and 1000000000, got 2000000000")]
    [InlineData("rank: 8\n", "{f}:1: unknown key 'rank' (did you mean 'r'?)")]
    [InlineData("lr: 1e-4\nran: {total_steps: 3}\n", "{f}:2: unknown key 'ran'")]      // what a run did is recorded in run.yaml, never a setting
    [InlineData("resumed: []\n", "{f}:1: unknown key 'resumed'")]
    [InlineData("r: 4\nalpha: 8\nr: 16\n", "{f}:3: duplicate key 'r' (first at line 1)")]
    [InlineData("- lr\n", "{f}:1: a run config is a mapping of settings (lr: 3e-4, r: 8, ...)")]
    public void YamlErrorsNameTheFileLineAndKey(string yaml, string expected)
    {
        var file = Path.Combine(TempDir.New(), "x.yaml");
        File.WriteAllText(file, yaml);
        ExpectRefusedBeforeWriting(expected.Replace("{f}", file), "--config", file);
    }

    /// A run's own run.yaml holds what the run did (ran, resumed) beside its settings, and reads back.
    [Fact]
    public void ARunYamlKeepsItsRecordKeys()
    {
        var file = Path.Combine(TempDir.New(), LoraLab.Training.RunFolder.RunYaml);
        File.WriteAllText(file, "lr: 1e-4\nran: {total_steps: 3}\nresumed: []\n");
        var c = LoraLab.Configuration.RunConfig.LoadYaml(file);
        Assert.Equal((1e-4, 3), (c.Lr, c.Ran!.TotalSteps));
    }

    [Theory]
    [InlineData("--temperature must be a finite number >= 0, got NaN", "generate", "--model", "m", "--prompt", "a", "--temperature", "NaN")]
    [InlineData("--top-p must be a finite number in (0, 1], got NaN", "generate", "--model", "m", "--prompt", "a", "--top-p", "NaN")]
    [InlineData("--max-new-tokens must be at least 1, got 0", "chat", "--model", "m", "--max-new-tokens", "0")]
    [InlineData("--temperature must be a finite number >= 0, got -1", "chat", "--model", "m", "--temperature", "-1")]
    [InlineData("--rank must be at least 1, got 0", "params", "--arch", "tiny", "--rank", "0")]
    [InlineData("--rank must be at least 1, got -3", "estimate", "--arch", "tiny", "--r", "-3")]
    [InlineData("--max-seq-length must be at least 1, got 0", "estimate", "--arch", "tiny", "--max-seq-length", "0")]
    [InlineData("--lr must be a finite number > 0, got NaN", "pretrain", "--out", "o", "--lr", "NaN")]
    [InlineData("--max-seq-length must be at least 2, got 1", "pretrain", "--out", "o", "--max-seq-length", "1")]
    [InlineData("--alpha must be a finite number > 0, got NaN", "bench", "--arch", "tiny", "--alpha", "NaN")]
    [InlineData("--lr must be a finite number > 0, got -1", "demo", "--lr", "-1")]
    public void OtherVerbsCheckTheirNumericFlags(string expected, params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("error: " + expected, err.Trim());
    }

    /// libtorch aborts the process (exit 134) on a thread count below 1; run as a process so a regression cannot
    /// take the test host down with it.
    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public void BadThreadCountsAreRefusedBeforeLibtorchSeesThem(string threads)
    {
        var (rc, _, err) = CliRunner.RunProcess("generate", "--model", RepoFixtures.Path_("tiny-llama"), "--prompt-ids", "1,2", "--max-new-tokens", "1", "--threads", threads);
        Assert.Equal(2, rc);
        Assert.StartsWith($"error: --threads must be between 1 and {4 * Environment.ProcessorCount}", err.Trim());
    }
}
