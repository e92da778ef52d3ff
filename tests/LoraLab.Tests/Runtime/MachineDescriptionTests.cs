using LoraLab.Runtime;
using Xunit;

namespace LoraLab.Tests;

public class MachineDescriptionTests
{
    /// What reports write beside every figure: the CPU model, the logical CPUs and, on x86, the vector features.
    [Fact]
    public void NamesTheLogicalCpusAndOnX86TheMatrixFeatures()
    {
        var text = MachineDescription.Describe();
        Assert.Contains($", {Environment.ProcessorCount} logical CPUs", text);
        if (File.Exists("/proc/cpuinfo") && File.ReadAllText("/proc/cpuinfo").Contains("\nflags"))
            Assert.Matches(@"\((.+, )?(AMX-BF16|no AMX)\)$", text);
    }
}
