using System.ComponentModel;
using System.Text.Json;
using LoraLab.Benchmarks;
using LoraLab.Diagnostics.Profiling;
using LoraLab.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class BenchSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption(SharedFlags.Arch)]
    [Description(SharedFlags.ArchHelp)]
    [DefaultValue("small")]
    public string Arch { get; set; } = "small";

    // The run settings bench shares with train: described and defaulted as train's (RunSettings, RunConfig).
    [CommandOption(SharedFlags.Method)] public string? Method { get; set; }
    [CommandOption(SharedFlags.Targets)] public string? Targets { get; set; }
    [CommandOption(SharedFlags.Rank)] public int? R { get; set; }
    [CommandOption(SharedFlags.Dora)] public bool? Dora { get; set; }

    [CommandOption(SharedFlags.Alpha)]
    [Description("LoRA alpha (default 2r).")]
    public double? Alpha { get; set; }

    [CommandOption(SharedFlags.Quantize)] public string? Quantize { get; set; }
    [CommandOption(SharedFlags.GaloreRank)] public int? GaloreRank { get; set; }
    [CommandOption(SharedFlags.GaloreUpdateEvery)] public int? GaloreUpdateEvery { get; set; }
    [CommandOption(SharedFlags.GaloreScale)] public double? GaloreScale { get; set; }

    [CommandOption(SharedFlags.BatchSize)]
    [Description("Rows of random tokens per step (one forward pass: no accumulation).")]
    [DefaultValue(4)]
    public int BatchSize { get; set; } = 4;

    [CommandOption(SharedFlags.MaxSeqLength)]
    [Description("Tokens per row (every row is full).")]
    [DefaultValue(256)]
    public int MaxSeqLength { get; set; } = 256;

    [CommandOption(SharedFlags.MaxSteps)]
    [Description("Timed steps (after --warmup untimed ones).")]
    [DefaultValue(5)]
    public int MaxSteps { get; set; } = 5;

    [CommandOption("--warmup <N>")]
    [DefaultValue(2)]
    public int Warmup { get; set; } = 2;

    [CommandOption("--prompt-fraction <F>")]
    [Description("Share of each row's predictions masked as a prompt, as instruction data masks its prompts (the output layer then runs on the rest only); 0 = every position is a target.")]
    [DefaultValue(0.0)]
    public double PromptFraction { get; set; }

    [CommandOption(SharedFlags.Threads)]
    [Description(SharedFlags.ThreadsHelp)]
    public int? Threads { get; set; }

    [CommandOption("--grad-checkpointing")]
    [Description("Recompute each layer in backward instead of keeping its activations.")]
    public bool GradCheckpointing { get; set; }

    [CommandOption("--streams <N>")]
    [Description("Split each micro-batch over N single-threaded slices run side by side (CPU, LoRA/QLoRA without dropout).")]
    [DefaultValue(1)]
    public int Streams { get; set; } = 1;

    [CommandOption(SharedFlags.Device)]
    [Description(SharedFlags.DeviceHelp)]
    [DefaultValue("cpu")]
    public string Device { get; set; } = "cpu";

    [CommandOption(SharedFlags.Precision)]
    [Description("auto, fp32 or bf16. " + LoraLab.Configuration.RunSettings.AutoPrecisionHelp)]
    [DefaultValue("auto")]
    public string Precision { get; set; } = "auto";

    [CommandOption(SharedFlags.Seed)]
    [Description("Seeds the initial weights, the adapters and the random tokens.")]
    [DefaultValue(0)]
    public int Seed { get; set; }

    [CommandOption("--memory-at <STEPS>")]
    [Description("Comma-separated step numbers at which to record peak memory too (e.g. 50,500 for a leak check).")]
    public string? MemoryAt { get; set; }

    [CommandOption("--json")]
    [Description("Print one JSON object on stdout (progress goes to stderr).")]
    public bool Json { get; set; }

    [CommandOption(BenchOptions.ProfileFlag)]
    [Description("After the timed steps, run as many again with each operation's region marked and print where the step's time goes (self time per category, forward and backward; --json adds a `profile` array). CPU only.")]
    public bool Profile { get; set; }
}

/// `loralab bench`: training-step speed and memory on random tokens, for comparing methods, settings and tools.
public sealed class BenchCommand : Command<BenchSettings>
{
    public override int Execute(CommandContext context, BenchSettings s, CancellationToken cancellation)
    {
        var d = new BenchOptions();
        string method = (s.Method ?? d.Method).ToLowerInvariant();
        if (method != "galore" && (s.GaloreRank, s.GaloreUpdateEvery, s.GaloreScale) is not (null, null, null))
            throw new UserException($"{(s.GaloreRank is not null ? "--galore-rank" : s.GaloreUpdateEvery is not null ? "--galore-update-every" : "--galore-scale")} applies to --method galore only");
        var o = new BenchOptions
        {
            Config = s.Arch, Method = method, Targets = s.Targets ?? d.Targets, R = s.R ?? d.R, Alpha = s.Alpha, Dora = s.Dora ?? d.Dora,
            Quantize = s.Quantize ?? d.Quantize,
            GaloreRank = s.GaloreRank, GaloreUpdateEvery = s.GaloreUpdateEvery ?? d.GaloreUpdateEvery, GaloreScale = s.GaloreScale ?? d.GaloreScale,
            Batch = s.BatchSize, Seq = s.MaxSeqLength, Steps = s.MaxSteps, Warmup = s.Warmup, PromptFraction = s.PromptFraction, Threads = s.Threads, GradCheckpointing = s.GradCheckpointing,
            Streams = s.Streams, Device = s.Device, Precision = s.Precision.ToLowerInvariant(), Seed = s.Seed, MemoryAt = ParseSteps(s.MemoryAt),
            Profile = s.Profile,
        };
        var r = StepBenchmark.Run(o, m => Console.Error.WriteLine(m));
        if (s.Json)
        {
            var json = new
            {
                impl = "loralab", cfg = r.Config, mode = r.Mode, batch = r.Batch, seq = r.Seq, steps = r.Steps, threads = r.Threads, streams = r.Streams, prompt_fraction = r.PromptFraction,
                device = r.Device, precision = r.Precision, precision_reason = r.PrecisionReason, grad_checkpointing = r.GradCheckpointing, mkl_kernels = MklCpuDispatch.Status,
                @params = r.Parameters, trainable = r.Trainable,
                tokens_per_s = Math.Round(r.TokensPerSecond, 1), step_s = Math.Round(r.MedianStepSeconds, 4), min_step_s = Math.Round(r.MinStepSeconds, 4),
                step_gflop = Math.Round(r.StepFlops / 1e9, 2), achieved_gflops = Math.Round(r.AchievedGFlops, 1), peak_gflops = Math.Round(r.PeakGFlops, 1),
                peak_gflops_fp32 = Math.Round(r.PeakFp32GFlops, 1), peak_gflops_bf16 = Math.Round(r.PeakBf16GFlops, 1),
                mfu = Math.Round(r.Mfu, 3), peak_rss_mb = Math.Round(r.PeakRssBytes / 1048576.0), setup_rss_mb = Math.Round(r.SetupRssBytes / 1048576.0),
                optimizer_state_mb = Math.Round(r.OptimizerStateBytes / 1048576.0, 1),
                frozen_weight_mb = Math.Round(r.FrozenWeightBytes / 1048576.0, 1), frozen_vs_bf16 = Math.Round((double)r.FrozenWeightBytes / r.FrozenWeightBf16Bytes, 4),
                loss = Math.Round(r.FinalLoss, 4), step_times = r.StepSeconds.Select(t => Math.Round(t, 4)),
                memory_at = r.MemoryTrace.Select(m => new { step = m.Step, peak_rss_mb = Math.Round(m.PeakRssBytes / 1048576.0) }),
            };
            Console.WriteLine(r.Profile is null ? JsonSerializer.Serialize(json) : WithProfile(JsonSerializer.SerializeToNode(json)!.AsObject(), r));
            return 0;
        }
        var t = new Table().AddColumns("metric", "value");
        t.AddRow("config / mode", $"{r.Config} / {r.Mode}{(r.GradCheckpointing ? " + grad checkpointing" : "")}");
        t.AddRow("batch x seq", $"{r.Batch} x {r.Seq} ({r.Threads} threads{(r.Streams > 1 ? $" as {r.Streams} streams" : "")}, {r.Device}, {r.Precision})");
        if (r.PromptFraction > 0) t.AddRow("prompt (masked labels)", $"{r.PromptFraction:P0} of each row's predictions");
        t.AddRow("MKL kernels", MklCpuDispatch.Status);
        t.AddRow("parameters (trainable)", $"{r.Parameters:N0} ({r.Trainable:N0})");
        t.AddRow("median step", $"{r.MedianStepSeconds:F3} s (min {r.MinStepSeconds:F3} s, {r.Steps} steps)");
        t.AddRow("tokens/s", $"{r.TokensPerSecond:F1}");
        t.AddRow("step FLOPs", $"{r.StepFlops / 1e9:F1} GFLOP");
        t.AddRow("precision", Markup.Escape($"{r.Precision} ({r.PrecisionReason})"));
        t.AddRow("achieved", $"{r.AchievedGFlops:F1} GFLOP/s of {r.PeakGFlops:F1} {r.Precision} matmul peak: MFU {r.Mfu:P1}");
        t.AddRow("matmul peaks", $"fp32 {r.PeakFp32GFlops:F1} GFLOP/s, bf16 {r.PeakBf16GFlops:F1} GFLOP/s");
        t.AddRow("peak resident memory", $"{r.PeakRssBytes / 1048576.0:F0} MB (after set-up {r.SetupRssBytes / 1048576.0:F0} MB)");
        t.AddRow("optimizer state", $"{r.OptimizerStateBytes / 1048576.0:F1} MB (measured from its tensors)");
        t.AddRow("frozen projection weights", $"{r.FrozenWeightBytes / 1048576.0:F1} MB ({(double)r.FrozenWeightBytes / r.FrozenWeightBf16Bytes:F3} x bf16)");
        foreach (var (step, peak) in r.MemoryTrace) t.AddRow($"peak memory at step {step}", $"{peak / 1048576.0:F0} MB");
        AnsiConsole.Write(t);
        if (r.Profile is not null) AnsiConsole.Write(ProfileTable(r));
        return 0;
    }

    /// The profile as JSON: {op, phase, ms_per_step, share} rows, and the profiled steps' median beside the timed one.
    static string WithProfile(System.Text.Json.Nodes.JsonObject json, BenchResult r)
    {
        json["profile_step_s"] = Math.Round(StepBenchmark.Median(r.ProfiledStepSeconds!), 4);
        json["profile"] = JsonSerializer.SerializeToNode(r.Profile!.Select(p => new
        {
            op = p.Label, phase = p.Phase.Label(), ms_per_step = Math.Round(p.MsPerStep, 2), share = Math.Round(p.Share, 4),
        }));
        return json.ToJsonString();
    }

    static Table ProfileTable(BenchResult r)
    {
        var t = new Table().AddColumns("operation (self time)", "phase").AddColumn("ms/step", c => c.RightAligned()).AddColumn("% of step", c => c.RightAligned());
        foreach (var p in r.Profile!) t.AddRow(Markup.Escape(p.Label), p.Phase.Label(), $"{p.MsPerStep:F1}", $"{p.Share:P1}");
        double profiled = StepBenchmark.Median(r.ProfiledStepSeconds!);
        t.Title = new TableTitle($"Where the step's time goes ({r.Steps} profiled steps)");
        t.Caption = new TableTitle(Markup.Escape(
            $"Backward is attributed by region boundaries (identity marks at each region's input and output); \"other\" is the time in no marked region. " +
            $"Profiled step {profiled:F3} s vs {r.MedianStepSeconds:F3} s unprofiled ({profiled / r.MedianStepSeconds - 1:+0.0%;-0.0%})."));
        return t;
    }

    static IReadOnlyList<int> ParseSteps(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec)) return Array.Empty<int>();
        return spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => int.TryParse(x, out int n) && n > 0 ? n : throw new UserException($"--memory-at: '{x}' is not a positive step number"))
            .ToArray();
    }
}
