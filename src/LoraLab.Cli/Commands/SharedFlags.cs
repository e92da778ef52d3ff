using LoraLab.Configuration;

namespace LoraLab.Cli.Commands;

/// The flags several verbs take, spelt once (as `train`'s run settings, RunSettings), so one flag means one thing in every verb.
/// Help text is shared where the meaning and the accepted values are the same; where a verb accepts other values
/// (bench's fp32/bf16 against train's fp16-mixed) or has another default, the verb describes its own. Old spellings
/// (bench's --batch, generate's --dtype, ...) live in FlagAliases.
public static class SharedFlags
{
    /// An architecture by name or config.json path, where no weights are loaded (bench, estimate, params).
    public const string Arch = "--arch <NAME|FILE|ORG/NAME>";
    public const string ArchHelp = "Architecture: a known name (" + ArchNames + "), a config.json path (a model's, not a run YAML: `train --config` takes that), or a Hugging Face Hub id org/name (its config.json alone is fetched).";
    /// Models.KnownConfigs.Names, written out because an attribute needs a constant (a test keeps them equal).
    public const string ArchNames = "tiny, small, medium, llama-2-7b, llama-2-13b, llama-3-8b, mistral-7b";

    /// A model or an adapter: a folder or a Hugging Face Hub id (ModelSource.Resolve).
    public const string Model = RunSettings.ModelFlag;
    public const string Adapter = "--adapter " + RunSettings.FolderOrHubIdPlaceholder;
    public const string FolderOrHubIdHelp = RunSettings.FolderOrHubIdHelp;
    /// `serve` names each adapter it serves (vLLM's --lora-modules name=path): the same flag, with a name in front.
    public const string ServeAdapter = "--adapter <NAME=DIR|ORG/NAME>";
    public const string Offline = "--offline";
    public const string OfflineHelp = "Use the Hugging Face cache only, as HF_HUB_OFFLINE=1.";

    public const string Threads = RunSettings.ThreadsFlag;
    public const string ThreadsHelp = RunSettings.ThreadsHelp;
    public const string Device = RunSettings.DeviceFlag;
    public const string DeviceHelp = RunSettings.DeviceHelp;
    public const string Precision = RunSettings.PrecisionFlag;
    public const string Seed = RunSettings.SeedFlag;

    /// Sampling (generate, chat).
    public const string MaxNewTokens = "--max-new-tokens <N>";
    public const string MaxNewTokensHelp = "Most tokens generated for one reply (it ends earlier at EOS or the template's end-of-turn token).";
    public const string SamplingSeedHelp = "Seeds the sampling (with --temperature above 0).";
    public const string Temperature = "--temperature <T>";
    public const string TemperatureHelp = "0 = greedy and deterministic; higher = more random.";
    public const string TopP = "--top-p <P>";
    public const string TopPHelp = "Nucleus sampling: keep the smallest set of tokens whose probability reaches P.";
    public const string TopK = "--top-k <K>";
    public const string TopKHelp = "Keep only the K most likely tokens (0 = all).";

    public const string Method = RunSettings.MethodFlag;
    public const string Targets = RunSettings.TargetsFlag;
    public const string Rank = RunSettings.RFlag;
    public const string Dora = RunSettings.UseDoraFlag;
    public const string Alpha = RunSettings.AlphaFlag;
    public const string Quantize = RunSettings.QuantizeFlag;
    public const string GaloreRank = RunSettings.GaloreRankFlag;
    public const string GaloreUpdateEvery = RunSettings.GaloreUpdateEveryFlag;
    public const string GaloreScale = RunSettings.GaloreScaleFlag;
    public const string Lr = RunSettings.LrFlag;

    public const string BatchSize = RunSettings.BatchSizeFlag;
    public const string MicroBatchSize = RunSettings.MicroBatchSizeFlag;
    public const string MaxSeqLength = RunSettings.MaxSeqLengthFlag;
    public const string MaxSteps = RunSettings.MaxStepsFlag;
}
