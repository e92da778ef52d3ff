namespace LoraLab.Data;

/// Packs examples into rows of at most a given length, in order, starting a new row whenever the next
/// example does not fit (greedy, no reordering). Each example keeps its own positions and document id,
/// and its first label is masked: its first token must not be predicted from the previous example.
public static class Packer
{
    public static IReadOnlyList<PackedRow> Pack(IReadOnlyList<TokenizedExample> examples, int maxSeqLength)
    {
        if (maxSeqLength < 1) throw new UserException($"packing length must be positive, got {maxSeqLength}");
        var rows = new List<PackedRow>();
        var current = new List<TokenizedExample>();
        int used = 0;
        foreach (var e in examples)
        {
            if (e.Length > maxSeqLength)
                throw new UserException($"an example of {e.Length} tokens is longer than the packing length {maxSeqLength}; build examples with the same maximum length");
            if (used + e.Length > maxSeqLength) { rows.Add(Row(current)); current.Clear(); used = 0; }
            current.Add(e);
            used += e.Length;
        }
        if (current.Count > 0) rows.Add(Row(current));
        return rows;
    }

    static PackedRow Row(List<TokenizedExample> docs)
    {
        int n = docs.Sum(d => d.Length), at = 0;
        var ids = new int[n];
        var labels = new int[n];
        var positions = new int[n];
        var documents = new int[n];
        for (int d = 0; d < docs.Count; d++)
        {
            var e = docs[d];
            e.InputIds.CopyTo(ids, at);
            e.Labels.CopyTo(labels, at);
            labels[at] = Labels.Ignore;
            for (int i = 0; i < e.Length; i++) { positions[at + i] = i; documents[at + i] = d; }
            at += e.Length;
        }
        return new PackedRow(ids, labels, positions, documents);
    }
}
