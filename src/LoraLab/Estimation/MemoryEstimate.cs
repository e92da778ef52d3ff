namespace LoraLab.Estimation;

/// Predicted peak memory of a training step, by part, in bytes.
public sealed record MemoryEstimate
{
    /// Base weights as stored (dense parts in the compute dtype; packed codes for quantized projections).
    public required long Weights { get; init; }
    /// Quantization block constants (absmax codes and scales).
    public required long QuantConstants { get; init; }
    /// LoRA A and B (float32).
    public required long Adapter { get; init; }
    public required long Gradients { get; init; }
    /// AdamW's two moments per trainable value (GaLore: projected moments and projections for the decoder projections).
    public required long OptimizerState { get; init; }
    /// What autograd keeps from the forward pass for backward, plus the head's loss buffers.
    public required long Activations { get; init; }
    /// CPU only: the .NET runtime, libtorch and MKL resident at start-up.
    public required long Runtime { get; init; }
    /// CPU only: freed temporaries the C allocator keeps mapped (see MemoryEstimator.AllocatorSlack).
    public required long AllocatorSlack { get; init; }

    /// Backward frees each layer's activations as it creates that layer's gradients, so the two peak at different
    /// moments: the step's peak holds the larger of them (the head's gradient buffer is counted with activations).
    public long Total => Weights + QuantConstants + Adapter + OptimizerState + Math.Max(Activations, Gradients) + Runtime + AllocatorSlack;

    public IEnumerable<(string Part, long Bytes)> Parts() => new[]
    {
        ("weights", Weights), ("quantization constants", QuantConstants), ("adapter", Adapter), ("gradients", Gradients),
        ("optimizer state", OptimizerState), ("activations", Activations), ("runtime", Runtime), ("allocator slack", AllocatorSlack),
    };
}
