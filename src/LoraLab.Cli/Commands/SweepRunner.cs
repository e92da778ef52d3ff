using System.Diagnostics;
using LoraLab.Configuration;
using LoraLab.Sweeps;
using LoraLab.Training;

namespace LoraLab.Cli.Commands;

/// Runs a sweep's runs one after another as `loralab train` child processes: skips finished ones, records a failed
/// one's error in its folder and goes on, prints a progress line per run. A finished run without eval.json is scored
/// on the sweep's tasks in this process; a scoring error leaves the run done and is recorded in eval-error.txt.
sealed class SweepRunner(string outDir, IReadOnlyList<SweepTask> tasks)
{
    const int ErrorLines = 20;

    public int RunAll(IReadOnlyList<PlannedRun> runs, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var trained = new List<double>();
        int failed = 0, unscored = 0;
        for (int k = 0; k < runs.Count; k++)
        {
            var run = runs[k];
            var runDir = run.Config.Out!;
            string outcome;
            var watch = Stopwatch.StartNew();
            bool worked = false; // trained or scored here: its time counts towards the estimate
            if (RunFolder.HasFinalWeights(runDir)) outcome = "skipped (already finished)";
            else
            {
                var (code, error) = Train(run);
                worked = true;
                if (code == 130) // interrupted (Ctrl+C reaches the child too): the run can be resumed, the sweep stops
                {
                    Console.WriteLine($"[{k + 1}/{runs.Count}] {run.Name}: interrupted; run the same command again to go on");
                    return 130;
                }
                if (code == 0) outcome = $"done in {Seconds(watch.Elapsed.TotalSeconds)}";
                else
                {
                    failed++;
                    Directory.CreateDirectory(runDir);
                    IO.AtomicFile.WriteAllText(Path.Combine(runDir, SweepFolder.ErrorFile), error);
                    outcome = $"FAILED (exit {code}): {error.Split('\n')[0]}";
                }
            }
            if (RunFolder.HasFinalWeights(runDir) && tasks.Count > 0 && !File.Exists(Path.Combine(runDir, RunFolder.EvalResult)))
            {
                var (scores, ok) = Score(run);
                outcome += " · " + scores;
                if (!ok) unscored++;
                worked = true;
            }
            if (worked) trained.Add(watch.Elapsed.TotalSeconds);
            // the remaining runs are estimated at the mean time of the runs worked on so far (a skipped run costs nothing)
            var left = trained.Count == 0 ? "" : $" · about {Seconds(trained.Average() * (runs.Count - k - 1))} left";
            Console.WriteLine($"[{k + 1}/{runs.Count}] {run.Name}: {outcome} · elapsed {Seconds(clock.Elapsed.TotalSeconds)}{left}");
            if (cancellation.IsCancellationRequested) return 130;
        }
        Console.WriteLine(failed == 0 ? $"sweep finished: {runs.Count} runs in {SweepFolder.RunsOf(outDir)}"
            : $"sweep finished: {failed} of {runs.Count} runs failed (see {SweepFolder.ErrorFile} in their folders)");
        if (unscored > 0) Console.WriteLine($"task scores failed for {unscored} of {runs.Count} runs (see {SweepFolder.EvalErrorFile} in their folders)");
        return failed == 0 && unscored == 0 ? 0 : 1;
    }

    /// Scores a finished run on the sweep's tasks: the scores for its progress line, or the error (also written to
    /// RUN_DIR/eval-error.txt; the run stays done).
    (string Text, bool Ok) Score(PlannedRun run)
    {
        var runDir = run.Config.Out!;
        var errorFile = Path.Combine(runDir, SweepFolder.EvalErrorFile);
        try
        {
            var scores = SweepTasks.ScoreRun(runDir, run.Config, tasks);
            if (File.Exists(errorFile)) File.Delete(errorFile);
            return (string.Join(", ", scores.Values.Select(v => $"{v.Key} {v.Value:F3}")), true);
        }
        catch (Exception e) // any failure (a bad task file row, a native error): the run is trained and kept
        {
            var message = e is UserException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            IO.AtomicFile.WriteAllText(errorFile, message + "\n");
            return ($"task scores FAILED: {message.Split('\n')[0]}", false);
        }
    }

    static string Seconds(double s) => s < 120 ? $"{s:F1}s" : TimeSpan.FromSeconds(Math.Round(s)).ToString(@"h\:mm\:ss");

    /// `loralab train --config DIR/configs/<name>.yaml` in a child process, its output in DIR/logs/<name>.log.
    /// Returns the exit code and, on failure, the end of what it wrote to stderr.
    (int Code, string Error) Train(PlannedRun run)
    {
        var configs = Directory.CreateDirectory(Path.Combine(outDir, "configs")).FullName;
        var logs = Directory.CreateDirectory(Path.Combine(outDir, "logs")).FullName;
        var config = Path.Combine(configs, run.Name + ".yaml");
        IO.AtomicFile.WriteAllText(config, run.Config.ToGivenYaml());
        var stale = Path.Combine(run.Config.Out!, SweepFolder.ErrorFile); // from a failed try: this one tells anew
        if (File.Exists(stale)) File.Delete(stale);
        var (file, prefix) = Self();
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        SweepChild.Mark(psi); // it ends if this sweep is killed
        if (LoraLab.Hub.ModelSource.ForceOffline) psi.Environment["HF_HUB_OFFLINE"] = "1"; // sweep --offline: each run too
        // --overwrite: the folder is the sweep's own, and one that is not finished (killed, failed) is trained again from the start
        foreach (var a in prefix.Concat(["train", "--config", config, "--out", run.Config.Out!, "--overwrite"])) psi.ArgumentList.Add(a);
        var log = Path.Combine(logs, run.Name + ".log");
        var stderr = new List<string>();
        using (var writer = new StreamWriter(log))
        {
            using var p = Process.Start(psi)!;
            var gate = new object();
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) { writer.WriteLine(e.Data); stderr.Add(e.Data); } };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            p.WaitForExit();
            if (p.ExitCode == 0) return (0, "");
            var tail = stderr.Where(l => l.Trim() != "").TakeLast(ErrorLines).ToList();
            var error = tail.Count > 0 ? string.Join("\n", tail) : $"train exited with code {p.ExitCode}";
            return (p.ExitCode, $"{error}\n(full output: {log})\n");
        }
    }

    /// This program as a command: its own executable (the `loralab` apphost or a single-file build), or `dotnet
    /// loralab.dll` when it runs under the dotnet host (`dotnet loralab.dll`, or a test host that loaded it).
    static (string File, string[] Prefix) Self()
    {
        var exe = Environment.ProcessPath;
        if (exe is not null && Path.GetFileNameWithoutExtension(exe) == "loralab") return (exe, []);
        var dll = typeof(SweepRunner).Assembly.Location;
        return (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [dll]);
    }
}
