using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LoraLab.Distributed;

/// Gradient sums between GPUs through NCCL's C API (libnccl.so.2), one GPU per local rank, bootstrapped over MPI:
/// rank 0 makes the communicator's unique id and MPI broadcasts it. The all-reduce is queued on the default CUDA
/// stream, the one libtorch's kernels run on, so it is ordered after the backward pass that made the gradients.
/// Untested here: the machines this was written on have no GPU (README, "Training on several processes").
sealed unsafe partial class NcclAllReduce : IDisposable
{
    const string Lib = "libnccl.so.2";
    const int NcclFloat32 = 7, NcclSum = 0;

    [StructLayout(LayoutKind.Sequential)]
    struct UniqueId { public fixed byte Bytes[128]; }

    readonly nint _comm;

    NcclAllReduce(nint comm) => _comm = comm;

    /// NCCL when every rank is on CUDA with libnccl, or null (gradients then travel through the host and MPI).
    /// Collective: every rank calls it, whatever its device.
    public static NcclAllReduce? TryCreate(MpiCollectives world, Device device)
    {
        bool cuda = device.type == TorchSharp.DeviceType.CUDA;
        bool here = cuda && NativeLibrary.TryLoad(Lib, typeof(NcclAllReduce).Assembly, null, out _);
        var votes = new[] { here ? 1.0 : 0.0 };
        world.Sum(votes, "agreeing on NCCL");
        if (votes[0] < world.Size)
        {
            if (cuda && world.Rank == 0) Console.Error.WriteLine($"note: {world.Size - (int)votes[0]} rank(s) cannot use {Lib}; CUDA gradients are summed through the host over MPI");
            return null;
        }
        // NCCL binds a communicator to the calling thread's current CUDA device, which libtorch leaves at 0.
        SetDevice(device.index);
        UniqueId uid;
        var id = new byte[128];
        if (world.Rank == 0)
        {
            Check(ncclGetUniqueId(&uid), "making the NCCL id");
            new ReadOnlySpan<byte>(uid.Bytes, 128).CopyTo(id);
        }
        using (var shared = tensor(id))
        {
            world.Broadcast(shared, "sharing the NCCL id", watched: false); // ranks are still joining
            shared.data<byte>().ToArray().CopyTo(new Span<byte>(uid.Bytes, 128));
        }
        nint comm;
        Check(ncclCommInitRank(&comm, world.Size, uid, world.Rank), $"joining NCCL on {device}");
        return new NcclAllReduce(comm);
    }

    /// Sums a contiguous float32 CUDA tensor over every rank in place, and waits for it (so a stalled peer is seen
    /// by the watchdog around this call, not by some later read).
    public void SumInPlace(Tensor flat)
    {
        nint p = TensorAddress.Of(flat);
        SetDevice(flat.device_index);
        Check(ncclAllReduce(p, p, (nuint)flat.numel(), NcclFloat32, NcclSum, _comm, 0), "summing gradients over NCCL");
        using var head = flat.narrow(0, 0, 1);
        using var first = head.cpu(); // a device-to-host copy on the same stream: returns once the sum is done
    }

    static void Check(int rc, string during)
    {
        if (rc != 0) throw new UserException($"{during} failed: {Marshal.PtrToStringAnsi(ncclGetErrorString(rc))} (NCCL error {rc})");
    }

    public void Dispose() => ncclCommDestroy(_comm);

    static delegate* unmanaged<int, int> _setDevice;

    /// cudaSetDevice from the CUDA runtime libtorch loaded (looked up once: it runs before every sum).
    static void SetDevice(int index)
    {
        if (_setDevice is null)
        {
            foreach (var name in new[] { "libcudart.so.12", "libcudart.so.13", "libcudart.so" })
                if (NativeLibrary.TryLoad(name, out var lib) && NativeLibrary.TryGetExport(lib, "cudaSetDevice", out var fn))
                {
                    _setDevice = (delegate* unmanaged<int, int>)fn;
                    break;
                }
            if (_setDevice is null) throw new UserException("NCCL needs the CUDA runtime (libcudart.so), which was not found");
        }
        int rc = _setDevice(Math.Max(0, index));
        if (rc != 0) throw new UserException($"cudaSetDevice({index}) failed (CUDA error {rc})");
    }

    [LibraryImport(Lib)] private static partial int ncclGetUniqueId(UniqueId* id);
    [LibraryImport(Lib)] private static partial int ncclCommInitRank(nint* comm, int ranks, UniqueId id, int rank);
    [LibraryImport(Lib)] private static partial int ncclAllReduce(nint send, nint recv, nuint count, int type, int op, nint comm, nint stream);
    [LibraryImport(Lib)] private static partial int ncclCommDestroy(nint comm);
    [LibraryImport(Lib)] private static partial nint ncclGetErrorString(int result);
}
