using System.Diagnostics;
using System.Globalization;
using LoraLab.Adapters.Analysis;
using LoraLab.Demo;
using LoraLab.Models;
using LoraLab.Reporting;
using LoraLab.Runtime;
using LoraLab.Sweeps;
using LoraLab.Sweeps.Tips;
using LoraLab.Training;
using Spectre.Console;

namespace LoraLab.Cli.Commands;

/// `loralab sweep --preset lora-tips`: writes the preset's data and sweep file into DIR, runs it as any sweep (so a
/// second invocation resumes it), then scores the untrained base and the combined adapters, trains the layer-wise
/// pair from the baseline's analysis, and judges every finding into DIR/tips-report.md, .html and tips.json.
/// A step that fails in this process (scoring, combining, analysing) is reported and leaves its finding inconclusive;
/// the report is written all the same.
sealed class TipsPresetRunner(string outDir, TipsScale scale)
{
    public const string Name = "lora-tips";
    const string Template = "alpaca";
    int _failed;

    public int Run(CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var assets = DemoAssets.Locate();
        var baseDir = Path.GetFullPath(Path.Combine(assets, DemoAssets.BaseFolder));
        var demo = ModelConfig.Load(Path.Combine(baseDir, "config.json"));
        var yaml = TipsPlan.SweepYaml(outDir, scale, assets);
        var sweepPath = Path.Combine(outDir, TipsPlan.SweepFile);
        // a folder of another scale (or another version of the preset) would mix its finished runs into this report
        if (File.Exists(sweepPath) && File.ReadAllText(sweepPath) != yaml)
            throw new UserException($"{outDir} holds a lora-tips sweep with other settings ({sweepPath} differs: another scale, or another version of the preset); give another --out");
        Directory.CreateDirectory(outDir);
        var (trainExamples, heldOutExamples) = TipsPlan.WriteData(outDir, scale, assets);
        var sweep = WriteSweep(TipsPlan.SweepFile, yaml);
        var tasks = SweepTasks.Load(SweepTasks.Entries(sweep));
        var runs = SweepPlan.Expand(sweep, outDir);
        Console.WriteLine($"loralab sweep --preset {Name} ({scale.Name}): {runs.Count} runs and the layer-wise pair into {outDir}");
        int code = new SweepRunner(outDir, tasks).RunAll(runs, cancellation);
        if (code == 130) { SweepResults.Write(outDir); return code; }

        Scores(baseDir, tasks);
        var baseline = Path.Combine(SweepFolder.RunsOf(outDir), TipsRuns.Baseline, RunFolder.Adapter);
        if (RunFolder.HasFinalWeights(Path.GetDirectoryName(baseline)!) && Step("analyse the baseline", () => Layerwise(baseline, baseDir, demo, assets)) is { } layerwise)
        {
            int second = new SweepRunner(outDir, tasks).RunAll(SweepPlan.Expand(WriteSweep(TipsPlan.LayerwiseFile, layerwise), outDir), cancellation);
            if (second == 130) { SweepResults.Write(outDir); return second; }
            code = Math.Max(code, second);
        }
        var rows = SweepResults.Write(outDir);

        var findings = new TipsFindings(TipsNumbers.Read(outDir), scale, SevenBFacts.Compute(demo, scale)).All();
        var ctx = new TipsContext(scale, MachineDescription.Describe(), DateTime.UtcNow, clock.Elapsed.TotalSeconds,
            rows.Sum(r => r.History?.WallSeconds ?? 0), trainExamples, heldOutExamples,
            baseDir, ModelShapes.TotalParameters(demo));
        TipsReport.Write(outDir, ctx, findings, Figures(findings));
        Print(findings);
        Console.WriteLine($"report: {Path.Combine(outDir, TipsReport.Markdown)} and {TipsReport.Html} ({clock.Elapsed.TotalMinutes:F1} min)");
        return _failed > 0 ? Math.Max(code, 1) : code;
    }

    SweepFile WriteSweep(string file, string yaml)
    {
        var path = Path.Combine(outDir, file);
        if (!File.Exists(path) || File.ReadAllText(path) != yaml)
        {
            IO.AtomicFile.WriteAllText(path, yaml);
        }
        return SweepYaml.Load(path);
    }

    /// Runs one in-process step; a failure is printed and written to DIR/<step>.error.txt, and the step's findings
    /// become inconclusive for want of its numbers.
    T? Step<T>(string what, Func<T> step) where T : class
    {
        var file = Path.Combine(outDir, what.Replace(' ', '-') + ".error.txt");
        try
        {
            var result = step();
            if (File.Exists(file)) File.Delete(file); // from a failed try: this one succeeded
            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _failed++;
            IO.AtomicFile.WriteAllText(file, e.ToString());
            Console.Error.WriteLine($"warning: could not {what}: {e.Message.Split('\n')[0]} (details: {file})");
            return null;
        }
    }

    /// DIR/scores.csv: the untrained base and the three combinations of count-only's and first-only's adapters. A row
    /// already there is kept unless what it scored is newer (a specialist retrained since), so a resume rescores nothing.
    void Scores(string baseDir, IReadOnlyList<SweepTask> tasks)
    {
        var path = Path.Combine(outDir, TipsNumbers.ScoresCsv);
        var kept = File.Exists(path) ? TipsNumbers.ReadCsv(path) : [];
        var specialists = new[] { TipsRuns.CountOnly, TipsRuns.FirstOnly }.Select(r => Path.Combine(SweepFolder.RunsOf(outDir), r, RunFolder.Adapter)).ToList();
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
                Score(TipsCombine.Name(m), () => TipsCombine.Combine(outDir, m, specialists), newest);
        }
        var keys = scored.SelectMany(s => s.Values.Keys).Where(k => k != TipsNumbers.RunColumn).Distinct().ToList();
        var rows = scored.Select(s => (IReadOnlyList<string>)[s.Name, .. keys.Select(k => s.Values.GetValueOrDefault(k) ?? "")]).ToList();
        IO.AtomicFile.WriteAllText(path, SweepResults.Csv([TipsNumbers.RunColumn, .. keys], rows));
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
        return TipsPlan.LayerwiseYaml(outDir, scale, assets, suggestion, uniform);
    }

    /// Each finding's loss curves (train and validation) over its runs, drawn as `loralab report` draws them.
    Dictionary<string, ReportFigure> Figures(IReadOnlyList<Finding> findings)
    {
        var figures = new Dictionary<string, ReportFigure>();
        foreach (var f in findings)
        {
            var dirs = f.Runs.Select(r => Path.Combine(SweepFolder.RunsOf(outDir), r)).Where(d => File.Exists(Path.Combine(d, RunFolder.Metrics))).ToList();
            if (dirs.Count == 0) continue;
            if (Step($"plot {f.Id}", () => ReportPlots.Draw(RunHistoryReader.ReadAll(dirs))[0]) is { } loss)
                figures[f.Id] = loss with { Title = $"{f.Title}: loss" };
        }
        return figures;
    }

    static void Print(IReadOnlyList<Finding> findings)
    {
        var table = new Table().AddColumn("#").AddColumn("finding").AddColumn("verdict");
        for (int i = 0; i < findings.Count; i++)
        {
            var colour = findings[i].Verdict switch { Verdict.Reproduced => "green", Verdict.Contradicted => "red", _ => "grey" };
            table.AddRow($"{i + 1}", Markup.Escape(findings[i].Title), $"[{colour}]{Finding.Name(findings[i].Verdict)}[/]");
        }
        AnsiConsole.Write(table);
    }
}
