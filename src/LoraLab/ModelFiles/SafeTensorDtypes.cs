using static TorchSharp.torch;

namespace LoraLab.ModelFiles;

/// The safetensors dtype names, their element sizes, and their TorchSharp counterparts.
/// Rank follows the reference implementation's dtype order (increasing alignment), which it uses to order tensors on save.
internal static class SafeTensorDtypes
{
    internal sealed record Entry(string Name, int Size, int Rank, ScalarType? Torch);

    static readonly Entry[] All =
    {
        new("BOOL", 1, 0, ScalarType.Bool),
        new("U8", 1, 4, ScalarType.Byte),
        new("I8", 1, 5, ScalarType.Int8),
        new("F8_E5M2", 1, 6, null),   // no fp8 types in TorchSharp 0.107
        new("F8_E4M3", 1, 7, null),
        new("F8_E8M0", 1, 8, null),
        new("I16", 2, 9, ScalarType.Int16),
        new("U16", 2, 10, null),      // unsigned 16/32/64-bit are not TorchSharp scalar types
        new("F16", 2, 11, ScalarType.Float16),
        new("BF16", 2, 12, ScalarType.BFloat16),
        new("I32", 4, 13, ScalarType.Int32),
        new("U32", 4, 14, null),
        new("F32", 4, 15, ScalarType.Float32),
        new("C64", 8, 16, ScalarType.ComplexFloat32),
        new("F64", 8, 17, ScalarType.Float64),
        new("I64", 8, 18, ScalarType.Int64),
        new("U64", 8, 19, null),
    };

    static readonly Dictionary<string, Entry> ByName = All.ToDictionary(e => e.Name, StringComparer.Ordinal);
    static readonly Dictionary<ScalarType, Entry> ByTorch = All.Where(e => e.Torch is not null).ToDictionary(e => e.Torch!.Value);

    /// The entry for a header dtype name (case-sensitive, as the format defines it), or null when unknown.
    public static Entry? Find(string name) => ByName.GetValueOrDefault(name);

    /// The entry for a TorchSharp scalar type, or null when safetensors has no name for it.
    public static Entry? Find(ScalarType type) => ByTorch.GetValueOrDefault(type);

    public static string KnownNames => string.Join(", ", All.Select(e => e.Name));
}
