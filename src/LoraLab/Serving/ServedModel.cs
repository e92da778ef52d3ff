namespace LoraLab.Serving;

/// A model a client can name: the base or a loaded adapter (vLLM's convention: an adapter is a model whose parent
/// is the base).
public sealed record ServedModel(string Id, string Root, string? Parent, long Created)
{
    /// What a served adapter may be called (by --adapter or /v1/load_lora_adapter): no spaces, line breaks or other
    /// control characters, which would break the startup and log lines that name it.
    public static bool IsName(string name) => name.Length > 0 && !name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    public const string NameRule = "an adapter name must not be empty or hold spaces, line breaks or other control characters";
}
