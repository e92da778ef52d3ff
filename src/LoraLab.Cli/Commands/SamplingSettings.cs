using System.ComponentModel;
using LoraLab.Evaluation;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

/// Model and adapter flags plus the sampling flags of the verbs that generate text (generate, chat); each verb
/// declares its own --max-new-tokens, whose default differs.
public class SamplingSettings : AdapterSettings
{
    [CommandOption(SharedFlags.Temperature)]
    [Description(SharedFlags.TemperatureHelp)]
    [DefaultValue(0.0)]
    public double Temperature { get; set; }

    [CommandOption(SharedFlags.TopP)]
    [Description(SharedFlags.TopPHelp)]
    [DefaultValue(1.0)]
    public double TopP { get; set; } = 1.0;

    [CommandOption(SharedFlags.TopK)]
    [Description(SharedFlags.TopKHelp)]
    [DefaultValue(0)]
    public int TopK { get; set; }

    [CommandOption(SharedFlags.Seed)]
    [Description(SharedFlags.SamplingSeedHelp)]
    [DefaultValue(0L)]
    public long Seed { get; set; }

    public SamplingOptions Sampling(int maxNewTokens) =>
        new() { MaxNewTokens = maxNewTokens, Temperature = Temperature, TopP = TopP, TopK = TopK, Seed = Seed };

    public override Spectre.Console.ValidationResult Validate()
    {
        SamplingOptions.TemperatureRange.Check("--temperature", Temperature);
        SamplingOptions.TopPRange.Check("--top-p", TopP);
        SamplingOptions.TopKRange.Check("--top-k", TopK);
        return base.Validate();
    }
}
