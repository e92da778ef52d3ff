using System.Reflection;
using LoraLab.Runtime;

namespace LoraLab.Training;

/// The accepted range of every numeric run setting, declared once and named as RunConfig's property. RunConfig
/// checks flags and YAML values against it (naming the flag, or file:line and key), TrainOptions the resolved loop.
public static class SettingRanges
{
    public static readonly NumberRange MaxSeqLength = NumberRange.AtLeast(8);
    public static readonly NumberRange ValFraction = NumberRange.Fraction;
    public static readonly NumberRange Lr = NumberRange.Positive;
    public static readonly NumberRange MinLr = NumberRange.NonNegative;
    public static readonly NumberRange BatchSize = NumberRange.AtLeast(1);
    public static readonly NumberRange MicroBatchSize = NumberRange.AtLeast(1);
    public static readonly NumberRange MaxSteps = NumberRange.AtLeast(1);
    public static readonly NumberRange Epochs = NumberRange.AtLeast(1);
    public static readonly NumberRange WeightDecay = NumberRange.NonNegative;
    public static readonly NumberRange Momentum = NumberRange.Fraction;
    public static readonly NumberRange WarmupSteps = NumberRange.AtLeast(0);
    public static readonly NumberRange WarmupRatio = new(0, 1);
    /// 0 disables clipping.
    public static readonly NumberRange MaxGradNorm = NumberRange.NonNegative;
    /// Intervals in steps; 0 = only at epoch ends (eval), only at the end (save), every step (log).
    public static readonly NumberRange EvalEvery = NumberRange.AtLeast(0);
    public static readonly NumberRange SaveEvery = NumberRange.AtLeast(0);
    public static readonly NumberRange LogEvery = NumberRange.AtLeast(0);
    public static readonly NumberRange R = NumberRange.AtLeast(1);
    public static readonly NumberRange Alpha = NumberRange.Positive;
    public static readonly NumberRange LoraDropout = NumberRange.Fraction;
    public static readonly NumberRange StopRatePrompts = NumberRange.AtLeast(0);
    /// Checkpoints kept; leaving the setting out keeps all.
    public static readonly NumberRange SaveTotalLimit = NumberRange.AtLeast(1);
    public static NumberRange MaxRecordBytes => Data.DataReadOptions.RecordBytesRange;
    public static NumberRange Threads => TorchRuntime.ThreadRange;
    public static NumberRange Streams => TorchRuntime.ThreadRange;

    /// The range of RunConfig property `name`, or null for a setting without one (text, switches, the seed).
    public static NumberRange? For(string name) =>
        typeof(SettingRanges).GetField(name, BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as NumberRange
        ?? typeof(SettingRanges).GetProperty(name, BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as NumberRange;
}
