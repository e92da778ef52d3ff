namespace LoraLab.Data;

/// Several examples laid end to end in one training row. `DocumentIds` says which example each token
/// belongs to (0, 1, ...), so attention can be kept within an example; `PositionIds` restart at 0 for each.
public sealed record PackedRow(int[] InputIds, int[] Labels, int[] PositionIds, int[] DocumentIds)
{
    public int Length => InputIds.Length;
}
