using LoraLab.Cli;
using Xunit;

namespace LoraLab.Tests.Cli;

/// The README writes `loralab ...`: the built program (and the dotnet tool's command) must be called that.
public class ProgramNameTests
{
    [Fact]
    public void TheBuiltProgramIsLoralab()
    {
        Assert.Equal("loralab", typeof(CliApp).Assembly.GetName().Name);
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "loralab.dll")));
        var (rc, stdout, _) = CliRunner.RunProcess("--help");
        Assert.Equal(0, rc);
        Assert.Contains("loralab", stdout);
    }
}
