namespace LoraLab.Adapters;

/// How A and B start. Names follow PEFT's `init_lora_weights`. Kaiming and Gaussian leave B at zero, so a fresh adapter
/// changes nothing; PiSSA and OLoRA move part of W into A and B and leave the base the rest (<see cref="PrincipalInit"/>),
/// so W_residual + s·B·A = W and again nothing changes at step 0.
public enum LoraInit
{
    /// PEFT's default (`true`): A ~ kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)).
    Kaiming,
    /// PEFT's `"gaussian"`: A ~ N(0, (1/r)^2).
    Gaussian,
    /// PiSSA (Meng et al. 2024, arXiv:2404.02948), PEFT's `"pissa"`: A, B from W's top-r singular triplets (full SVD).
    Pissa,
    /// PEFT's `"pissa_niter_N"`: PiSSA from a randomized SVD with N subspace iterations (LoraConfig.PissaIterations).
    PissaFast,
    /// OLoRA (Büyükakyüz 2024, arXiv:2406.01775), PEFT's `"olora"`: B = Q[:, :r], A = R[:r] of W's QR decomposition.
    Olora,
}

public static class LoraInits
{
    /// Whether the init changes the base weight (the saved adapter is then converted to the original base).
    public static bool ChangesBase(this LoraInit init) => init is LoraInit.Pissa or LoraInit.PissaFast or LoraInit.Olora;
}
