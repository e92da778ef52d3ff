namespace LoraLab.Sweeps;

/// The run folders `loralab report` reads from its arguments: a run folder as given; a sweep folder (DIR/runs/) as
/// every run under DIR/runs/ that has logged training steps, in the order of its results.csv. A sweep's run without
/// steps (failed before training, killed before its first step, not started) is named in `Skipped` with its status,
/// not refused: a sweep is reported while it runs, and with the runs that failed.
public sealed record ReportRuns(IReadOnlyList<string> RunDirs, IReadOnlyList<string> Skipped, IReadOnlyList<string> SweepDirs)
{
    public static ReportRuns Expand(IReadOnlyList<string> args)
    {
        List<string> dirs = [], skipped = [], sweeps = [];
        foreach (var arg in args)
        {
            if (!SweepFolder.IsSweep(arg)) { dirs.Add(arg); continue; }
            sweeps.Add(arg);
            var rows = SweepResults.Read(arg);
            foreach (var row in rows)
                if (row.History is not null) dirs.Add(Path.Combine(SweepFolder.RunsOf(arg), row.Name));
                else skipped.Add($"{Path.Combine(SweepFolder.RunsOf(arg), row.Name)}: skipped ({row.Status}, no training steps logged)");
            if (rows.All(r => r.History is null))
                throw new UserException($"{arg}: no run in {SweepFolder.RunsOf(arg)} has logged training steps yet ({rows.Count} run folders)");
        }
        return new ReportRuns(dirs, skipped, sweeps);
    }
}
