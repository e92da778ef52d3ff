using System.Diagnostics;
using LoraLab.Demo;

namespace LoraLab.Tests.IO;

/// Short `loralab train` runs on the committed demo base and data (no ../shared needed).
static class DemoRuns
{
    public static string Base => Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder);
    public static string Data => Path.Combine(DemoAssets.Locate(), DemoAssets.DataFolder, DemoAssets.TrainFile);

    public static string[] Train(string outDir, params string[] extra) =>
        new[] { "train", "--model", Base, "--data", Data, "--out", outDir, "--threads", "1", "--stop-rate-prompts", "0" }.Concat(extra).ToArray();

    /// Waits until `path` exists (the other process got that far), or fails after `seconds`.
    public static void WaitFor(string path, Process p, int seconds = 120)
    {
        var clock = Stopwatch.StartNew();
        while (!File.Exists(path) && !Directory.Exists(path))
        {
            if (p.HasExited) throw new Xunit.Sdk.XunitException($"the other process exited ({p.ExitCode}) before {path} appeared");
            if (clock.Elapsed.TotalSeconds > seconds) throw new TimeoutException($"{path} did not appear in {seconds}s");
            Thread.Sleep(50);
        }
    }
}
