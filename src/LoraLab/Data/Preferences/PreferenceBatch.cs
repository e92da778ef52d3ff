using static TorchSharp.torch;

namespace LoraLab.Data.Preferences;

/// A micro-batch of n preference pairs as (2n, T) int64 tensors: rows 0..n-1 are prompt + chosen, rows n..2n-1
/// prompt + rejected, pair i in row i and row n + i; right padded. Labels hold the token id at completion positions
/// (EOS included) and <see cref="Labels.Ignore"/> at prompt and padding positions, HF's convention (logits at i
/// predict labels[i + 1]), so a completion's log-probability is the sum over its labelled positions.
public sealed class PreferenceBatch : IStepBatch
{
    public Tensor InputIds { get; }
    public Tensor Labels { get; }
    /// Each pair's Index in its set, in row order (length n).
    public int[] PairIndices { get; }
    /// Non-padding tokens of all 2n rows, for throughput figures.
    public int Tokens { get; }

    public PreferenceBatch(Tensor inputIds, Tensor labels, int[] pairIndices, int tokens)
    {
        InputIds = inputIds; Labels = labels; PairIndices = pairIndices; Tokens = tokens;
    }

    public int Pairs => PairIndices.Length;
    /// Preference losses are means over pairs.
    int IStepBatch.Weight => Pairs;

    /// This batch when it is already on `device`; otherwise a copy there, and this one is disposed.
    public PreferenceBatch MoveTo(Device device)
    {
        if (InputIds.device_type == device.type && InputIds.device_index == device.index) return this;
        var moved = new PreferenceBatch(InputIds.to(device), Labels.to(device), PairIndices, Tokens);
        Dispose();
        return moved;
    }

    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
    }
}
