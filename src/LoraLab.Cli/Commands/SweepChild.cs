using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LoraLab.Cli.Commands;

/// A `train` that `loralab sweep` starts ends when its sweep dies. Killed alone (`kill -9`, the OOM killer, a closed
/// session), the sweep would otherwise leave its child training on, orphaned, into the run folder that the same sweep
/// command, run again, trains anew: that train would find the folder locked and be recorded as failed, or the orphan
/// would finish the run while nothing watches it. The sweep names itself in the child's environment; the child checks
/// its parent a few times a second and, once that is gone, kills itself as a kill of the sweep's process group would
/// have (files it was writing are replaced whole, and the restarted sweep trains the unfinished run from the start).
static class SweepChild
{
    /// The sweep's process id, in the environment of each `train` it starts.
    public const string ParentVariable = "LORALAB_SWEEP_PID";
    const int PollMs = 250;

    public static void Mark(ProcessStartInfo psi) => psi.Environment[ParentVariable] = $"{Environment.ProcessId}";

    /// In a marked `train`: starts the watch (a background thread, so it never keeps the process alive).
    public static void EndWithParent()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(ParentVariable), out int parent)) return;
        new Thread(() =>
        {
            while (ParentAlive(parent)) Thread.Sleep(PollMs);
            Process.GetCurrentProcess().Kill();
        }) { IsBackground = true, Name = "sweep watch" }.Start();
    }

    /// Unix: an orphan is handed to init (or a subreaper), so its parent id changes; Windows keeps no such link, so
    /// there the sweep's process is looked up.
    static bool ParentAlive(int parent)
    {
        if (!OperatingSystem.IsWindows()) return getppid() == parent;
        try { using var p = Process.GetProcessById(parent); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    [DllImport("libc")] static extern int getppid();
}
