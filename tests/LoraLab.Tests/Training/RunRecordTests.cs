using LoraLab.Configuration;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Training;

/// Which settings count as changed when a run is resumed.
public class RunRecordTests
{
    [Fact]
    public void TemplateAutoIsTheTemplateItResolvedTo()
    {
        var recorded = new RunConfig { Template = "llama2-chat" }; // run.yaml holds what `--template auto` resolved to
        var repeated = recorded.With(new SettingLayer().Parse(RunSettings.Template, "auto", "--template"));
        Assert.Empty(RunRecord.Changes(recorded, repeated));
        Assert.Single(RunRecord.Changes(recorded, recorded.With(new SettingLayer().Parse(RunSettings.Template, "chatml", "--template"))));
        // settings that do not change what is learned may differ
        Assert.Empty(RunRecord.Changes(recorded, recorded.With(new SettingLayer().Parse(RunSettings.Threads, "1", "--threads").Parse(RunSettings.Out, "/x", "--out"))));
    }
}
