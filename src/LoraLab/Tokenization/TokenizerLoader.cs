namespace LoraLab.Tokenization;

/// Opens the tokenizer of a Hugging Face model folder.
public static class TokenizerLoader
{
    /// Prefers `tokenizer.json` (the fast tokenizer, which the model's authors keep current) over
    /// `tokenizer.model`; `tokenizer_config.json` and `config.json` supply special tokens and the chat template.
    public static ITokenizer Load(string modelDir)
    {
        if (!Directory.Exists(modelDir))
            throw new UserException($"model folder not found: {modelDir} (expected tokenizer.json or tokenizer.model in it)");
        var settings = TokenizerSettings.Read(modelDir);
        var file = SourceFile(modelDir)
            ?? throw new UserException($"no tokenizer in {modelDir}: expected tokenizer.json (Hugging Face) or tokenizer.model (SentencePiece)");
        return Path.GetFileName(file) == "tokenizer.json" ? HfJsonTokenizer.Load(file, settings) : SentencePieceBpeTokenizer.Load(file, settings);
    }

    /// The file Load reads: tokenizer.json, else tokenizer.model; null when the folder has neither.
    public static string? SourceFile(string modelDir) =>
        new[] { "tokenizer.json", "tokenizer.model" }.Select(f => Path.Combine(modelDir, f)).FirstOrDefault(File.Exists);
}
