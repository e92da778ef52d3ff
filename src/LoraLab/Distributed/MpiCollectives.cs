using static LoraLab.Distributed.MpiLibrary;
using static TorchSharp.torch;

namespace LoraLab.Distributed;

/// The ranks of an `mpirun` job (MPI_COMM_WORLD), over Open MPI. CPU tensors travel through MPI; CUDA tensors
/// through NCCL when libnccl is present (one GPU per local rank), otherwise through the host. Every exchange is
/// watched (CollectiveWatchdog), and MPI errors return instead of aborting, so a lost rank ends the job with a message
/// that says what this rank was doing.
public sealed unsafe class MpiCollectives : ICollectives
{
    const int MaxCount = 1 << 30; // MPI counts are int: larger buffers go in pieces
    const string Starting = "starting MPI";

    readonly CollectiveWatchdog _watchdog;
    readonly NcclAllReduce? _nccl;
    readonly Func<string> _context;

    public int Rank { get; }
    public int Size { get; }
    public string Backend => _nccl is null ? "mpi" : "nccl";

    MpiCollectives(int rank, int size, TimeSpan timeout, Func<string> context, Device device)
    {
        Rank = rank; Size = size; _context = context;
        _watchdog = new CollectiveWatchdog(timeout, context);
        _nccl = NcclAllReduce.TryCreate(this, device); // every rank votes, whatever its device, so all make the same calls
    }

    /// Starts MPI in this process (once) and joins the job's world. `context` names this rank (and the last
    /// checkpoint) in messages; `device` is where the gradients live (CUDA: NCCL when available).
    public static MpiCollectives Join(TimeSpan timeout, Device device, Func<string> context)
    {
        Load();
        int flag = 0;
        Check(MPI_Initialized(&flag), Starting, context);
        if (flag == 0)
        {
            int provided = 0;
            // Serialized: the training thread makes every call, but the one thread that calls MPI may change (tests).
            Check(MPI_Init_thread(0, 0, ThreadSerialized, &provided), Starting, context);
            if (provided < ThreadSerialized)
                throw new UserException($"{context()}: this Open MPI gives thread level {provided}, and training needs MPI_THREAD_SERIALIZED ({ThreadSerialized})");
        }
        Check(MPI_Comm_set_errhandler(CommWorld, ErrorsReturn), Starting, context);
        int rank = 0, size = 0;
        Check(MPI_Comm_rank(CommWorld, &rank), Starting, context);
        Check(MPI_Comm_size(CommWorld, &size), Starting, context);
        return new MpiCollectives(rank, size, timeout, context, device);
    }

    public void SumInPlace(Tensor flat, string during)
    {
        RequireContiguous(flat, ScalarType.Float32);
        if (flat.device_type == TorchSharp.DeviceType.CUDA)
        {
            if (_nccl is not null)
            {
                using (_watchdog.Watch(during)) _nccl.SumInPlace(flat);
                return;
            }
            using var host = flat.cpu();
            SumInPlace(host, during);
            flat.copy_(host);
            return;
        }
        nint p = TensorAddress.Of(flat);
        using var _ = _watchdog.Watch(during);
        for (long done = 0, n = flat.numel(); done < n; done += MaxCount)
        {
            int count = (int)Math.Min(MaxCount, n - done);
            Check(MPI_Allreduce(InPlaceBuffer, p + (nint)(done * sizeof(float)), count, MpiFloat, OpSum, CommWorld), during, _context);
        }
    }

    public void Sum(double[] values, string during)
    {
        using var _ = _watchdog.Watch(during);
        fixed (double* p = values)
            Check(MPI_Allreduce(InPlaceBuffer, (nint)p, values.Length, MpiDouble, OpSum, CommWorld), during, _context);
    }

    public byte[][] Gather(byte[] mine, string during, bool watched = true)
    {
        var all = new byte[mine.Length * Size];
        using (watched ? _watchdog.Watch(during) : default(CollectiveWatchdog.Guard?))
            fixed (byte* s = mine)
            fixed (byte* r = all)
                Check(MPI_Allgather((nint)s, mine.Length, MpiByte, (nint)r, mine.Length, MpiByte, CommWorld), during, _context);
        return Enumerable.Range(0, Size).Select(i => all.AsSpan(i * mine.Length, mine.Length).ToArray()).ToArray();
    }

    public void Broadcast(Tensor t, string during, bool watched = true)
    {
        RequireContiguous(t, null);
        if (t.device_type == TorchSharp.DeviceType.CUDA)
        {
            using var host = t.cpu();
            Broadcast(host, during, watched);
            t.copy_(host);
            return;
        }
        long bytes = t.numel() * t.element_size();
        if (bytes == 0) return;
        nint p = TensorAddress.Of(t);
        using var _ = watched ? _watchdog.Watch(during) : default(CollectiveWatchdog.Guard?);
        for (long done = 0; done < bytes; done += MaxCount)
            Check(MPI_Bcast(p + (nint)done, (int)Math.Min(MaxCount, bytes - done), MpiByte, 0, CommWorld), during, _context);
    }

    static void RequireContiguous(Tensor t, ScalarType? dtype)
    {
        if (!t.is_contiguous() || (dtype is { } d && t.dtype != d))
            throw new ArgumentException($"collectives take contiguous {(dtype is null ? "" : dtype + " ")}tensors, got {t.dtype} {(t.is_contiguous() ? "" : "strided")}");
    }

    static void Check(int rc, string during, Func<string> context)
    {
        if (rc != Success)
            throw new UserException(during == Starting ? $"{context()}: starting MPI failed: {ErrorText(rc)}"
                : $"{context()}: the exchange between ranks {during} failed: {ErrorText(rc)}; another rank has probably ended (its own error, or mpirun's, says why)");
    }

    /// Ends MPI after a run every rank finished; a failed run leaves it to mpirun, which ends the job when a rank
    /// exits without finalizing (finalizing would wait for ranks that are gone).
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _watchdog.Dispose();
        _nccl?.Dispose();
    }

    bool _disposed;

    public void Finish()
    {
        Dispose();
        int done = 0;
        if (MPI_Finalized(&done) == Success && done == 0) MPI_Finalize();
    }
}
