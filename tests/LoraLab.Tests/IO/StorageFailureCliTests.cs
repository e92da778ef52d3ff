using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.IO;

/// A full disk or a read-only file system is the user's to fix: one line naming the path and what to do, exit 2.
[Collection("cli")]
public class StorageFailureCliTests
{
    [TmpfsFact]
    public void ACheckpointThatDoesNotFitNamesTheFileAndTheLastCompleteCheckpoint()
    {
        // One demo checkpoint (adapter + optimizer) takes 1.3 MB: the first fits in 2 MB, the second does not.
        using var disk = Tmpfs.Mount("2m");
        var run = Path.Combine(disk.Path, "run");
        var (code, stdout, err) = CliRunner.Run(DemoRuns.Train(run, "--max-steps", "3", "--save-every", "1"));
        Assert.True(code == 2, $"exit {code}: {err}{stdout}");
        var checkpoints = Path.Combine(run, "checkpoints");
        Assert.Contains($"no space left on device while writing {Path.Combine(checkpoints, "step-000002")}{Path.DirectorySeparatorChar}", err);
        Assert.Contains($"the last complete checkpoint is {Path.Combine(checkpoints, "step-000001")}", err);
        Assert.Single(err.Trim().Split('\n'));
        // nothing half-written is left, under the final name or a temporary one
        Assert.Equal(new[] { "step-000001" }, Directory.GetFileSystemEntries(checkpoints).Select(Path.GetFileName));
    }

    [TmpfsFact]
    public void AFinalAdapterThatDoesNotFitSaysTheRunIsTrainedAndHowToFinishIt()
    {
        // The demo's final checkpoint (1.3 MB) fits in 1600 KB, the adapter beside it (0.44 MB) does not.
        using var disk = Tmpfs.Mount("1600k");
        var run = Path.Combine(disk.Path, "run");
        var (code, stdout, err) = CliRunner.Run(DemoRuns.Train(run, "--max-steps", "1"));
        Assert.True(code == 2, $"exit {code}: {err}{stdout}");
        Assert.Contains($"no space left on device while writing {Path.Combine(run, "adapter")}{Path.DirectorySeparatorChar}", err);
        Assert.EndsWith($"training finished and its final checkpoint {Path.Combine(run, "checkpoints", "step-000001")} is complete; " +
                        $"free some space and write adapter/ with loralab train --resume {run}", err.Trim());

        disk.Resize("4m");
        (code, stdout, err) = CliRunner.Run("train", "--resume", run);
        Assert.True(code == 0, $"exit {code}: {err}{stdout}");
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_model.safetensors")));
    }

    [TmpfsFact]
    public void AReadOnlyOutIsAUserError()
    {
        using var disk = Tmpfs.Mount("1m");
        Directory.CreateDirectory(Path.Combine(disk.Path, "empty"));
        disk.MakeReadOnly();
        foreach (var name in new[] { "new", "empty" })
        {
            var outDir = Path.Combine(disk.Path, name);
            var (code, _, err) = CliRunner.Run(DemoRuns.Train(outDir, "--max-steps", "1"));
            Assert.True(code == 2, $"exit {code}: {err}");
            Assert.Contains(outDir, err);
            Assert.Contains($"{outDir}: read-only file system; choose another --out", err);
        }
    }
}
