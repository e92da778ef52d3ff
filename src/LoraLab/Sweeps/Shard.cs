using LoraLab.Runtime;

namespace LoraLab.Sweeps;

/// `--shard i/n`: this machine's share of a sweep, every n-th run starting at run i, with i counted from 0 (0..n-1),
/// as Kubernetes' JOB_COMPLETION_INDEX and Slurm's SLURM_ARRAY_TASK_ID (with --array=0-(n-1)) count.
public sealed record Shard(int Index, int Count)
{
    public static readonly Shard All = new(0, 1);

    public static Shard Parse(string text, string flag = "--shard")
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var i) || !int.TryParse(parts[1], out var n))
            throw new UserException($"{flag} {text}: expected i/n, e.g. 0/4 (shards are counted from 0)");
        if (n < 1) throw new UserException($"{flag} {text}: the shard count must be at least 1");
        if (i < 0 || i >= n) throw new UserException($"{flag} {text}: the shard index must be 0 to {n - 1} (shards are counted from 0)");
        return new Shard(i, n);
    }

    public IEnumerable<T> Take<T>(IEnumerable<T> runs) => runs.Where((_, k) => k % Count == Index);

    public override string ToString() => $"{Index}/{Count}";
}
