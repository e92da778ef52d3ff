using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace LoraLab.Tokenization;

/// A SentencePiece BPE model (`tokenizer.model` of Llama 2, Mistral, TinyLlama) that reproduces the reference
/// SentencePiece library id for id. Microsoft.ML.Tokenizers supplies the normalization (whitespace escaping,
/// dummy prefix) and the model's special ids; the merge step is done here because the library breaks ties
/// between equal-score pairs differently: SentencePiece merges the highest-score pair, the leftmost on ties.
public sealed class SentencePieceBpeTokenizer : TokenizerBase
{
    readonly SentencePieceTokenizer _library;
    readonly SentencePieceModelFile _model;
    /// Pieces that merging may produce (normal, user-defined, unused), as SentencePiece's `pieces_`.
    readonly Dictionary<string, int> _mergeable = new(StringComparer.Ordinal);
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _mergeableBySpan;
    readonly Dictionary<string, int> _allPieces = new(StringComparer.Ordinal);
    readonly int[] _byteIds = Enumerable.Repeat(-1, 256).ToArray();
    readonly byte[][] _tokenBytes;
    readonly string[] _userDefined;
    readonly bool _hasUnused;
    readonly bool _chunkable;
    // Chunks (roughly words) repeat a lot in real text; the cache spares re-merging them. Cleared when full.
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _chunkCache = new(StringComparer.Ordinal);
    const int CacheCapacity = 50_000, CachedChunkMaxLength = 64;

    public string SourcePath { get; }

    SentencePieceBpeTokenizer(string path, TokenizerSettings settings)
    {
        SourcePath = path;
        var bytes = Runtime.BoundedFile.ReadBytes(path, Runtime.FileLimit.SentencePieceModel);
        _model = SentencePieceModelFile.Read(bytes, path);
        if (!_model.IsBpe)
            throw new UserException($"{path}: only SentencePiece BPE models are supported (model_type is {_model.ModelType}, BPE is 2)");
        _library = SentencePieceTokenizer.Create(new MemoryStream(bytes), false, false);

        _mergeableBySpan = _mergeable.GetAlternateLookup<ReadOnlySpan<char>>();
        _tokenBytes = new byte[_model.Pieces.Length][];
        var added = new List<AddedToken>();
        for (int id = 0; id < _model.Pieces.Length; id++)
        {
            var piece = _model.Pieces[id];
            var type = _model.Types[id];
            _allPieces.TryAdd(piece, id);
            if (type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused) _mergeable.TryAdd(piece, id);
            if (type is PieceType.Control or PieceType.Unknown) added.Add(new AddedToken(piece, id, Special: true));
            _hasUnused |= type == PieceType.Unused;
            _tokenBytes[id] = type switch
            {
                PieceType.Byte when TryParseBytePiece(piece, out var b) => [b],
                PieceType.Control => [],
                _ => Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' ')),
            };
            if (type == PieceType.Byte && TryParseBytePiece(piece, out var value)) _byteIds[value] = id;
        }
        _chunkable = SpaceMarkerChunks.IsSafe(_mergeable.Keys, '\u2581');
        _userDefined = [.. _model.Pieces.Where((p, i) => _model.Types[i] == PieceType.UserDefined).OrderByDescending(p => p.Length)];

        Configure(added, settings, path,
            defaultBos: _library.BeginningOfSentenceId >= 0 ? _library.BeginningOfSentenceId : null,
            defaultEos: _library.EndOfSentenceId >= 0 ? _library.EndOfSentenceId : null,
            defaultPad: _model.PadId, defaultAddBos: true, defaultAddEos: false);
    }

    /// Loads `tokenizer.model`; `settings` (from tokenizer_config.json / config.json) override its defaults.
    public static SentencePieceBpeTokenizer Load(string modelPath, TokenizerSettings? settings = null)
    {
        if (!File.Exists(modelPath)) throw new UserException($"SentencePiece model not found: {modelPath}");
        return new SentencePieceBpeTokenizer(modelPath, settings ?? TokenizerSettings.None);
    }

    public override int BaseVocabSize => _model.Pieces.Length;
    protected override bool StripsLeadingSpace => _library.AddDummyPrefix && !_library.TreatWhitespaceAsSuffix;
    protected override ReadOnlySpan<byte> ModelTokenBytes(int id) => _tokenBytes[id];
    protected override int? ModelTokenToId(string token) => _allPieces.TryGetValue(token, out var id) ? id : null;

    protected override void EncodePlain(string text, bool atTextStart, List<int> output)
    {
        var normalized = _library.Normalizer?.Normalize(text) ?? text;
        if (normalized.Length == 0) return;
        if (!_chunkable) { EncodeNormalized(normalized, output); return; }
        foreach (var (start, length) in SpaceMarkerChunks.Split(normalized, '\u2581'))
        {
            var chunk = start == 0 && length == normalized.Length ? normalized : normalized.Substring(start, length);
            if (length > CachedChunkMaxLength) { EncodeNormalized(chunk, output); continue; }
            if (!_chunkCache.TryGetValue(chunk, out var ids))
            {
                var fresh = new List<int>();
                EncodeNormalized(chunk, fresh);
                if (_chunkCache.Count >= CacheCapacity) _chunkCache.Clear();
                _chunkCache[chunk] = ids = [.. fresh];
            }
            output.AddRange(ids);
        }
    }

    void EncodeNormalized(string normalized, List<int> output)
    {
        // Initial symbols: one per character (a surrogate pair is one), user-defined pieces whole and frozen.
        var symbols = new List<MergeSymbol>(normalized.Length);
        for (int i = 0; i < normalized.Length;)
        {
            int length = char.IsHighSurrogate(normalized[i]) && i + 1 < normalized.Length && char.IsLowSurrogate(normalized[i + 1]) ? 2 : 1;
            bool frozen = false;
            foreach (var ud in _userDefined)
            {
                if (string.CompareOrdinal(normalized, i, ud, 0, ud.Length) == 0) { length = ud.Length; frozen = true; break; }
            }
            symbols.Add(new MergeSymbol { Start = i, Length = length, Frozen = frozen });
            i += length;
        }
        PairMerger.Link(symbols);
        var rule = new ScoreRule(this, normalized, _hasUnused ? new Dictionary<string, (string, string)>() : null);
        PairMerger.Merge(symbols, rule);

        for (int i = 0; i >= 0; i = symbols[i].Next)
            Emit(normalized.Substring(symbols[i].Start, symbols[i].Length), rule.UnusedSplits, output);
    }

    // An unused piece is split back into the two pieces it was merged from (SentencePiece's resegmentation);
    // a piece outside the vocabulary becomes its UTF-8 bytes when the model has byte fallback, else <unk>.
    void Emit(string piece, Dictionary<string, (string Left, string Right)>? unusedSplits, List<int> output)
    {
        if (_mergeable.TryGetValue(piece, out var id))
        {
            if (_model.Types[id] == PieceType.Unused && unusedSplits != null && unusedSplits.TryGetValue(piece, out var split))
            {
                Emit(split.Left, unusedSplits, output);
                Emit(split.Right, unusedSplits, output);
            }
            else output.Add(id);
            return;
        }
        if (_library.ByteFallback)
        {
            foreach (var b in Encoding.UTF8.GetBytes(piece)) output.Add(_byteIds[b] >= 0 ? _byteIds[b] : _library.UnknownId);
            return;
        }
        output.Add(_library.UnknownId);
    }

    static bool TryParseBytePiece(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
    }

    /// SentencePiece's merge order: the pair whose merged piece has the highest score goes first.
    readonly struct ScoreRule(SentencePieceBpeTokenizer owner, string text, Dictionary<string, (string, string)>? unusedSplits) : IMergeRule
    {
        public Dictionary<string, (string Left, string Right)>? UnusedSplits => unusedSplits;

        public bool TryMerge(in MergeSymbol left, in MergeSymbol right, out float priority, out int mergedId)
        {
            priority = 0;
            if (!owner._mergeableBySpan.TryGetValue(text.AsSpan(left.Start, left.Length + right.Length), out mergedId)) return false;
            priority = -owner._model.Scores[mergedId];
            if (unusedSplits != null && owner._model.Types[mergedId] == PieceType.Unused)
                unusedSplits[owner._model.Pieces[mergedId]] = (text.Substring(left.Start, left.Length), text.Substring(right.Start, right.Length));
            return true;
        }
    }
}
