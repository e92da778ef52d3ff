using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LoraLab.Distributed;

/// The address of a tensor's first element (libtorch's `data_ptr()`, storage offset included), for handing buffers
/// to MPI and NCCL without a copy. Read through TorchSharp's own native export, THSTensor_data, which TorchSharp's
/// managed API does not expose.
static unsafe class TensorAddress
{
    static delegate* unmanaged<nint, nint> _data;

    public static nint Of(Tensor t)
    {
        if (_data is null)
        {
            var lib = NativeLibrary.Load("libLibTorchSharp.so", typeof(TensorAddress).Assembly, null);
            _data = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(lib, "THSTensor_data");
        }
        nint p = _data(t.Handle);
        if (p == 0 && t.numel() > 0) throw new InvalidOperationException("libtorch gave no data address for a non-empty tensor");
        return p;
    }
}
