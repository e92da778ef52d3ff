using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Training;

/// Which settings count as changed when a run is resumed.
public class RunRecordTests
{
    [Fact]
    public void TemplateAutoIsTheTemplateItResolvedTo()
    {
        var recorded = RunConfig.Defaults();
        recorded.Template = "llama2-chat"; // run.yaml holds what `--template auto` resolved to
        var repeated = recorded.Overlay(new RunConfig { Template = "auto" });
        Assert.Empty(RunRecord.Changes(recorded, repeated));
        Assert.Single(RunRecord.Changes(recorded, recorded.Overlay(new RunConfig { Template = "chatml" })));
    }
}
