using System.Text;
using LoraLab.Configuration;
using LoraLab.Sweeps.Presets;
using LoraLab.Sweeps.Tips;
using static LoraLab.Sweeps.Presets.PresetYaml;

namespace LoraLab.Sweeps.Methods;

/// The methods preset as a sweep file: LoRA with three seeds and each method of issue 24 on the same data, batches
/// and steps. Written to DIR/sweep.yaml, so the preset is a sweep a user can read, edit and run again with
/// `loralab sweep --config`.
public static class MethodsPlan
{
    public const string SweepFile = "sweep.yaml";

    /// The LoRA family's rank: lora-tips' baseline, r 16 with alpha 32 on every linear layer.
    public const int R = TipsPlan.BaselineR;

    // Learning rates by method family, each measured once on the demo at the quick scale (2026-12-07, fp32, seed 1,
    // final val loss after 60 steps; lower is better):
    // - LoRA family (LoRA, DoRA, PiSSA, LoRA+, ReLoRA): 3e-3, lora-tips' LoRA rate, so LoRA here is lora-tips' baseline
    //   and each variant is its flag switched on at LoRA's settings, as PEFT's flags are used. LoRA learns best there
    //   (1.30; 1.83 at 2e-3, 2.18 at 1e-3). LoRA+ then trains B at 16 × 3e-3 = 0.048 and stalls (2.97; 2.69 at 2e-3);
    //   at 1e-3 it beat LoRA at 1e-3 (mean train loss of the first 15 steps 4.58 against 7.88, val loss 1.22 against
    //   2.18), so its verdict depends on this choice, and the report's rule says so.
    // - Full fine-tuning: 1e-3, lora-tips' (0.79; 1.36 at 2e-3).
    // - GaLore: 2e-3 with galore_scale 1 (0.91). At full's rate with galore-torch's scale 0.25 the projected weights step
    //   at a quarter of full's rate and learn far slower (2.52); scale 1 at 1e-3 gave 1.23, at 4e-3 1.72, and 4e-3 with
    //   scale 0.25 1.84. The rank is GaLore's default, hidden_size / 4 (48 on the demo). A new subspace every 15 steps
    //   did worse than one (1.01 against 0.91 at 2e-3, scale 1), so galore_update_every keeps its default (200): one
    //   subspace over these runs.
    public const double LoraLr = TipsPlan.LoraLr, FullLr = TipsPlan.FullLr, GaloreLr = 2e-3, GaloreScale = 1;

    /// Every run in fp32: `auto` picks bf16 or fp32 per run by timing both, so on a busy machine runs of one preset
    /// could train in different precisions (seen on the demo: the same ReLoRA run gave val loss 1.53 in bf16 and 1.56
    /// in fp32) and their differences would be partly the precision's.
    public const string Precision = "fp32";

    /// LoRA+'s ratio of B's learning rate to A's: the paper's suggestion.
    public const double LoraplusRatio = 16;

    /// ReLoRA merges and restarts every quarter of training: 4 merges in all, so its update can reach rank 4r.
    public static int ReloraEvery(MethodsScale scale) => Math.Max(1, scale.Steps / 4);

    /// Writes DIR/data/ (PresetData) and returns how many training and held-out examples it wrote.
    public static (int Train, int HeldOut) WriteData(string dir, MethodsScale scale, string assetsDir)
    {
        var (train, held) = PresetData.Write(dir, scale.TrainPerTask, scale.HeldOutPerTask, assetsDir);
        return (train.Count, held.Count);
    }

    public static string SweepYaml(string dir, MethodsScale scale, string assetsDir)
    {
        var data = Path.GetFullPath(Path.Combine(dir, PresetData.Folder));
        var y = new StringBuilder();
        y.Append($"# The methods preset ({scale.Name} scale): LoRA (3 seeds) against DoRA, PiSSA, LoRA+, ReLoRA, GaLore and full fine-tuning on the\n")
         .Append($"# demo model, each run {scale.Steps} steps of batch {scale.BatchSize} over the same data. `loralab sweep --config THIS --out DIR` runs it again.\n");
        y.Append(TipsPlan.BaseSection(data, scale.BatchSize, assetsDir, scale.Epochs, Precision));
        y.Append($"eval:\n  - {{task: demo, limit: {scale.HeldOutPerTask}}}\n");
        y.Append("runs:\n");
        foreach (var (name, settings) in Runs(scale)) y.Append(Run(name, settings));
        return y.ToString();
    }

    /// Every run, as it differs from lora-seed1.
    static IEnumerable<(string Name, (IRunSetting Setting, string Value)[] Settings)> Runs(MethodsScale scale)
    {
        for (int k = 1; k <= MethodsScale.Seeds; k++) yield return (MethodsRuns.Seed(k), k == 1 ? [] : [(RunSettings.Seed, Num(k))]);
        yield return (MethodsRuns.Dora, [(RunSettings.UseDora, "true")]);
        yield return (MethodsRuns.Pissa, [(RunSettings.Init, "pissa")]);
        yield return (MethodsRuns.LoraPlus, [(RunSettings.LoraplusLrRatio, Num(LoraplusRatio))]);
        yield return (MethodsRuns.Relora, [(RunSettings.ReloraEvery, Num(ReloraEvery(scale)))]);
        yield return (MethodsRuns.Galore, [(RunSettings.Method, "galore"), (RunSettings.Lr, Num(GaloreLr)), (RunSettings.GaloreScale, Num(GaloreScale))]);
        yield return (MethodsRuns.Full, [(RunSettings.Method, "full"), (RunSettings.Lr, Num(FullLr))]);
    }
}
