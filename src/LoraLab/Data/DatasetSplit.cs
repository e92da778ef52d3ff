namespace LoraLab.Data;

/// Splits items into training and validation sets by seed, reproducibly; each side keeps the data order.
public static class DatasetSplit
{
    public static (IReadOnlyList<T> Train, IReadOnlyList<T> Validation) Split<T>(IReadOnlyList<T> items, double valFraction, int seed)
    {
        if (valFraction is < 0 or >= 1 || double.IsNaN(valFraction))
            throw new UserException($"validation fraction must be in [0, 1), got {valFraction}");
        int n = items.Count;
        // At least one validation item when any was asked for, and at least one training item always.
        int val = valFraction == 0 ? 0 : Math.Clamp((int)Math.Round(n * valFraction), 1, n - 1);
        if (valFraction > 0 && n < 2)
            throw new UserException($"cannot hold out a validation set from {n} example(s)");
        var order = SeededShuffle.Permutation(n, seed);
        var isVal = new bool[n];
        foreach (var i in order.Take(val)) isVal[i] = true;
        var train = new List<T>(n - val);
        var validation = new List<T>(val);
        for (int i = 0; i < n; i++) (isVal[i] ? validation : train).Add(items[i]);
        return (train, validation);
    }
}
