using LoraLab.Tests.IO;

namespace LoraLab.Tests.Serving;

/// Two short LoRA runs on the demo base, trained once per test run (in a child process, so no test's console is
/// touched) and shared by the serving tests: `first` and `second` differ in seed, rate and targets, so their outputs differ.
static class ServedAdapters
{
    static readonly Lazy<(string First, string Second)> Trained = new(() =>
    {
        var root = TempDir.New();
        return (Train(Path.Combine(root, "first"), "--seed", "1", "--lr", "3e-3"),
                Train(Path.Combine(root, "second"), "--seed", "2", "--lr", "5e-3", "--targets", "qv"));
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Base => DemoRuns.Base;
    public static string First => Trained.Value.First;
    public static string Second => Trained.Value.Second;

    static string Train(string outDir, params string[] extra)
    {
        var (rc, stdout, stderr) = CliRunner.RunProcess(DemoRuns.Train(outDir, ["--max-steps", "40", .. extra]));
        if (rc != 0) throw new InvalidOperationException($"training a served adapter failed ({rc}): {stderr}\n{stdout}");
        return Path.Combine(outDir, "adapter");
    }
}
