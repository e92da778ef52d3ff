namespace LoraLab.Training;

/// Dynamic loss scaling for fp16 compute (`--precision fp16-mixed`): the loss is multiplied by a large scale so
/// small fp16 gradients don't flush to zero; gradients are divided back before clipping. A step whose gradients
/// overflow is skipped and the scale halved; after `GrowthInterval` good steps the scale doubles.
public sealed class LossScaler
{
    public double Scale { get; private set; }
    public int GrowthInterval { get; }
    public int SkippedSteps { get; private set; }
    int _goodSteps;

    public LossScaler(double initialScale = 65536, int growthInterval = 2000)
    {
        Scale = initialScale;
        GrowthInterval = growthInterval;
    }

    /// Records whether the unscaled gradients were finite; returns whether the optimizer step may run.
    public bool Update(bool finite)
    {
        if (!finite)
        {
            Scale = Math.Max(1, Scale / 2);
            _goodSteps = 0;
            SkippedSteps++;
            return false;
        }
        if (++_goodSteps >= GrowthInterval) { Scale *= 2; _goodSteps = 0; }
        return true;
    }
}
