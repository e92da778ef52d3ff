namespace LoraLab.Adapters;

/// How A is initialised (B always starts at zero, so a fresh adapter leaves the model unchanged).
/// Names follow PEFT's `init_lora_weights`.
public enum LoraInit
{
    /// PEFT's default (`true`): A ~ kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)).
    Kaiming,
    /// PEFT's `"gaussian"`: A ~ N(0, (1/r)^2).
    Gaussian,
}
