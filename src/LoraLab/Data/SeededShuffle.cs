namespace LoraLab.Data;

/// The one shuffle the data pipeline uses: Fisher–Yates driven by `System.Random(seed)`, whose sequence
/// for a given seed is fixed across .NET versions, so orders and splits are reproducible.
static class SeededShuffle
{
    public static int[] Permutation(int count, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        var random = new Random(seed);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
