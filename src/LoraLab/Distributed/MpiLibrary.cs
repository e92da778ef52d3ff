using System.Runtime.InteropServices;

namespace LoraLab.Distributed;

/// The few MPI C calls data-parallel training needs, bound by P/Invoke to Open MPI's libmpi (Debian's `openmpi-bin`,
/// and what the MPI Operator's images ship). Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the
/// addresses of exported structs, read from the library once it is loaded. MPI.NET was not used: its NuGet package
/// (1.4.0) is built for Microsoft MPI on Windows only and must be recompiled against the local MPI on Linux.
static unsafe partial class MpiLibrary
{
    const string Lib = "loralab-mpi"; // resolved to the library dlopen'ed below

    public const int ThreadSerialized = 2; // MPI_THREAD_SERIALIZED in every MPI
    public const int Success = 0;
    public const nint InPlaceBuffer = 1; // Open MPI's MPI_IN_PLACE

    static nint _lib;
    public static nint CommWorld, MpiFloat, MpiDouble, MpiByte, OpSum, ErrorsReturn;

    /// Loads libmpi once, RTLD_GLOBAL (Open MPI's plugins resolve their symbols against it), and reads its handles.
    /// Throws a UserException naming the install command when no Open MPI library is found.
    public static void Load()
    {
        if (_lib != 0) return;
        nint h = 0;
        foreach (var name in Candidates())
        {
            h = dlopen(name, RtldNow | RtldGlobal);
            if (h != 0) break;
        }
        if (h == 0)
            throw new UserException($"--distributed mpi: no Open MPI library (libmpi.so.40) was found; install it with `{DistributedSupport.InstallCommand}` " +
                                    "(or set LORALAB_MPI_LIBRARY to its path), and start training under mpirun");
        if (!NativeLibrary.TryGetExport(h, "ompi_mpi_comm_world", out CommWorld))
            throw new UserException("--distributed mpi: the MPI library found is not Open MPI (no ompi_mpi_comm_world); LoraLab binds Open MPI's ABI only — " +
                                    "install `openmpi-bin`, or point LORALAB_MPI_LIBRARY at an Open MPI libmpi.so");
        MpiFloat = NativeLibrary.GetExport(h, "ompi_mpi_float");
        MpiDouble = NativeLibrary.GetExport(h, "ompi_mpi_double");
        MpiByte = NativeLibrary.GetExport(h, "ompi_mpi_byte");
        OpSum = NativeLibrary.GetExport(h, "ompi_mpi_op_sum");
        ErrorsReturn = NativeLibrary.GetExport(h, "ompi_mpi_errors_return");
        _lib = h;
        NativeLibrary.SetDllImportResolver(typeof(MpiLibrary).Assembly, (name, _, _) => name == Lib ? _lib : 0);
    }

    static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("LORALAB_MPI_LIBRARY") is { Length: > 0 } given) yield return given;
        yield return "libmpi.so.40";
        yield return "libmpi.so";
    }

    /// The text of an MPI error code.
    public static string ErrorText(int code)
    {
        var buf = new byte[512];
        int len = 0;
        fixed (byte* p = buf)
            if (MPI_Error_string(code, p, &len) != Success) return $"MPI error {code}";
        return $"{System.Text.Encoding.ASCII.GetString(buf, 0, Math.Clamp(len, 0, buf.Length))} (MPI error {code})";
    }

    const int RtldNow = 2, RtldGlobal = 0x100;
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)] private static partial nint dlopen(string file, int mode);
    /// Ends the process at once, without running managed shutdown (which can block behind a hung MPI call).
    [LibraryImport("libc")] public static partial void _exit(int status);

    [LibraryImport(Lib)] public static partial int MPI_Initialized(int* flag);
    [LibraryImport(Lib)] public static partial int MPI_Finalized(int* flag);
    [LibraryImport(Lib)] public static partial int MPI_Init_thread(nint argc, nint argv, int required, int* provided);
    [LibraryImport(Lib)] public static partial int MPI_Finalize();
    [LibraryImport(Lib)] public static partial int MPI_Comm_rank(nint comm, int* rank);
    [LibraryImport(Lib)] public static partial int MPI_Comm_size(nint comm, int* size);
    [LibraryImport(Lib)] public static partial int MPI_Comm_set_errhandler(nint comm, nint handler);
    [LibraryImport(Lib)] public static partial int MPI_Allreduce(nint send, nint recv, int count, nint type, nint op, nint comm);
    [LibraryImport(Lib)] public static partial int MPI_Bcast(nint buffer, int count, nint type, int root, nint comm);
    [LibraryImport(Lib)] public static partial int MPI_Allgather(nint send, int sendCount, nint sendType, nint recv, int recvCount, nint recvType, nint comm);
    [LibraryImport(Lib)] private static partial int MPI_Error_string(int code, byte* text, int* length);
}
