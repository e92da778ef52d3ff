using System.Runtime.CompilerServices;
using LoraLab.Runtime;

namespace LoraLab.Tests;

/// `--precision auto` takes bf16 on a CPU that multiplies bf16 faster (AMX); the suite's numeric checks are written
/// for fp32, so the test process (and every CLI process it starts) keeps `auto` at fp32 unless the variable is set
/// already. bf16 is tested where a test asks for it by name.
static class TestPrecisionDefault
{
    [ModuleInitializer]
    internal static void KeepAutoAtFp32()
    {
        if (Environment.GetEnvironmentVariable(ComputePrecision.EnvVar) is null) Environment.SetEnvironmentVariable(ComputePrecision.EnvVar, "0");
    }
}
