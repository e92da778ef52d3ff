using LoraLab.Runtime;
using LoraLab.Tokenization;
using TorchSharp;

namespace LoraLab.Data;

/// Collates examples (or packed rows) into a <see cref="Batch"/>, right-padded to the longest row.
/// Padding is masked by labels (Ignore), not by the pad id, so a pad id equal to EOS is harmless.
public sealed class Batcher
{
    public int PadId { get; }

    public Batcher(int padId) => PadId = padId;

    /// Pads with the tokenizer's pad token, or EOS when it has none (common for Llama models).
    public static Batcher For(ITokenizer tokenizer) => new(PadIdFor(tokenizer));

    /// The id batches are padded with: the tokenizer's pad token, else EOS (the preference loader pads by this too).
    public static int PadIdFor(ITokenizer tokenizer) =>
        tokenizer.PadId ?? tokenizer.EosId ?? throw new UserException("the tokenizer has neither a pad nor an EOS token to pad batches with");

    public Batch Collate(IReadOnlyList<TokenizedExample> examples) =>
        Collate(examples.Select(e => (e.InputIds, e.Labels, (int[]?)null, (int[]?)null)).ToList(), packed: false);

    public Batch Collate(IReadOnlyList<PackedRow> rows) =>
        Collate(rows.Select(r => (r.InputIds, r.Labels, (int[]?)r.PositionIds, (int[]?)r.DocumentIds)).ToList(), packed: true);

    /// What a batch of these rows counts: target tokens (labels other than Ignore after each row's first position, the
    /// predictions the loss averages over) and tokens (the rows' lengths, padding excluded).
    public static (int Targets, int Tokens) Count(IEnumerable<(int[] Ids, int[] Labels)> rows)
    {
        int targets = 0, tokens = 0;
        foreach (var (ids, labels) in rows)
        {
            tokens += ids.Length;
            for (int i = 1; i < labels.Length; i++) if (labels[i] != Labels.Ignore) targets++;
        }
        return (targets, tokens);
    }

    Batch Collate(List<(int[] Ids, int[] Labels, int[]? Positions, int[]? Documents)> rows, bool packed)
    {
        if (rows.Count == 0) throw new ArgumentException("cannot collate an empty batch", nameof(rows));
        int b = rows.Count, t = rows.Max(r => r.Ids.Length);
        var ids = new long[b * t];
        var labels = new long[b * t];
        var positions = new long[b * t];
        var documents = packed ? new long[b * t] : null;
        for (int r = 0; r < b; r++)
        {
            var row = rows[r];
            if (row.Labels.Length != row.Ids.Length)
                throw new ArgumentException($"row {r}: {row.Ids.Length} ids but {row.Labels.Length} labels");
            for (int i = 0; i < t; i++)
            {
                int k = r * t + i;
                bool real = i < row.Ids.Length;
                ids[k] = real ? row.Ids[i] : PadId;
                labels[k] = real ? row.Labels[i] : Labels.Ignore;
                positions[k] = !real ? 0 : row.Positions?[i] ?? i;
                if (documents is not null) documents[k] = real ? row.Documents![i] : -1;
            }
        }
        var (targets, tokens) = Count(rows.Select(r => (r.Ids, r.Labels)));
        TorchRuntime.EnsureLoaded();
        var shape = new long[] { b, t };
        return new Batch(
            torch.tensor(ids, shape), torch.tensor(labels, shape), torch.tensor(positions, shape),
            documents is null ? null : torch.tensor(documents, shape), targets, tokens);
    }
}
