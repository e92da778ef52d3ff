using LoraLab.Distributed;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// Where a process sits in an mpirun job, from Open MPI's variables. In the cli collection: the variables are the
/// process's, and an in-process `train --distributed mpi` would read them.
[Collection("cli")]
public class MpiLaunchTests
{
    static readonly string[] Names = ["OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"];

    static MpiLaunch? With(params string?[] values)
    {
        var old = Names.Select(Environment.GetEnvironmentVariable).ToArray();
        try
        {
            for (int i = 0; i < Names.Length; i++) Environment.SetEnvironmentVariable(Names[i], i < values.Length ? values[i] : null);
            return MpiLaunch.FromEnvironment();
        }
        finally { for (int i = 0; i < Names.Length; i++) Environment.SetEnvironmentVariable(Names[i], old[i]); }
    }

    [Fact]
    public void ReadsOpenMpisVariables()
    {
        Assert.Equal(new MpiLaunch(3, 4, 1, 2), With("4", "3", "1", "2"));
        Assert.Equal(new MpiLaunch(1, 2, 0, 1), With("2", "1")); // local place unknown: alone on its machine
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("2", null)]
    [InlineData(null, "0")]
    [InlineData("two", "0")]
    [InlineData("2", "-1")]
    public void IsNullOutsideAJob(string? size, string? rank) => Assert.Null(With(size, rank));

    [Theory]
    [InlineData(8, 2, 4)]
    [InlineData(2, 2, 1)]
    [InlineData(2, 3, 1)]
    [InlineData(6, 1, 6)]
    public void UnboundRanksOnAMachineShareItsCores(int cores, int localSize, int threads) =>
        Assert.Equal(threads, new MpiLaunch(0, localSize, 0, localSize).DefaultThreads(cores, boundByLauncher: false));

    /// A rank mpirun bound to some cores uses them all: they are its share already (dividing again would starve it).
    [Theory]
    [InlineData(1, 2, 1)]
    [InlineData(16, 2, 16)]
    public void ABoundRankUsesTheCoresItWasBoundTo(int cores, int localSize, int threads) =>
        Assert.Equal(threads, new MpiLaunch(0, localSize, 0, localSize).DefaultThreads(cores, boundByLauncher: true));

    [Theory]
    [InlineData("0-3,8,10-11", 7)]
    [InlineData("0", 1)]
    [InlineData(" 0-1\n", 2)]
    [InlineData("3-1", 0)]
    [InlineData("x", 0)]
    public void CpuListsCount(string list, int count) => Assert.Equal(count, LoraLab.Runtime.CpuTopology.CountList(list.Replace("\\n", "\n")));
}
