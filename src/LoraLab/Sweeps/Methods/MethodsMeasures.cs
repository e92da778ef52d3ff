using System.Globalization;
using LoraLab.Adapters.Analysis;
using LoraLab.Configuration;
using LoraLab.Models;
using LoraLab.Reporting;
using LoraLab.Sweeps.Presets;
using LoraLab.Training;

namespace LoraLab.Sweeps.Methods;

/// DIR/methods.csv: what the findings need of each finished run beyond results.csv, read from its folder.
/// - early / late train loss: the mean train loss (metrics.jsonl, one row per step) over the first ⌈S/4⌉ steps of
///   the run's S, and over its last ⌈S/4⌉;
/// - optimizer state (MB): full fine-tuning's AdamW state, 2 fp32 moments per weight (2 × parameters × 4 bytes), and
///   GaLore's by its formula (GaloreWeights.StateElements × 4 bytes), from the base's config.json and the run's rank;
/// - optimizer.bin (MB): the size of the optimizer state the run saved in its last checkpoint (measured);
/// - update rank min / max: for a run that writes a model (ReLoRA, GaLore, full), the numerical rank of each
///   projection's W − W_base (`loralab analyze MODEL --base BASE`), the smallest and largest over the projections.
public static class MethodsMeasures
{
    public const string Csv = "methods.csv";
    public const string EarlyTrainLoss = "early train loss", LateTrainLoss = "late train loss", OptimizerState = "optimizer state (MB)",
        OptimizerFile = "optimizer.bin (MB)", UpdateRankMin = "update rank min", UpdateRankMax = "update rank max";
    static readonly string[] Columns = [SweepNumbers.RunColumn, EarlyTrainLoss, LateTrainLoss, OptimizerState, OptimizerFile, UpdateRankMin, UpdateRankMax];

    /// The mean of the losses logged at steps 1..⌈S/4⌉ (early) and S − ⌈S/4⌉ + 1..S (late), S the last step logged.
    public static (double Early, double Late) QuarterMeans(IReadOnlyList<StepValue> trainLoss)
    {
        int last = trainLoss[^1].Step, quarter = (last + 3) / 4;
        return (trainLoss.Where(p => p.Step <= quarter).Average(p => p.Value), trainLoss.Where(p => p.Step > last - quarter).Average(p => p.Value));
    }

    /// Optimizer state in bytes of full fine-tuning (AdamW) and GaLore (its formula at `rank`); null for the adapter methods.
    public static long? OptimizerBytes(TrainMethod method, int? rank, ModelConfig baseConfig) => method switch
    {
        TrainMethod.Full => 2 * ModelShapes.TotalParameters(baseConfig) * sizeof(float),
        TrainMethod.Galore => GaloreWeights.StateElements(rank ?? GaloreWeights.DefaultRank(baseConfig), ModelShapes.Expected(baseConfig)) * sizeof(float),
        _ => null,
    };

    public static void Write(string dir, IReadOnlyList<SweepResultRow> rows, string baseDir)
    {
        var config = ModelConfig.Load(Path.Combine(baseDir, "config.json"));
        var table = rows.Where(r => r.Status == SweepResults.Done && r.History is { TrainLoss.Count: > 0 }).Select(r => Row(r, config, baseDir)).ToList();
        IO.AtomicFile.WriteAllText(Path.Combine(dir, Csv), SweepResults.Csv(Columns, table));
    }

    static IReadOnlyList<string> Row(SweepResultRow r, ModelConfig config, string baseDir)
    {
        static string N(double? v, string format) => v is double x ? x.ToString(format, CultureInfo.InvariantCulture) : "";
        var h = r.History!;
        var (early, late) = QuarterMeans(h.TrainLoss);
        var checkpoint = Checkpoints.Latest(h.Dir) is { } c ? Path.Combine(c, "optimizer.bin") : null;
        double? saved = checkpoint is not null && File.Exists(checkpoint) ? new FileInfo(checkpoint).Length / 1e6 : null;
        var model = Path.Combine(h.Dir, RunFolder.Model);
        var ranks = Directory.Exists(model) ? WeightUpdateAnalyzer.Analyze(model, baseDir).Select(m => (double)m.R).ToList() : [];
        return [r.Name, N(early, "F4"), N(late, "F4"), N(OptimizerBytes(h.Config.Method, h.Config.GaloreRank, config) / 1e6, "F3"), N(saved, "F3"),
            N(ranks.Count > 0 ? ranks.Min() : null, "F0"), N(ranks.Count > 0 ? ranks.Max() : null, "F0")];
    }
}
