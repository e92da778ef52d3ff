namespace LoraLab.Tokenization;

/// What the rest of LoraLab needs from a tokenizer. Implementations must reproduce the reference
/// tokenizer (SentencePiece / Hugging Face tokenizers) id for id.
public interface ITokenizer
{
    /// One more than the highest id, added tokens included.
    int VocabSize { get; }
    /// Ids below this belong to the model file's vocabulary (what ordinary text encodes to); added tokens may
    /// lie past it, up to VocabSize.
    int BaseVocabSize { get; }
    int? BosId { get; }
    int? EosId { get; }
    int? PadId { get; }
    /// Token strings of special tokens (e.g. "<|im_end|>", "<|eot_id|>") to their ids.
    IReadOnlyDictionary<string, int> SpecialTokens { get; }
    /// Added tokens (special or not), matched verbatim in input text.
    IReadOnlyCollection<AddedToken> AddedTokens { get; }
    /// Whether the model's tokenizer config asks for BOS at the start of a sequence.
    bool AddBosByDefault { get; }
    /// Whether the model's tokenizer config asks for EOS at the end of a sequence.
    bool AddEosByDefault { get; }
    /// The Jinja chat template from tokenizer_config.json (or chat_template.jinja), if the model has one.
    string? ChatTemplate { get; }
    /// Encodes text. Special-token strings in the text are matched and mapped to their ids.
    IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false);
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);
    /// The text of one token, for streaming output. A token that holds only part of a multi-byte
    /// character (byte fallback, byte-level BPE) yields U+FFFD here; stream `TokenBytes` through a
    /// `System.Text.Decoder` to get exact text.
    string TokenText(int id);
    /// The UTF-8 bytes one token contributes to decoded text (the dummy-prefix space included).
    byte[] TokenBytes(int id);
}
