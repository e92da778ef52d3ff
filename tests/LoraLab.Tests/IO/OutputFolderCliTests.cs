using LoraLab.Tests.Adapters;
using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.IO;

/// Who may write an output folder: one loralab process at a time, and never into (or around) its own inputs.
[Collection("cli")]
public class OutputFolderCliTests
{
    [Fact]
    public void ASecondRunIntoALiveRunsFolderIsRefusedWithTheHoldersPidOverwriteIncluded()
    {
        var outDir = Path.Combine(TempDir.New(), "run");
        var first = CliRunner.Start(DemoRuns.Train(outDir, "--max-steps", "400", "--save-every", "2"));
        try
        {
            DemoRuns.WaitFor(Path.Combine(outDir, "checkpoints", "step-000002"), first);
            foreach (var overwrite in new[] { false, true })
            {
                var args = DemoRuns.Train(outDir, "--max-steps", "1", "--seed", "7");
                var (code, stdout, err) = CliRunner.Run(overwrite ? [.. args, "--overwrite"] : args);
                Assert.True(code == 2, $"exit {code}: {err}{stdout}");
                Assert.Contains($"--out {outDir}: in use by another loralab process (PID {first.Id}); wait for it to finish or choose another --out", err);
            }
            Assert.False(first.HasExited, "the first run must not be disturbed");
        }
        finally
        {
            first.Kill();
            first.WaitForExit();
        }
        // kill -9 left its lock file behind, but the kernel released the lock with the process: the folder is free.
        var (rc, _, e2) = CliRunner.Run(DemoRuns.Train(outDir, "--overwrite", "--max-steps", "1"));
        Assert.True(rc == 0, e2);
    }

    /// Leftovers of killed writes are removed (or finished) only under the names loralab writes; a user's own
    /// `x.old-3` or `.x.tmp-4` in a folder given with --overwrite, or beside a merge's --out, stays.
    [Fact]
    public void OnlyTheLeftoversOfItsOwnKilledWritesAreRemoved()
    {
        var run = Path.Combine(TempDir.New(), "run");
        string[] mine = ["notes.old-3", ".notes.tmp-4", "merged2.old-5"];
        Directory.CreateDirectory(Path.Combine(run, "checkpoints"));
        foreach (var d in mine.Append(".adapter.tmp-999999").Append("checkpoints/.step-000007.tmp-999999"))
        {
            Directory.CreateDirectory(Path.Combine(run, d));
            File.WriteAllText(Path.Combine(run, d, "f"), "x");
        }
        var (code, _, err) = CliRunner.Run(DemoRuns.Train(run, "--max-steps", "1", "--overwrite"));
        Assert.True(code == 0, err);
        foreach (var d in mine) Assert.True(Directory.Exists(Path.Combine(run, d)), d);
        Assert.False(Directory.Exists(Path.Combine(run, ".adapter.tmp-999999")));
        Assert.False(Directory.Exists(Path.Combine(run, "checkpoints", ".step-000007.tmp-999999")));

        // merge writes its --out like train writes adapter/: a killed merge's temporary is removed by the next one.
        var merged = Path.Combine(run, "merged");
        Directory.CreateDirectory(Path.Combine(run, ".merged.tmp-999999"));
        (code, _, err) = CliRunner.Run("merge", "--model", LoraTestModels.TinyDir, "--adapter", LoraTestModels.TinyAdapterDir, "--out", merged);
        Assert.True(code == 0, err);
        Assert.False(Directory.Exists(Path.Combine(run, ".merged.tmp-999999")));
        foreach (var d in mine) Assert.True(Directory.Exists(Path.Combine(run, d)), d);
        Assert.Equal(new[] { "config.json", "model.safetensors" }, Directory.GetFiles(merged).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void MergeRefusesAnOutThatIsContainsOrLiesInsideItsInputs()
    {
        var root = TempDir.New();
        var adapter = Path.Combine(root, "adapter");
        var baseDir = Path.Combine(root, "base");
        Copy(LoraTestModels.TinyAdapterDir, adapter);
        Copy(LoraTestModels.TinyDir, baseDir);
        var link = Path.Combine(root, "link");
        Directory.CreateSymbolicLink(link, adapter);
        var before = Directory.GetFiles(adapter).Select(Path.GetFileName).Order().ToArray();

        foreach (var (outDir, named) in new[]
        {
            (adapter, "--adapter"), (link, "--adapter"), (Path.Combine(adapter, "merged"), "--adapter"),
            (Path.Combine(link, "merged"), "--adapter"), (root, "holds the --"), (Path.Combine(baseDir, "merged"), "--model"),
        })
        {
            var (code, _, err) = CliRunner.Run("merge", "--model", baseDir, "--adapter", adapter, "--out", outDir, "--overwrite");
            Assert.True(code == 2, $"--out {outDir}: exit {code}: {err}");
            Assert.Contains(named, err);
            Assert.Contains("--out", err);
            Assert.Equal(before, Directory.GetFiles(adapter).Select(Path.GetFileName).Order().ToArray());
        }
    }

    [Fact]
    public void TrainRefusesAnOutInsideTheModelFolderOrHoldingItsData()
    {
        var root = TempDir.New();
        var baseDir = Path.Combine(root, "base");
        Copy(DemoRuns.Base, baseDir);
        var (code, _, err) = CliRunner.Run(DemoRuns.Train(Path.Combine(baseDir, "run"), "--max-steps", "1").Select(a => a == DemoRuns.Base ? baseDir : a).ToArray());
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains("--model", err);
        Assert.False(Directory.Exists(Path.Combine(baseDir, "run")));

        var run = Path.Combine(root, "run");
        Directory.CreateDirectory(run);
        var data = Path.Combine(run, "train.json");
        File.Copy(DemoRuns.Data, data);
        (code, _, err) = CliRunner.Run(DemoRuns.Train(run, "--max-steps", "1", "--overwrite").Select(a => a == DemoRuns.Data ? data : a).ToArray());
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains("--data", err);
    }

    [Fact]
    public void AnOutUnderAFileIsAUserError()
    {
        var file = Path.Combine(TempDir.New(), "notes.txt");
        File.WriteAllText(file, "x");
        var (code, _, err) = CliRunner.Run(DemoRuns.Train(Path.Combine(file, "run"), "--max-steps", "1"));
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains($"{file} is a file, not a folder", err);
    }

    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }
}
