using LoraLab.Cli.Commands;
using LoraLab.Configuration;
using Spectre.Console.Cli;
using Xunit;

namespace LoraLab.Tests.Configuration;

/// The one typed run config: every setting reads the same from YAML (flat or grouped), from flags and from key paths,
/// round-trips through run.yaml, and Validate reports every bad setting at once.
public class RunConfigTests
{
    /// A value other than the default for every setting, as YAML and flags write it. A setting added to RunSettings
    /// without a line here fails EverySettingIsCovered.
    static readonly Dictionary<string, string> NonDefault = new()
    {
        ["model"] = "/m/base", ["method"] = "qlora", ["device"] = "cpu", ["precision"] = "bf16", ["quantize"] = "fp4", ["threads"] = "1",
        ["streams"] = "2", ["distributed"] = "mpi", ["distributed_timeout"] = "60", ["data"] = "/d/train.jsonl", ["val_data"] = "/d/val.jsonl", ["max_record_bytes"] = "123456",
        ["encoding_errors"] = "replace", ["template"] = "chatml", ["max_seq_length"] = "256", ["long_examples"] = "drop",
        ["train_on_inputs"] = "true", ["packing"] = "true", ["val_fraction"] = "0.1", ["r"] = "16", ["alpha"] = "32",
        ["lora_dropout"] = "0", ["targets"] = "qv", ["rank_pattern"] = @"layers\.0\.self_attn\.q_proj=2,mlp=4",
        ["alpha_pattern"] = @"layers\.0\.self_attn\.q_proj=4,mlp=0.5", ["lora_head"] = "true", ["use_rslora"] = "true", ["use_dora"] = "true", ["init"] = "gaussian", ["relora_every"] = "5", ["optimizer"] = "sgd",
        ["lr"] = "0.05", ["weight_decay"] = "0.01", ["momentum"] = "0.5", ["nesterov"] = "true", ["max_grad_norm"] = "0.5", ["loraplus_lr_ratio"] = "16",
        ["galore_rank"] = "64", ["galore_update_every"] = "50", ["galore_scale"] = "0.5",
        ["schedule"] = "linear", ["warmup_steps"] = "3", ["warmup_ratio"] = "0.2", ["min_lr"] = "1E-05", ["batch_size"] = "8",
        ["micro_batch_size"] = "2", ["max_steps"] = "7", ["epochs"] = "3", ["seed"] = "7", ["eval_every"] = "5", ["save_every"] = "6",
        ["save_total_limit"] = "2", ["log_every"] = "4", ["stop_rate_prompts"] = "0", ["out"] = "/o/run",
        ["beta"] = "0.2", ["loss"] = "ipo", ["label_smoothing"] = "0.1", ["orpo_alpha"] = "0.5", ["max_prompt_length"] = "100",
        ["ref_adapter"] = "/a/ref", ["precompute_ref"] = "true",
    };

    [Fact]
    public void EverySettingIsCoveredAndDiffersFromItsDefault()
    {
        Assert.Equal(RunSettings.All.Select(s => s.Key).Order(), NonDefault.Keys.Order());
        var defaults = new RunConfig();
        foreach (var s in RunSettings.All)
            Assert.NotEqual(s.Format(s.Get(defaults)), s.Format(s.Parse(NonDefault[s.Key], s.Key)));
    }

    [Fact]
    public void YamlFlagsAndKeyPathsGiveEqualConfigs()
    {
        var dir = TempDir.New();
        var flat = Path.Combine(dir, "flat.yaml");
        File.WriteAllText(flat, string.Concat(NonDefault.Select(kv => $"{kv.Key}: {kv.Value}\n")));
        var grouped = Path.Combine(dir, "grouped.yaml");
        File.WriteAllText(grouped, string.Concat(RunSettings.All.GroupBy(s => s.Section)
            .Select(g => $"{g.Key}:\n" + string.Concat(g.Select(s => $"  {s.Key}: {NonDefault[s.Key]}\n")))));
        var fromFlat = RunConfig.LoadYaml(flat);
        var fromGrouped = RunConfig.LoadYaml(grouped);
        var fromFlags = new RunConfig().With(ParseTrainFlags(RunSettings.All.SelectMany(FlagArgs).ToArray()).ToLayer());
        var fromSet = new RunConfig().With(ParseTrainFlags(RunSettings.All.SelectMany(s => new[] { "--set", $"{s.Section}.{s.Key}={NonDefault[s.Key]}" }).ToArray()).ToLayer());
        var fromPaths = new RunConfig();
        foreach (var s in RunSettings.All) fromPaths.Set(s.Key, NonDefault[s.Key]);

        var expected = fromFlat.ToYaml();
        Assert.NotEqual(new RunConfig().ToYaml(), expected);
        foreach (var s in RunSettings.All) Assert.Equal(NonDefault[s.Key], s.Format(s.Get(fromFlat)));
        Assert.Equal(expected, fromGrouped.ToYaml());
        Assert.Equal(expected, fromFlags.ToYaml());
        Assert.Equal(expected, fromSet.ToYaml());
        Assert.Equal(expected, fromPaths.ToYaml());
    }

    static IEnumerable<string> FlagArgs(IRunSetting s)
    {
        var flag = s.FlagTemplate.Split(' ')[0].Split('|').Last();
        return s.Expected == "true or false" ? [flag] : [flag, NonDefault[s.Key]];
    }

    /// `train`'s real settings class parsed by Spectre (strictly), without running anything.
    static TrainSettings ParseTrainFlags(string[] args)
    {
        TrainSettings? parsed = null;
        var app = new CommandApp();
        app.Configure(c =>
        {
            c.UseStrictParsing();
            c.PropagateExceptions();
            c.AddDelegate<TrainSettings>("train", (_, s, _) => { parsed = s; return 0; });
        });
        Assert.Equal(0, app.Run(new[] { "train" }.Concat(args)));
        return parsed!;
    }

    [Fact]
    public void RunYamlRoundTripsEverySetting()
    {
        var c = new RunConfig();
        foreach (var s in RunSettings.All) c.Set(s.Key, NonDefault[s.Key]);
        var file = Path.Combine(TempDir.New(), "x.yaml");
        File.WriteAllText(file, c.ToYaml());
        Assert.Equal(c.ToYaml(), RunConfig.LoadYaml(file).ToYaml());
    }

    [Fact]
    public void DefaultsAreValidApartFromTheInputs()
    {
        new RunConfig().Validate(inputs: false);
        var e = Assert.Throws<UserException>(() => new RunConfig().Validate());
        Assert.Equal("3 settings are invalid: --model is required (a Hugging Face model folder); " +
                     "--data is required (Alpaca/chat/text JSON, JSONL or Parquet); --out is required (a folder for the adapter, checkpoints and metrics)", e.Message);
    }

    [Fact]
    public void ValidateReportsEveryBadSettingNamedAsGiven()
    {
        var file = Path.Combine(TempDir.New(), "bad.yaml");
        File.WriteAllText(file, "lr: 0\nr: 0\n");
        var c = RunConfig.LoadYaml(file).With(ParseTrainFlags(["--batch-size", "6", "--micro-batch-size", "4", "--lora-dropout", "1",
            "--method", "full", "--precision", "fp16-mixed", "--quantize", "nf4", "--template", "nope"]).ToLayer());
        var e = Assert.Throws<UserException>(() => c.Validate(inputs: false));
        Assert.StartsWith("7 settings are invalid: ", e.Message);
        Assert.Contains($"{file}:1: lr must be a finite number > 0, got 0", e.Message);
        Assert.Contains($"{file}:2: r must be at least 1, got 0", e.Message);
        Assert.Contains("--lora-dropout must be a finite number in [0, 1), got 1", e.Message);
        Assert.Contains("--batch-size (6) must be a multiple of --micro-batch-size (4)", e.Message);
        Assert.Contains("--precision fp16-mixed keeps fp32 weights only for adapters", e.Message);
        Assert.Contains("--quantize applies to --method qlora, dpo and orpo only", e.Message);
        Assert.Contains("'nope'", e.Message);
    }

    [Theory]
    [InlineData("lora.r", "16", null)]
    [InlineData("r", "16", null)]
    [InlineData("optim.r", "16", "unknown setting 'optim.r' (did you mean 'lora.r'?)")]
    [InlineData("lora.rank", "16", "unknown setting 'lora.rank' (did you mean 'lora.r'?)")]
    [InlineData("learning_rate", "1e-4", "unknown setting 'learning_rate' (did you mean 'lr'?)")]
    [InlineData("lora.r", "x", "lora.r: expected a whole number, got 'x'")]
    [InlineData("optimizer", "lion", "optimizer: unknown value 'lion' (adamw, adam or sgd)")]
    public void KeyPathsNameOneSetting(string path, string value, string? error)
    {
        var c = new RunConfig();
        if (error is null) { c.Set(path, value); Assert.Equal(16, c.R); }
        else Assert.Equal(error, Assert.Throws<UserException>(() => c.Set(path, value)).Message);
    }

    [Fact]
    public void NullUnsetsAnOptionalSettingAndIsRefusedForOthers()
    {
        var c = new RunConfig { MaxSteps = 5 };
        c.Set("max_steps", "null");
        Assert.Null(c.MaxSteps);
        Assert.Equal("lr: expected a number, got 'null'", Assert.Throws<UserException>(() => c.Set("lr", "null")).Message);
    }

    /// run.yaml keeps the key order it always had (inputs first, LoRA and runtime last) and omits unset settings.
    [Fact]
    public void RunYamlOfTheDefaultsIsAsItWas()
    {
        var yaml = new RunConfig { Model = "/m", Data = "/d.jsonl", Out = "/o" }.ToYaml();
        Assert.Equal(string.Join("\n",
            "model: /m", "data: /d.jsonl", "max_record_bytes: 4000000", "encoding_errors: strict", "out: /o", "method: lora", "device: auto",
            "precision: auto", "template: alpaca", "max_seq_length: 512", "long_examples: truncate", "train_on_inputs: false", "packing: false",
            "val_fraction: 0.05", "lr: 0.0003", "batch_size: 16", "micro_batch_size: 4", "epochs: 1", "seed: 42", "optimizer: adamw",
            "weight_decay: 0", "momentum: 0.9", "nesterov: false", "schedule: cosine", "min_lr: 0", "max_grad_norm: 1", "eval_every: 0",
            "save_every: 0", "log_every: 1", "r: 8", "alpha: 16", "lora_dropout: 0.05", "targets: all", "lora_head: false", "use_rslora: false", "use_dora: false", "init: kaiming",
            "streams: 1", "distributed: none", "distributed_timeout: 300", "stop_rate_prompts: 16", ""), yaml);
    }

    /// What YamlDotNet read before: YAML 1.1 switches and whole numbers with separators or a base prefix.
    [Theory]
    [InlineData("packing: yes\nseed: 1_000\nr: 0x10\nlora_head: on\nepochs: 0o3\n")]
    public void YamlSpellingsOfSwitchesAndWholeNumbersAreRead(string yaml)
    {
        var file = Path.Combine(TempDir.New(), "x.yaml");
        File.WriteAllText(file, yaml);
        var c = RunConfig.LoadYaml(file);
        Assert.Equal((true, 1000, 16, true, 3), (c.Packing, c.Seed, c.R, c.LoraHead, c.Epochs));
    }

    [Theory]
    [InlineData("lora:\n  lr: 1\n", "{f}:2: unknown key 'lora.lr' (did you mean 'optim.lr'?)")]
    [InlineData("packing:\n", "{f}:1: packing: expected true or false, got nothing")]
    [InlineData("template:\n", "{f}:1: template: expected a single value (text), got nothing")]
    [InlineData("template: nope\n", "{f}:1: template: unknown prompt template 'nope'")]
    [InlineData("streams: 2\n", "{f}:1: streams 2: the model has dropout (set --lora-dropout 0); use --streams 1")]
    [InlineData("targets: zzz_proj\n", "{f}:1: targets: unknown LoRA target 'zzz_proj'")]
    [InlineData("alpha_pattern: {q_proj: 0}\n", "{f}:1: alpha_pattern must be a finite number > 0, got 0")]
    [InlineData("lora:\n  alpha_pattern: {q_proj: 8, mlp: -2}\n", "{f}:2: lora.alpha_pattern must be a finite number > 0, got -2")]
    [InlineData("alpha_pattern: {'q_proj(': 8}\n", "{f}:1: alpha_pattern: alpha_pattern: pattern key 'q_proj(' is not a valid regex")]
    [InlineData("alpha_pattern: {q_proj: x}\n", "{f}:1: alpha_pattern: expected a mapping of module regexes to numbers (KEY=A,KEY=A), got 'q_proj=x'")]
    public void YamlRefusalsNameTheFileLineAndKey(string yaml, string expected)
    {
        var file = Path.Combine(TempDir.New(), "x.yaml");
        File.WriteAllText(file, yaml);
        var e = Assert.Throws<UserException>(() => RunConfig.LoadYaml(file).Validate(inputs: false));
        Assert.StartsWith(expected.Replace("{f}", file), e.Message);
    }

    /// alpha_pattern, like rank_pattern, is a YAML mapping in a config file and `KEY=A,...` text as a flag or --set.
    [Fact]
    public void AlphaPatternReadsAsAMappingAFlagAndASet()
    {
        var file = Path.Combine(TempDir.New(), "x.yaml");
        File.WriteAllText(file, "alpha_pattern: {'layers\\.0\\.mlp\\.up_proj': 8, v_proj: 2.5}\n");
        var expected = new Dictionary<string, double> { [@"layers\.0\.mlp\.up_proj"] = 8, ["v_proj"] = 2.5 };
        Assert.Equal(expected, RunConfig.LoadYaml(file).AlphaPattern);
        Assert.Equal(expected, new RunConfig().With(ParseTrainFlags(["--alpha-pattern", @"layers\.0\.mlp\.up_proj=8,v_proj=2.5"]).ToLayer()).AlphaPattern);
        Assert.Equal(expected, new RunConfig().With(ParseTrainFlags(["--set", @"lora.alpha_pattern=layers\.0\.mlp\.up_proj=8,v_proj=2.5"]).ToLayer()).AlphaPattern);

        var c = new RunConfig().With(ParseTrainFlags(["--alpha-pattern", "q_proj=-1"]).ToLayer());
        Assert.Equal("--alpha-pattern must be a finite number > 0, got -1", Assert.Throws<UserException>(() => c.Validate(inputs: false)).Message);
        c = new RunConfig().With(ParseTrainFlags(["--set", "alpha_pattern=[=4"]).ToLayer());
        Assert.StartsWith("--set alpha_pattern: alpha_pattern: pattern key '[' is not a valid regex", Assert.Throws<UserException>(() => c.Validate(inputs: false)).Message);
    }

    /// `train --batch-size 2` used to fail on the default micro-batch of 4; only a pair the user gave may conflict.
    [Theory]
    [InlineData(new[] { "--batch-size", "2" }, 2, 2)]
    [InlineData(new[] { "--batch-size", "6" }, 6, 3)]
    [InlineData(new[] { "--batch-size", "7" }, 7, 1)]
    [InlineData(new[] { "--batch-size", "32" }, 32, 4)]
    [InlineData(new[] { "--batch-size", "6", "--micro-batch-size", "2" }, 6, 2)]
    public void TheDefaultMicroBatchFitsTheBatch(string[] flags, int batch, int micro)
    {
        var c = new RunConfig().With(ParseTrainFlags(flags).ToLayer());
        Assert.Equal((batch, micro), (c.BatchSize, c.MicroBatchSize));
        c.Validate(inputs: false);
    }

    [Fact]
    public void AGivenPairThatDoesNotDivideIsRefused()
    {
        var c = new RunConfig().With(ParseTrainFlags(["--batch-size", "6", "--micro-batch-size", "4"]).ToLayer());
        Assert.Equal("--batch-size (6) must be a multiple of --micro-batch-size (4)", Assert.Throws<UserException>(() => c.Validate(inputs: false)).Message);
    }
}
