using LoraLab.Runtime;
using LoraLab.Tokenization;
using TorchSharp;

namespace LoraLab.Data.Preferences;

/// Yields preference micro-batches in the seeded order <see cref="DataLoader"/> uses (epoch e: SeededShuffle with
/// seed + e), so a run is reproducible and resumes at (epoch, batch) with the batches it would have seen. Each batch
/// holds up to `microBatchPairs` pairs as 2n rows (chosen rows, then rejected rows in the same pair order), right
/// padded to the batch's longest row.
public sealed class PreferenceLoader
{
    readonly IReadOnlyList<TokenizedPair> _pairs;

    public int PadId { get; }
    public int MicroBatchPairs { get; }
    public int Seed { get; }
    public bool Shuffle { get; }

    public PreferenceLoader(IReadOnlyList<TokenizedPair> pairs, int padId, int microBatchPairs, int seed, bool shuffle = true)
    {
        if (pairs.Count == 0) throw new UserException("no preference pairs to train on");
        if (microBatchPairs < 1) throw new UserException($"micro-batch size must be at least 1 pair, got {microBatchPairs}");
        _pairs = pairs;
        PadId = padId;
        MicroBatchPairs = microBatchPairs;
        Seed = seed;
        Shuffle = shuffle;
    }

    /// Pads with the id supervised batches use (<see cref="Batcher.PadIdFor"/>).
    public PreferenceLoader(IReadOnlyList<TokenizedPair> pairs, ITokenizer tokenizer, int microBatchPairs, int seed, bool shuffle = true)
        : this(pairs, Batcher.PadIdFor(tokenizer), microBatchPairs, seed, shuffle) { }

    public int PairCount => _pairs.Count;

    /// Micro-batches per epoch; the last one may be smaller.
    public int BatchesPerEpoch => (_pairs.Count + MicroBatchPairs - 1) / MicroBatchPairs;

    /// The pair order of an epoch (positions in the pair list).
    public int[] Order(int epoch) =>
        Shuffle ? SeededShuffle.Permutation(_pairs.Count, unchecked(Seed + epoch)) : Enumerable.Range(0, _pairs.Count).ToArray();

    /// The batches of one epoch after the first <paramref name="skipBatches"/>. Each batch is the caller's to dispose.
    public IEnumerable<PreferenceBatch> Epoch(int epoch, int skipBatches = 0)
    {
        if (skipBatches < 0 || skipBatches > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(skipBatches), $"epoch has {BatchesPerEpoch} batches, asked to skip {skipBatches}");
        var order = Order(epoch);
        for (int b = skipBatches; b < BatchesPerEpoch; b++)
            yield return Collate(order.Skip(b * MicroBatchPairs).Take(MicroBatchPairs).Select(i => _pairs[i]).ToList());
    }

    /// Pairs as one batch: row i = prompt + chosen of pair i, row n + i = prompt + rejected; labels are the ids of
    /// completion tokens and Ignore at prompt and padding positions.
    public PreferenceBatch Collate(IReadOnlyList<TokenizedPair> pairs)
    {
        if (pairs.Count == 0) throw new ArgumentException("cannot collate an empty batch", nameof(pairs));
        int n = pairs.Count, rows = 2 * n;
        int t = pairs.Max(p => Math.Max(p.ChosenLength, p.RejectedLength));
        var ids = new long[rows * t];
        var labels = new long[rows * t];
        Array.Fill(ids, PadId);
        Array.Fill(labels, Labels.Ignore);
        int tokens = 0;
        for (int i = 0; i < n; i++)
        {
            tokens += Fill(ids, labels, i * t, pairs[i].Prompt, pairs[i].Chosen);
            tokens += Fill(ids, labels, (n + i) * t, pairs[i].Prompt, pairs[i].Rejected);
        }
        TorchRuntime.EnsureLoaded();
        var shape = new long[] { rows, t };
        return new PreferenceBatch(torch.tensor(ids, shape), torch.tensor(labels, shape), pairs.Select(p => p.Index).ToArray(), tokens);
    }

    static int Fill(long[] ids, long[] labels, int at, int[] prompt, int[] completion)
    {
        for (int j = 0; j < prompt.Length; j++) ids[at + j] = prompt[j];
        for (int j = 0; j < completion.Length; j++)
        {
            ids[at + prompt.Length + j] = completion[j];
            labels[at + prompt.Length + j] = completion[j];
        }
        return prompt.Length + completion.Length;
    }
}
