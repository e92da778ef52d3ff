namespace LoraLab.Sweeps;

/// The names in a sweep's output folder (DIR), each declared once.
public static class SweepFolder
{
    /// DIR/runs/<name>/: one `loralab train` run folder per run.
    public const string Runs = "runs";
    /// A failed run's error, in its run folder.
    public const string ErrorFile = "error.txt";
    /// Why a finished run could not be scored on the sweep's tasks, in its run folder (the scores go to eval.json).
    public const string EvalErrorFile = "eval-error.txt";
    public const string ResultsCsv = "results.csv";
    /// Runs that differ only by seed, one row per group: each number's mean and standard deviation.
    public const string ResultsBySeedCsv = "results-by-seed.csv";
    public const string ResultsMd = "results.md";

    public static string RunsOf(string dir) => Path.Combine(dir, Runs);

    /// A sweep folder holds runs/ (a run folder never does); one with run.yaml is a run, whatever else it holds.
    public static bool IsSweep(string dir) =>
        Directory.Exists(RunsOf(dir)) && !File.Exists(Path.Combine(dir, Training.RunFolder.RunYaml));

    /// The run folders under DIR/runs/, ordered by name (so a collected sweep lists them as the unsharded one does).
    public static IReadOnlyList<string> RunDirs(string dir) =>
        Directory.Exists(RunsOf(dir))
            ? Directory.GetDirectories(RunsOf(dir)).OrderBy(Path.GetFileName, StringComparer.Ordinal).ToList()
            : [];
}
