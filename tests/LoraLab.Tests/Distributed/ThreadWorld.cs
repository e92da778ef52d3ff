using LoraLab.Distributed;
using static TorchSharp.torch;

namespace LoraLab.Tests.Distributed;

/// An in-process job for DataParallel: each rank is a thread, and the collectives meet at a Barrier, every rank
/// leaving its part in a shared slot and reading the others'.
sealed class ThreadWorld(int size)
{
    readonly Barrier _barrier = new(size);
    readonly object?[] _slots = new object?[size];
    public readonly List<string> During = [];

    public ICollectives Rank(int rank) => new Member(this, rank);

    /// Runs `body` as each rank, on its own thread, and returns what each returned (or rethrows what one threw).
    public T[] Run<T>(Func<DataParallel, T> body)
    {
        var results = new T[size];
        var errors = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(r => new Thread(() =>
        {
            try { results[r] = body(new DataParallel(Rank(r))); }
            catch (Exception e) { errors[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (errors.FirstOrDefault(e => e is not null) is { } first) throw new AggregateException(errors.Where(e => e is not null)!);
        return results;
    }

    /// Each rank leaves `mine`, and gets everyone's once all have.
    object?[] Exchange(int rank, object mine, string during)
    {
        if (rank == 0) lock (During) During.Add(during);
        _slots[rank] = mine;
        _barrier.SignalAndWait();
        var all = (object?[])_slots.Clone();
        _barrier.SignalAndWait(); // nobody overwrites a slot before every rank has read them
        return all;
    }

    sealed class Member(ThreadWorld world, int rank) : ICollectives
    {
        public int Rank => rank;
        public int Size => world._slots.Length;
        public string Backend => "threads";

        public void SumInPlace(Tensor flat, string during)
        {
            var all = world.Exchange(rank, flat.data<float>().ToArray(), during);
            var sum = new float[flat.numel()];
            foreach (float[] part in all!) for (int i = 0; i < sum.Length; i++) sum[i] += part[i];
            flat.copy_(tensor(sum));
        }

        public void Sum(double[] values, string during)
        {
            var all = world.Exchange(rank, values.ToArray(), during);
            for (int i = 0; i < values.Length; i++) values[i] = all.Sum(p => ((double[])p!)[i]);
        }

        public byte[][] Gather(byte[] mine, string during, bool watched = true) => world.Exchange(rank, mine, during).Select(p => (byte[])p!).ToArray();

        public void Broadcast(Tensor t, string during, bool watched = true)
        {
            var all = world.Exchange(rank, t.data<float>().ToArray(), during);
            t.copy_(tensor((float[])all[0]!).view(t.shape));
        }

        public void Dispose() { }
    }
}
