using System.Globalization;

namespace LoraLab.Distributed;

/// Where this process sits in an `mpirun` job, from the variables Open MPI's launcher sets for each rank
/// (OMPI_COMM_WORLD_SIZE, _RANK, _LOCAL_RANK, _LOCAL_SIZE). Null outside a job.
public sealed record MpiLaunch(int Rank, int Size, int LocalRank, int LocalSize)
{
    public static MpiLaunch? FromEnvironment()
    {
        int? Read(string name) => int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
        if (Read("OMPI_COMM_WORLD_SIZE") is not int size || Read("OMPI_COMM_WORLD_RANK") is not int rank) return null;
        return new MpiLaunch(rank, size, Read("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0, Read("OMPI_COMM_WORLD_LOCAL_SIZE") ?? 1);
    }

    /// The variable that shows another MPI's launcher (MPICH's Hydra, Intel MPI, Slurm's PMI) started this process.
    public static string? OtherLauncher() =>
        new[] { "PMI_RANK", "PMIX_RANK", "PMI_SIZE" }.FirstOrDefault(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)));

    /// libtorch threads a rank uses when --threads is not given: the cores mpirun bound it to, or, when it left the
    /// rank unbound, the machine's cores shared among the ranks on it (so they do not each start a thread per core).
    public int DefaultThreads(int physicalCores, bool boundByLauncher) =>
        boundByLauncher ? physicalCores : Math.Max(1, physicalCores / Math.Max(1, LocalSize));
}
