namespace LoraLab.Adapters;

/// Memory of a model's frozen weights before (bf16) and after quantizing the decoder blocks' linear weights.
/// Embeddings, norms, biases and lm_head stay bf16, as in QLoRA (bitsandbytes skips the output head).
public sealed record FrozenWeightBytes(string Scheme, long Bf16Bytes, long QuantizedLinearBytes, long UnquantizedBytes)
{
    public long QuantizedBytes => QuantizedLinearBytes + UnquantizedBytes;
    public double Ratio => Bf16Bytes == 0 ? 0 : (double)QuantizedBytes / Bf16Bytes;
}
