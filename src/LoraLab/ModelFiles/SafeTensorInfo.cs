namespace LoraLab.ModelFiles;

/// One tensor entry of a safetensors header. Begin/End are byte offsets relative to the start of the data buffer.
public sealed record SafeTensorInfo(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}
