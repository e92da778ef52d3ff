using LoraLab.Configuration;

namespace LoraLab.Training;

/// Learning rate at each optimizer step: linear warmup from 0, then constant, linear decay or cosine decay
/// to `minLr` at `totalSteps`. A pure function of the step, so a resumed run gets the same rates.
///
/// With ReLoRA restarts every `RestartEvery` steps the schedule is jagged (Lialin et al. 2023, Fig. 2): after each
/// restart the rate drops to 0 and climbs linearly back to the underlying schedule over `RestartWarmup` steps.
public sealed record LrSchedule(ScheduleKind Kind, double PeakLr, int WarmupSteps, int TotalSteps, double MinLr = 0,
    int RestartEvery = 0, int RestartWarmup = 0)
{
    public static LrSchedule Create(ScheduleKind kind, double lr, int totalSteps, int? warmupSteps, double? warmupRatio, double minLr,
        int? restartEvery = null)
    {
        int warmup = warmupSteps ?? (int)Math.Round((warmupRatio ?? 0) * totalSteps);
        return new LrSchedule(kind, lr, Math.Clamp(warmup, 0, totalSteps), totalSteps, minLr,
            restartEvery ?? 0, restartEvery is int k ? RestartWarmupFor(k) : 0);
    }

    /// The re-warmup after a ReLoRA restart every `k` steps: the paper's 50 steps (it re-warms over 50–100 of every
    /// 5,000), but at most a quarter of the cycle (rounded up), so that short cycles still train mostly at the schedule's rate.
    public static int RestartWarmupFor(int k) => Math.Clamp((k + 3) / 4, 1, 50);

    /// Rate for optimizer step `step` (1-based: the first update uses At(1)).
    public double At(int step) => Base(step) * RestartFactor(step);

    double Base(int step)
    {
        if (WarmupSteps > 0 && step <= WarmupSteps) return PeakLr * step / WarmupSteps;
        if (Kind == ScheduleKind.Constant) return PeakLr;
        int decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        double factor = Kind == ScheduleKind.Linear ? 1 - progress : 0.5 * (1 + Math.Cos(Math.PI * progress));
        return MinLr + (PeakLr - MinLr) * factor;
    }

    /// 1 before the first restart; after the restart that follows step n·K, step n·K + i (i = 1..K) gets
    /// min(1, i / RestartWarmup).
    double RestartFactor(int step)
    {
        if (RestartEvery <= 0 || step <= RestartEvery || RestartWarmup <= 0) return 1;
        int sinceRestart = (step - 1) % RestartEvery + 1;
        return Math.Min(1.0, (double)sinceRestart / RestartWarmup);
    }
}
