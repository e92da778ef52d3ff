using System.Security.Cryptography;
using System.Text;
using LoraLab.Configuration;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace LoraLab.Distributed;

/// Data-parallel training over the ranks of an `mpirun` job. Every rank holds the whole model and trains its share
/// of each micro-batch's rows; after the window's backward passes one exchange sums every trainable gradient (one
/// flattened buffer), the window's loss sum and the ranks' interrupt flags, so each rank takes the same update as one
/// process with the whole batch would. The run's settings mean the same on any number of ranks (--batch-size and
/// --micro-batch-size are the whole job's), so a checkpoint resumes on any rank count. Rank 0 alone writes.
public sealed class DataParallel : IDisposable
{
    readonly ICollectives _c;
    readonly CancellationTokenSource _agreedStop = new();
    CancellationToken _localStop;
    Tensor? _flat;

    public DataParallel(ICollectives collectives) => _c = collectives;

    public int Rank => _c.Rank;
    public int Size => _c.Size;
    /// Rank 0: the one that writes checkpoints, metrics, progress and the final weights.
    public bool IsMain => _c.Rank == 0;
    public string Backend => _c.Backend;
    /// The run's newest checkpoint (written by rank 0), named when the job ends early.
    public string? LastCheckpoint { get; set; }
    /// Optimizer steps taken (the Trainer sets where a resumed run starts), for messages.
    public int StepsTaken { get; set; }

    /// Joins the `mpirun` job a run with --distributed mpi was started in. Null when the run is not distributed, or
    /// when no launcher started it (then it trains alone, and `note` says so).
    public static DataParallel? Join(RunConfig c, Action<string> note)
    {
        if (c.Distributed != DistributedMode.Mpi) return null;
        if (MpiLaunch.FromEnvironment() is null)
        {
            if (MpiLaunch.OtherLauncher() is { } variable)
                throw new UserException($"--distributed mpi: this process was started by an MPI launcher other than Open MPI's ({variable} is set, OMPI_COMM_WORLD_RANK is not); " +
                                        $"LoraLab binds Open MPI only: start it with Open MPI's mpirun ({DistributedSupport.InstallCommand})");
            note("note: --distributed mpi, but this process was not started by mpirun, so it trains alone; start every rank with `mpirun -np N loralab train ...`");
            return null;
        }
        DataParallel? dp = null;
        var world = MpiCollectives.Join(TimeSpan.FromSeconds(c.DistributedTimeout), Training.RunSetup.Device(c), () => dp?.Describe() ?? "MPI");
        dp = new DataParallel(world);
        return dp;
    }

    /// "rank R of N" and the last checkpoint, for messages.
    public string Describe() => $"rank {Rank} of {Size}" + (LastCheckpoint is null ? "" : $" (the last checkpoint is {LastCheckpoint})");

    /// A token every rank cancels after the same step: each rank's `local` interrupt travels with the step's
    /// gradients, and when any rank was interrupted they all stop once that step is taken.
    public CancellationToken AgreedStop(CancellationToken local)
    {
        _localStop = local;
        return _agreedStop.Token;
    }

    /// Sums the trainable gradients, the window's loss sum (this rank's part, a scalar tensor, or null) and the
    /// interrupt flags over the ranks, in one buffer laid out [gradients..., loss sum, stop, has-gradient per tensor].
    /// Afterwards each `.grad` is a view of the summed buffer, or null where no rank had one (as one process would
    /// leave it, so the optimizer skips it); returns the job's loss sum.
    public double SumGradients(IReadOnlyList<Parameter> trainable, Tensor? lossSum)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long n = trainable.Sum(p => p.numel());
        long size = n + 2 + trainable.Count;
        var device = trainable[0].device;
        if (_flat is null || _flat.numel() != size || _flat.device_type != device.type)
        {
            _flat?.Dispose();
            _flat = zeros(size, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
        }
        var tail = _flat.narrow(0, n, 2 + trainable.Count);
        var flags = new float[2 + trainable.Count];
        flags[1] = _localStop.IsCancellationRequested ? 1 : 0;
        long at = 0;
        for (int i = 0; i < trainable.Count; i++)
        {
            var p = trainable[i];
            var part = _flat.narrow(0, at, p.numel()).view(p.shape);
            if (p.grad is { } g) { part.copy_(g); flags[2 + i] = 1; }
            else part.zero_();
            at += p.numel();
        }
        tail.copy_(tensor(flags));
        if (lossSum is not null) tail[0].copy_(lossSum);
        _c.SumInPlace(_flat, $"summing the gradients of step {++StepsTaken}");
        var sums = tail.cpu().data<float>().ToArray();
        at = 0;
        for (int i = 0; i < trainable.Count; i++)
        {
            var p = trainable[i];
            var summed = _flat.narrow(0, at, p.numel()).view(p.shape);
            // .grad holds its own reference to the view (the wrapper goes with the scope); a weight stored in another
            // dtype than fp32 gets its gradient back in its own dtype.
            p.grad = sums[2 + i] == 0 ? null : p.dtype == ScalarType.Float32 ? summed : summed.to(p.dtype);
            at += p.numel();
        }
        if (sums[1] > 0) _agreedStop.Cancel();
        return sums[0];
    }

    /// Rank 0's text on every rank (what it decided alone: the checkpoint a resume starts from). Unwatched: the other
    /// ranks wait here while rank 0 checks and prepares its output folder.
    public string? FromMain(string? text)
    {
        var bytes = Encoding.UTF8.GetBytes(text ?? "");
        using var length = tensor(new long[] { text is null ? -1 : bytes.Length });
        _c.Broadcast(length, "sharing rank 0's decision", watched: false);
        long n = length.item<long>();
        if (n < 0) return null;
        using var data = IsMain ? tensor(bytes) : zeros(n, dtype: ScalarType.Byte);
        _c.Broadcast(data, "sharing rank 0's decision", watched: false);
        return IsMain ? text : Encoding.UTF8.GetString(data.data<byte>().ToArray());
    }

    /// A sum and a count over the ranks (a validation loss).
    public (double Sum, long Count) Sum(double sum, long count, string during)
    {
        var values = new[] { sum, count };
        _c.Sum(values, during);
        return (values[0], (long)Math.Round(values[1]));
    }

    /// Every rank takes rank 0's values of the trainable weights, so all start from one initialisation (and one checkpoint).
    public void Align(IReadOnlyList<Parameter> trainable)
    {
        using var _ = no_grad();
        foreach (var p in trainable)
        {
            if (p.is_contiguous()) { _c.Broadcast(p, "sharing rank 0's initial weights"); continue; }
            using var c = p.contiguous();
            _c.Broadcast(c, "sharing rank 0's initial weights");
            p.copy_(c);
        }
    }

    /// Refuses to train unless every rank has the same of each item (config, base model, data) as rank 0; every rank
    /// sees every digest, so all stop together with the same message.
    public void CheckSameRun(IReadOnlyList<(string What, byte[] Digest)> items)
    {
        var mine = items.SelectMany(i => i.Digest).ToArray();
        var all = _c.Gather(mine, "comparing the ranks' runs before step 1", watched: false); // ranks load at their own pace
        var differ = new List<string>();
        for (int r = 1; r < Size; r++)
        {
            int at = 0;
            foreach (var (what, digest) in items)
            {
                if (!all[r].AsSpan(at, digest.Length).SequenceEqual(all[0].AsSpan(at, digest.Length))) differ.Add($"rank {r}'s {what}");
                at += digest.Length;
            }
        }
        if (differ.Count > 0)
            throw new UserException($"{Describe()}: the ranks are not training the same run, these differ from rank 0's: {string.Join(", ", differ)}; " +
                                    "start every rank with the same flags and config, and the same model and data files");
    }

    public static byte[] Digest(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));

    /// The settings each rank may set for itself: how one process computes (threads, streams, its wait limit) and
    /// what rank 0 alone writes. Every other setting must agree, since it decides what is learned or which exchanges
    /// the ranks make (--eval-every is one).
    static readonly IRunSetting[] PerRank = [RunSettings.Threads, RunSettings.Streams, RunSettings.DistributedTimeout, RunSettings.Out,
        RunSettings.SaveEvery, RunSettings.SaveTotalLimit, RunSettings.LogEvery, RunSettings.StopRatePrompts];

    /// The settings every rank of a job must agree on, one `key: value` line each. Paths are left out: what they
    /// hold (the base model, the data) is compared instead, so each node may keep its copy where it likes.
    public static string SharedSettings(RunConfig c) =>
        string.Join("\n", RunSettings.All.Where(s => !PerRank.Contains(s) && !s.IsPath).Select(s => $"{s.Key}: {s.Format(s.Get(c))}"));

    /// A digest of token rows (input ids and labels of every example, in order).
    public static byte[] Digest(IEnumerable<(int[] Ids, int[] Labels)> rows)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (ids, labels) in rows)
        {
            hash.AppendData(BitConverter.GetBytes(ids.Length));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids.AsSpan()));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(labels.AsSpan()));
        }
        return hash.GetHashAndReset();
    }

    /// Ends MPI after a run every rank finished.
    public void Finish()
    {
        Dispose();
        if (_c is MpiCollectives mpi) mpi.Finish();
    }

    public void Dispose()
    {
        _flat?.Dispose();
        _flat = null;
        _c.Dispose();
    }
}
