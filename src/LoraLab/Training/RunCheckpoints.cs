using System.Text.RegularExpressions;

namespace LoraLab.Training;

/// The checkpoints in a run folder (`checkpoints/step-NNNNNN`). Only complete ones carry that name: each is
/// renamed into place whole (<see cref="AtomicDirectory"/>).
public static class RunCheckpoints
{
    public static string Folder(string outDir) => Path.Combine(outDir, "checkpoints");

    /// The complete checkpoint with the highest step, or null.
    public static string? Latest(string outDir) =>
        Directory.Exists(Folder(outDir))
            ? Directory.GetDirectories(Folder(outDir)).Where(d => Regex.IsMatch(Path.GetFileName(d), @"^step-\d+$"))
                .MaxBy(d => long.Parse(Path.GetFileName(d)[5..]))
            : null;

    /// What to do after a save failed: which checkpoint to resume from once there is room.
    public static string ResumeHint(string outDir) => Latest(outDir) is { } last
        ? $"the last complete checkpoint is {last}; free some space and resume from it (--resume {last})"
        : "no checkpoint was completed before it; free some space or choose another --out and run again";
}
