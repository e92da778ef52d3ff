namespace LoraLab.Tokenization;

/// A token matched verbatim in the input text before any normalization or merging (Hugging Face
/// `added_tokens`, SentencePiece control pieces). `Special` tokens are dropped by `Decode(skipSpecialTokens)`.
/// `LStrip`/`RStrip` let the match swallow whitespace on that side, as in Hugging Face.
public sealed record AddedToken(string Content, int Id, bool Special = true, bool LStrip = false, bool RStrip = false);
