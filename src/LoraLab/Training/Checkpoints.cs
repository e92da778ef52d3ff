using System.Globalization;

namespace LoraLab.Training;

/// A run's checkpoint folders, RUN_DIR/checkpoints/step-NNNNNN: their naming, the newest, and rotation.
/// Each one is complete (AtomicDirectory writes it under a temporary name first).
public static class Checkpoints
{
    const string Prefix = "step-";

    public static string PathFor(string runDir, int step) => System.IO.Path.Combine(runDir, RunFolder.CheckpointsFolder, $"{Prefix}{step:D6}");

    /// The step a checkpoint folder is named for, or null for anything else (temporaries, user files).
    public static int? StepOf(string dir)
    {
        var name = System.IO.Path.GetFileName(dir);
        return name.StartsWith(Prefix) && int.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
    }

    /// Every checkpoint of the run, oldest first.
    public static IReadOnlyList<(int Step, string Dir)> List(string runDir)
    {
        var dir = System.IO.Path.Combine(runDir, RunFolder.CheckpointsFolder);
        if (!Directory.Exists(dir)) return Array.Empty<(int, string)>();
        return Directory.GetDirectories(dir)
            .Select(d => (Step: StepOf(d), Dir: d))
            .Where(c => c.Step is not null && File.Exists(System.IO.Path.Combine(c.Dir, TrainerState.FileName)))
            .Select(c => (c.Step!.Value, c.Dir)).OrderBy(c => c.Item1).ToList();
    }

    public static string? Latest(string runDir) => List(runDir) is { Count: > 0 } all ? all[^1].Dir : null;

    /// --save-total-limit: after a checkpoint is complete, delete all but the newest `keep` (a run folder holds no
    /// checkpoint after the run's current step: a resume sets those aside).
    public static void Prune(string runDir, int? keep)
    {
        if (keep is not int n) return;
        foreach (var (_, dir) in List(runDir).Reverse().Skip(n))
            Directory.Delete(dir, true);
    }

    /// What to do after a save failed: which checkpoint to resume from once there is room.
    public static string ResumeHint(string runDir) => Latest(runDir) is { } last
        ? $"the last complete checkpoint is {last}; free some space and resume from it ({RunFolder.ResumeCommand(runDir)})"
        : "no checkpoint was completed before it; free some space or choose another --out and run again";
}
