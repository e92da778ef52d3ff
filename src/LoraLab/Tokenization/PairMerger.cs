namespace LoraLab.Tokenization;

/// One symbol of a word being merged. Symbols form a doubly linked list over a flat list, so a merge is O(1).
internal struct MergeSymbol
{
    public int Id;
    /// Span of the symbol in the text being merged (used by rules that look pieces up by their text).
    public int Start;
    public int Length;
    public int Prev;
    public int Next;
    /// Bumped on every merge into this symbol; -1 once merged away. Lets stale heap entries be recognised.
    public int Version;
    /// Frozen symbols (SentencePiece user-defined pieces) never merge.
    public bool Frozen;
}

/// Decides whether two adjacent symbols merge; lower priority merges first.
internal interface IMergeRule
{
    bool TryMerge(in MergeSymbol left, in MergeSymbol right, out float priority, out int mergedId);
}

/// Byte-pair merging as SentencePiece and Hugging Face tokenizers both do it: repeatedly merge the adjacent
/// pair with the lowest priority, the leftmost one among equal priorities. A heap of candidate pairs keeps a
/// word of n symbols at O(n log n); entries made stale by earlier merges are skipped when popped.
internal static class PairMerger
{
    readonly record struct Candidate(int Left, int Right, int LeftVersion, int RightVersion, int MergedId);

    /// Merges `symbols` in place (linked by `Link`). The survivors are then reached from index 0 through `Next`.
    public static void Merge<TRule>(List<MergeSymbol> symbols, TRule rule) where TRule : IMergeRule
    {
        if (symbols.Count == 0) return;
        var queue = new PriorityQueue<Candidate, (float Priority, int Position)>(symbols.Count);
        for (int i = 0; i + 1 < symbols.Count; i++) TryAdd(symbols, rule, queue, i, i + 1);

        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);
        while (queue.TryDequeue(out var c, out _))
        {
            ref var left = ref span[c.Left];
            ref var right = ref span[c.Right];
            if (left.Version != c.LeftVersion || right.Version != c.RightVersion || left.Next != c.Right) continue;

            left.Id = c.MergedId;
            left.Length += right.Length;
            left.Next = right.Next;
            left.Version++;
            right.Version = -1;
            if (left.Next >= 0) span[left.Next].Prev = c.Left;
            if (left.Prev >= 0) TryAdd(symbols, rule, queue, left.Prev, c.Left);
            if (left.Next >= 0) TryAdd(symbols, rule, queue, c.Left, left.Next);
        }
    }

    /// Links freshly appended symbols into a list (Prev/Next by position).
    public static void Link(List<MergeSymbol> symbols)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);
        for (int i = 0; i < span.Length; i++)
        {
            span[i].Prev = i - 1;
            span[i].Next = i + 1 < span.Length ? i + 1 : -1;
            span[i].Version = 0;
        }
    }

    static void TryAdd<TRule>(List<MergeSymbol> symbols, TRule rule,
        PriorityQueue<Candidate, (float, int)> queue, int l, int r) where TRule : IMergeRule
    {
        var left = symbols[l];
        var right = symbols[r];
        if (left.Frozen || right.Frozen) return;
        if (rule.TryMerge(left, right, out var priority, out var merged))
            queue.Enqueue(new Candidate(l, r, left.Version, right.Version, merged), (priority, l));
    }
}
