using System.Text.Json;
using LoraLab.Demo;
using LoraLab.ModelFiles;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// Short `train` runs on the demo model and data, and what the exactness tests compare between two of them.
static class DemoRuns
{
    static string Assets => DemoAssets.Locate();

    /// `train` on the demo into `outDir`, deterministic (no dropout, no stop-rate measurement), plus `more` flags.
    public static string[] Train(string outDir, params string[] more) =>
    [
        "train", "--model", Path.Combine(Assets, DemoAssets.BaseFolder),
        "--data", Path.Combine(Assets, DemoAssets.DataFolder, DemoAssets.TrainFile),
        "--out", outDir, "--lora-dropout", "0", "--stop-rate-prompts", "0", .. more,
    ];

    /// `train` with --distributed mpi.
    public static string[] Distributed(string outDir, params string[] more) => Train(outDir, ["--distributed", "mpi", .. more]);

    /// The run's metrics records (resume records left out): "train 3" → loss, "eval 4" → val loss.
    public static List<(string Key, double Value)> Curve(string runDir) =>
        File.ReadLines(Path.Combine(runDir, RunFolder.Metrics)).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("type").GetString() is "train" or "eval")
            .Select(r => r.GetProperty("type").GetString() == "train"
                ? ($"train {r.GetProperty("step").GetInt32()}", r.GetProperty("loss").GetDouble())
                : ($"eval {r.GetProperty("step").GetInt32()}", r.GetProperty("val_loss").GetDouble()))
            .ToList();

    /// Within `tolerance` relative to the larger magnitude (losses here are 5 to 12, so 1e-5 relative is about 1e-4 absolute).
    public static void AssertSameCurve(string expectedRun, string actualRun, double tolerance = 1e-5)
    {
        var (expected, actual) = (Curve(expectedRun), Curve(actualRun));
        Assert.Equal(expected.Select(e => e.Key), actual.Select(a => a.Key));
        foreach (var (e, a) in expected.Zip(actual))
            Assert.True(Math.Abs(e.Value - a.Value) <= tolerance * Math.Max(Math.Abs(e.Value), Math.Abs(a.Value)),
                $"{e.Key}: {a.Value:R} in {actualRun}, {e.Value:R} in {expectedRun} (relative difference {Math.Abs(e.Value - a.Value) / Math.Abs(e.Value):E2} > {tolerance:E0})");
    }

    /// Every tensor of every .safetensors file in the two folders within `tolerance`, absolute.
    public static void AssertSameWeights(string expectedDir, string actualDir, double tolerance = 1e-5)
    {
        var files = Directory.GetFiles(expectedDir, "*.safetensors").Select(Path.GetFileName).Order().ToList();
        Assert.NotEmpty(files);
        Assert.Equal(files, Directory.GetFiles(actualDir, "*.safetensors").Select(Path.GetFileName).Order());
        foreach (var file in files)
        {
            using var e = SafeTensorsFile.Open(Path.Combine(expectedDir, file!));
            using var a = SafeTensorsFile.Open(Path.Combine(actualDir, file!));
            Assert.Equal(e.Names.Order(), a.Names.Order());
            foreach (var name in e.Names)
            {
                using var scope = TorchSharp.torch.NewDisposeScope();
                var (et, at) = (e.Read(name, TorchSharp.torch.ScalarType.Float32), a.Read(name, TorchSharp.torch.ScalarType.Float32));
                Assert.Equal(et.shape, at.shape);
                var diff = (et - at).abs().max().item<float>();
                Assert.True(diff <= tolerance, $"{file} {name}: differs by up to {diff:E2} (absolute) > {tolerance:E0}");
            }
        }
    }
}
