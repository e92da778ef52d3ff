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
sealed class TipsPresetRunner(string outDir, TipsScale scale)
{
    public const string Name = "lora-tips";
    const string Template = "alpaca";

    public int Run(CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var assets = DemoAssets.Locate();
        var baseDir = Path.GetFullPath(Path.Combine(assets, DemoAssets.BaseFolder));
        Directory.CreateDirectory(outDir);
        TipsPlan.WriteData(outDir, scale, assets);
        var sweep = WriteSweep(TipsPlan.SweepFile, TipsPlan.SweepYaml(outDir, scale, assets));
        var tasks = SweepTasks.Load(SweepTasks.Entries(sweep));
        var runs = SweepPlan.Expand(sweep, outDir);
        Console.WriteLine($"loralab sweep --preset {Name} ({scale.Name}): {runs.Count} runs and the layer-wise pair into {outDir}");
        int code = new SweepRunner(outDir, tasks).RunAll(runs, cancellation);
        if (code == 130) return code;

        var scores = new List<(string Name, TaskScoreSet Scores)> { (TipsNumbers.BaseModel, SweepTasks.Score(baseDir, null, Template, tasks)) };
        var specialists = new[] { TipsRuns.CountOnly, TipsRuns.FirstOnly }.Select(r => Path.Combine(SweepFolder.RunsOf(outDir), r, RunFolder.Adapter)).ToList();
        if (specialists.All(Directory.Exists))
            foreach (var m in TipsCombine.Methods)
                scores.Add((TipsCombine.Name(m), SweepTasks.Score(baseDir, TipsCombine.Combine(outDir, m, specialists), Template, tasks)));
        WriteScores(scores);

        var baseline = Path.Combine(SweepFolder.RunsOf(outDir), TipsRuns.Baseline, RunFolder.Adapter);
        if (Directory.Exists(baseline))
        {
            var layerwise = WriteSweep(TipsPlan.LayerwiseFile, Layerwise(baseline, baseDir, assets));
            int second = new SweepRunner(outDir, tasks).RunAll(SweepPlan.Expand(layerwise, outDir), cancellation);
            if (second == 130) return second;
            code = Math.Max(code, second);
        }
        SweepResults.Write(outDir);

        var findings = new TipsFindings(TipsNumbers.Read(outDir), scale, SevenBFacts.Compute()).All();
        var ctx = new TipsContext(scale, MachineDescription.Describe(), DateTime.UtcNow, clock.Elapsed.TotalSeconds,
            CountExamples(TipsPlan.TrainData), CountExamples(TipsPlan.HeldOutData), baseDir);
        TipsReport.Write(outDir, ctx, findings, Figures(findings));
        Print(findings);
        Console.WriteLine($"report: {Path.Combine(outDir, TipsReport.Markdown)} and {TipsReport.Html} ({clock.Elapsed.TotalMinutes:F1} min)");
        return code;
    }

    SweepFile WriteSweep(string file, string yaml)
    {
        var path = Path.Combine(outDir, file);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, yaml);
        File.Move(tmp, path, overwrite: true);
        return SweepYaml.Load(path);
    }

    /// The baseline's suggested ranks, and the uniform rank whose adapter has about as many parameters: each module's
    /// adapter holds r·(in + out) values, so the uniform rank is the pattern's total over Σ(in + out).
    string Layerwise(string adapterDir, string baseDir, string assets)
    {
        var suggestion = RankPatternYaml.Suggest(AdapterAnalyzer.Analyze(adapterDir, baseDir));
        var config = ModelConfig.Load(Path.Combine(baseDir, "config.json"));
        long budget = 0, width = 0;
        foreach (var m in suggestion.Modules)
        {
            var (inF, outF) = ModelShapes.ProjectionDims(config, m.Module);
            budget += m.Rank * (inF + outF);
            width += inF + outF;
        }
        int uniform = Math.Max(1, (int)Math.Round((double)budget / width));
        return TipsPlan.LayerwiseYaml(outDir, scale, assets, suggestion.R, suggestion.Pattern, uniform);
    }

    void WriteScores(IReadOnlyList<(string Name, TaskScoreSet Scores)> scores)
    {
        var keys = scores.SelectMany(s => s.Scores.Values.Select(v => v.Key)).Distinct().ToList();
        var rows = scores.Select(s => (IReadOnlyList<string>)[s.Name, .. keys.Select(k => s.Scores.Values.Where(v => v.Key == k).Select(v => v.Value.ToString("F4", CultureInfo.InvariantCulture)).FirstOrDefault() ?? "")]).ToList();
        var path = Path.Combine(outDir, TipsNumbers.ScoresCsv);
        File.WriteAllText(path + ".tmp", SweepResults.Csv([TipsNumbers.RunColumn, .. keys], rows));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    int CountExamples(string file) =>
        System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, TipsPlan.DataFolder, file))).RootElement.GetArrayLength();

    /// Each finding's loss curves (train and validation) over its runs, drawn as `loralab report` draws them.
    Dictionary<string, ReportFigure> Figures(IReadOnlyList<Finding> findings)
    {
        var figures = new Dictionary<string, ReportFigure>();
        foreach (var f in findings)
        {
            var dirs = f.Runs.Select(r => Path.Combine(SweepFolder.RunsOf(outDir), r)).Where(d => File.Exists(Path.Combine(d, RunFolder.Metrics))).ToList();
            if (dirs.Count == 0) continue;
            try { figures[f.Id] = ReportPlots.Draw(RunHistoryReader.ReadAll(dirs))[0] with { Title = $"{f.Title}: loss" }; }
            catch (UserException e) { Console.Error.WriteLine($"warning: no plot for {f.Id}: {e.Message}"); }
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
