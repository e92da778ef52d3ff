using LoraLab.Configuration;

namespace LoraLab.Training;

/// Learning rate at each optimizer step: linear warmup from 0, then constant, linear decay or cosine decay
/// to `minLr` at `totalSteps`. A pure function of the step, so a resumed run gets the same rates.
public sealed record LrSchedule(ScheduleKind Kind, double PeakLr, int WarmupSteps, int TotalSteps, double MinLr = 0)
{
    public static LrSchedule Create(ScheduleKind kind, double lr, int totalSteps, int? warmupSteps, double? warmupRatio, double minLr)
    {
        int warmup = warmupSteps ?? (int)Math.Round((warmupRatio ?? 0) * totalSteps);
        return new LrSchedule(kind, lr, Math.Clamp(warmup, 0, totalSteps), totalSteps, minLr);
    }

    /// Rate for optimizer step `step` (1-based: the first update uses At(1)).
    public double At(int step)
    {
        if (WarmupSteps > 0 && step <= WarmupSteps) return PeakLr * step / WarmupSteps;
        if (Kind == ScheduleKind.Constant) return PeakLr;
        int decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        double factor = Kind == ScheduleKind.Linear ? 1 - progress : 0.5 * (1 + Math.Cos(Math.PI * progress));
        return MinLr + (PeakLr - MinLr) * factor;
    }
}
