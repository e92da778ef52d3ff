namespace LoraLab.Diagnostics.Profiling;

/// The categories `bench --profile` reports a training step's time in (issue 22, item 5). Other is the time inside no
/// marked region (views, reshapes, the autograd engine's own work, the loss read).
public enum ProfiledOp
{
    Other,
    BaseMatmul,
    AdapterMatmul,
    Attention,
    Cast,
    Norm,
    Activation,
    Residual,
    Rotary,
    Embedding,
    HeadLoss,
    Optimizer,
    Housekeeping,
}

/// Where in the step an operation ran: the optimizer and the heap housekeeping are neither forward nor backward.
public enum StepPhase { Forward, Backward, Step }

public static class ProfiledOps
{
    /// The name a profile row shows (table and JSON).
    public static string Label(this ProfiledOp op) => op switch
    {
        ProfiledOp.BaseMatmul => "matmul (base)",
        ProfiledOp.AdapterMatmul => "matmul (adapters)",
        ProfiledOp.Attention => "attention (SDPA)",
        ProfiledOp.Cast => "casts (dtype conversions)",
        ProfiledOp.Norm => "norms",
        ProfiledOp.Activation => "elementwise: activation",
        ProfiledOp.Residual => "elementwise: residual add",
        ProfiledOp.Rotary => "elementwise: rotary",
        ProfiledOp.Embedding => "embedding",
        ProfiledOp.HeadLoss => "head + loss",
        ProfiledOp.Optimizer => "optimizer (AdamW, clipping, zero grad)",
        ProfiledOp.Housekeeping => "allocator/heap housekeeping",
        _ => "other",
    };

    public static string Label(this StepPhase p) => p switch
    {
        StepPhase.Forward => "forward",
        StepPhase.Backward => "backward",
        _ => "step",
    };
}
