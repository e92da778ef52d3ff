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
        var json = Path.Combine(modelDir, "tokenizer.json");
        if (File.Exists(json)) return HfJsonTokenizer.Load(json, settings);
        var model = Path.Combine(modelDir, "tokenizer.model");
        if (File.Exists(model)) return SentencePieceBpeTokenizer.Load(model, settings);
        throw new UserException($"no tokenizer in {modelDir}: expected tokenizer.json (Hugging Face) or tokenizer.model (SentencePiece)");
    }
}
