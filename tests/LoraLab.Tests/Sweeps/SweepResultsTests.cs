using LoraLab.Sweeps;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// results.csv / results.md rows for run folders that are not done: a failed run (error.txt, perhaps no run.yaml)
/// and a missing one (a folder with neither final weights nor an error: killed or not started).
public class SweepResultsTests
{
    [Fact]
    public void FailedAndMissingRunsGetARowWithTheirStatusAndEmptyMetrics()
    {
        var dir = TempDir.New();
        Directory.CreateDirectory(Path.Combine(dir, "runs", "bad"));
        File.WriteAllText(Path.Combine(dir, "runs", "bad", "error.txt"), "error: data: not found\n");
        Directory.CreateDirectory(Path.Combine(dir, "runs", "killed"));
        var rows = SweepResults.Write(dir);
        Assert.Equal([("bad", "failed"), ("killed", "missing")], rows.Select(r => (r.Name, r.Status)));
        Assert.Equal(
            "run,status,final train loss,final val loss,steps,trainable params,peak memory (MB),wall time (s),tokens/s\nbad,failed,,,,,,,\nkilled,missing,,,,,,,\n",
            File.ReadAllText(Path.Combine(dir, "results.csv")));
        Assert.Contains("| killed | missing | - | - | - | - | - | - | - |\n", File.ReadAllText(Path.Combine(dir, "results.md")));
        Assert.Equal(["results.csv", "results.md"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void CsvQuotesFieldsWithCommasAndQuotesAndMarkdownEscapesPipes()
    {
        string[] header = ["run", "targets"];
        IReadOnlyList<string>[] rows = [["a", "q_proj,v_proj"], ["b", "say \"x\"|y"]];
        Assert.Equal("run,targets\na,\"q_proj,v_proj\"\nb,\"say \"\"x\"\"|y\"\n", SweepResults.Csv(header, rows));
        Assert.Contains("| b | say \"x\"\\|y |\n", SweepResults.Markdown(header, rows));
    }
}
