using System.Runtime.InteropServices;

namespace LoraLab.Distributed;

/// What `loralab doctor` says about data-parallel training on this machine: Open MPI's library and launcher, NCCL.
public static class DistributedSupport
{
    public const string InstallCommand = "apt-get install -y openmpi-bin";

    public static string Mpi()
    {
        string? launcher = OnPath("mpirun");
        try { MpiLibrary.Load(); }
        catch (UserException) { return $"not installed ({InstallCommand}); train --distributed mpi needs it"; }
        return $"Open MPI library loaded; {(launcher is null ? $"no mpirun on PATH ({InstallCommand})" : $"launcher {launcher}")}" +
               (MpiLaunch.FromEnvironment() is { } l ? $"; this process is rank {l.Rank} of {l.Size}" : "");
    }

    public static string Nccl() => NativeLibrary.TryLoad("libnccl.so.2", out var h) && h != 0
        ? "libnccl.so.2 found: CUDA gradients of --distributed mpi go through NCCL"
        : "libnccl.so.2 not found: CUDA gradients of --distributed mpi would go through the host";

    static string? OnPath(string name) => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
