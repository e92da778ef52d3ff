using System.Diagnostics;
using System.Globalization;
using LoraLab.Adapters.Analysis;
using LoraLab.Demo;
using LoraLab.Models;
using LoraLab.Reporting;
using LoraLab.Runtime;
using LoraLab.Sweeps;
using LoraLab.Sweeps.Presets;
using LoraLab.Sweeps.Tips;
using LoraLab.Training;

namespace LoraLab.Cli.Commands;

/// `loralab sweep --preset lora-tips`: writes the preset's data and sweep file into DIR, runs it as any sweep (so a
/// second invocation resumes it), then scores the untrained base and the combined adapters, trains the layer-wise
/// pair from the baseline's analysis, and judges every finding into DIR/tips-report.md, .html and tips.json.
/// A step that fails in this process (scoring, combining, analysing) is reported and leaves its finding inconclusive;
/// the report is written all the same.
sealed class TipsPresetRunner(string outDir, TipsScale scale) : PresetRunner(Name, outDir)
{
    public const string Name = "lora-tips";
    const string Template = "alpaca";

    public int Run(CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var (assets, baseDir, demo, sweep, tasks, runs, trainExamples, heldOutExamples) =
            Begin(TipsPlan.SweepFile, a => TipsPlan.SweepYaml(OutDir, scale, a), a => TipsPlan.WriteData(OutDir, scale, a));
        Console.WriteLine($"loralab sweep --preset {Name} ({scale.Name}): {runs.Count} runs and the layer-wise pair into {OutDir}");
        int code = new SweepRunner(OutDir, tasks).RunAll(runs, cancellation);
        if (code == 130) { SweepResults.Write(OutDir); return code; }

        Scores(baseDir, tasks);
        var baseline = Path.Combine(SweepFolder.RunsOf(OutDir), TipsRuns.Baseline, RunFolder.Adapter);
        if (RunFolder.HasFinalWeights(Path.GetDirectoryName(baseline)!) && Step("analyse the baseline", () => Layerwise(baseline, baseDir, demo, assets)) is { } layerwise)
        {
            int second = new SweepRunner(OutDir, tasks).RunAll(SweepPlan.Expand(WriteSweep(TipsPlan.LayerwiseFile, layerwise), OutDir), cancellation);
            if (second == 130) { SweepResults.Write(OutDir); return second; }
            code = Math.Max(code, second);
        }
        var rows = SweepResults.Write(OutDir);

        var findings = new TipsFindings(TipsNumbers.Read(OutDir), scale, SevenBFacts.Compute(demo, scale)).All();
        var ctx = new PresetContext(scale.Name, MachineDescription.Describe(), DateTime.UtcNow, clock.Elapsed.TotalSeconds,
            rows.Sum(r => r.History?.WallSeconds ?? 0), trainExamples, heldOutExamples,
            baseDir, ModelShapes.TotalParameters(demo));
        TipsReport.Write(OutDir, ctx, findings, Figures(findings));
        Print(findings);
        Console.WriteLine($"report: {Path.Combine(OutDir, TipsReport.Markdown)} and {TipsReport.Html} ({clock.Elapsed.TotalMinutes:F1} min)");
        return Failed > 0 ? Math.Max(code, 1) : code;
    }

    /// DIR/scores.csv: the untrained base and the three combinations of count-only's and first-only's adapters. A row
    /// already there is kept unless what it scored is newer (a specialist retrained since), so a resume rescores nothing.
    void Scores(string baseDir, IReadOnlyList<SweepTask> tasks)
    {
        var path = Path.Combine(OutDir, TipsNumbers.ScoresCsv);
        var kept = File.Exists(path) ? SweepNumbers.ReadCsv(path) : [];
        var specialists = new[] { TipsRuns.CountOnly, TipsRuns.FirstOnly }.Select(r => Path.Combine(SweepFolder.RunsOf(OutDir), r, RunFolder.Adapter)).ToList();
        var scored = new List<(string Name, IReadOnlyDictionary<string, string> Values)>();
        void Score(string name, Func<string?> model, DateTime? since = null)
        {
            if (kept.TryGetValue(name, out var row) && (since is null || File.GetLastWriteTimeUtc(path) > since)) { scored.Add((name, row)); return; }
            if (Step($"score {name}", () => SweepTasks.Score(baseDir, model(), Template, tasks)) is { } s)
                scored.Add((name, s.Values.ToDictionary(v => v.Key, v => v.Value.ToString("F4", CultureInfo.InvariantCulture))));
        }
        Score(TipsNumbers.BaseModel, () => null);
        if (specialists.All(d => File.Exists(Path.Combine(d, Adapters.PeftFormat.ConfigFile))))
        {
            var newest = specialists.Max(d => File.GetLastWriteTimeUtc(Path.Combine(d, Adapters.PeftFormat.ConfigFile)));
            foreach (var m in TipsCombine.Methods)
                Score(TipsCombine.Name(m), () => TipsCombine.Combine(OutDir, m, specialists), newest);
        }
        var keys = scored.SelectMany(s => s.Values.Keys).Where(k => k != SweepNumbers.RunColumn).Distinct().ToList();
        var rows = scored.Select(s => (IReadOnlyList<string>)[s.Name, .. keys.Select(k => s.Values.GetValueOrDefault(k) ?? "")]).ToList();
        IO.AtomicFile.WriteAllText(path, SweepResults.Csv([SweepNumbers.RunColumn, .. keys], rows));
    }

    /// The baseline's suggested ranks, and the uniform rank whose adapter has about as many parameters: each module's
    /// adapter holds r·(in + out) values, so the uniform rank is the pattern's total over Σ(in + out), rounded.
    string Layerwise(string adapterDir, string baseDir, ModelConfig config, string assets)
    {
        var suggestion = RankPatternYaml.Suggest(AdapterAnalyzer.Analyze(adapterDir, baseDir));
        long budget = 0, width = 0;
        foreach (var m in suggestion.Modules)
        {
            var (inF, outF) = ModelShapes.ProjectionDims(config, m.Module);
            budget += m.Rank * (inF + outF);
            width += inF + outF;
        }
        int uniform = Math.Max(1, (int)Math.Round((double)budget / width));
        return TipsPlan.LayerwiseYaml(OutDir, scale, assets, suggestion, uniform);
    }
}
