using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.Diagnostics;
using LoraLab.Evaluation;
using LoraLab.Tests.Fakes;
using Xunit;
using Record = LoraLab.Data.Record;

namespace LoraLab.Tests.Guardrails;

/// The stop rate: a generation counts as stopped when a stop id comes out within the limit.
public class StopRateTests
{
    static readonly int[] Prompt = [3, 9, 27];

    [Fact]
    public void StopsOnlyWhenAStopIdIsGenerated()
    {
        using var m = SelfChecks.TinyModel();
        var tokens = TextGenerator.Generate(m, Prompt, new SamplingOptions { MaxNewTokens = 8 }).Tokens;
        int third = tokens[2];
        int never = Enumerable.Range(0, m.Config.VocabSize).First(i => !tokens.Contains(i));

        var stops = StopRate.Measure(m, [Prompt, Prompt], [third], maxNewTokens: 8);
        Assert.Equal((2, 2, 1.0), (stops.Prompts, stops.Stopped, stops.Rate));
        Assert.Equal(0, StopRate.Measure(m, [Prompt], [never], maxNewTokens: 8).Stopped);
        // the stop must come within the limit: two new tokens never reach the third
        Assert.Equal(0, StopRate.Measure(m, [Prompt], [third], maxNewTokens: 2).Stopped);
    }

    [Fact]
    public void CompareMeasuresHeldOutPromptsForTheBaseAndTheTunedModel()
    {
        var tok = new CharTokenizer();
        using var m = new LoraLab.Models.CausalLM(SelfChecks.TinyConfig with { VocabSize = tok.VocabSize }, TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU);
        m.InitializeRandom(1, std: 0.2);
        LoraInjector.Apply(m, new LoraConfig { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj"] }, seed: 2);
        var builder = new ExampleBuilder(tok, PromptTemplate.Get("alpaca"));
        var records = new Record[] { new AlpacaRecord("a", "x", "", "y"), new TextRecord("t", "skipped"), new AlpacaRecord("b", "zz", "", "w") };
        var prompts = StopRate.Prompts(builder, records);
        Assert.Equal(2, prompts.Count);
        Assert.Equal(builder.EncodePrompt("x"), prompts[0]);
        Assert.Single(StopRate.Prompts(builder, records, max: 1));

        var c = StopRate.Compare(m, builder, records, maxNewTokens: 4);
        Assert.Equal(2, c.Tuned.Prompts);
        Assert.Equal(4, c.Tuned.MaxNewTokens);
        Assert.Equal(c.Tuned, c.Base);   // fresh adapters (B = 0) generate exactly what the base does
        Assert.All(m.Projections().Where(p => p.Projection.Adapter is not null), p => Assert.True(p.Projection.AdapterActive));
        var record = c.ToMetricsRecord();
        Assert.Equal("stop_rate", record.GetType().GetProperty("type")!.GetValue(record));
    }
}
