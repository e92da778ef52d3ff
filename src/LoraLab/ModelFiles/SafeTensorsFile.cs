using LoraLab.Runtime;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.ModelFiles;

/// An open safetensors file: its validated header, and tensors read on demand, each straight from disk into
/// the new tensor's memory (only that tensor's bytes are read).
public sealed class SafeTensorsFile : IDisposable
{
    readonly SafeFileHandle _file;
    readonly long _dataStart;
    readonly Dictionary<string, SafeTensorInfo> _tensors;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors => _tensors;
    /// Tensor names in header order.
    public IReadOnlyList<string> Names { get; }
    /// The header's `__metadata__` (empty when absent).
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafeTensorsFile(string path, SafeFileHandle file, SafeTensorsHeader header)
    {
        Path = path;
        _file = file;
        _dataStart = header.DataStart;
        _tensors = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Names = header.Tensors.Select(t => t.Name).ToArray();
        Metadata = header.Metadata;
    }

    /// Opens the file and validates its header fully; no tensor is allocated.
    public static SafeTensorsFile Open(string path)
    {
        SafeFileHandle file;
        try { file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (FileNotFoundException) { throw new UserException($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new UserException($"{path}: file not found"); }
        catch (UnauthorizedAccessException) { throw new UserException($"{path}: cannot be read (permission denied, or it is a folder)"); }
        catch (IOException e) { throw new UserException($"{path}: cannot be opened ({e.Message})"); }
        try
        {
            return new SafeTensorsFile(path, file, SafeTensorsHeader.Read(path, file));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public SafeTensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new UserException($"{Path}: no tensor named '{name}'");

    /// The checks both reads start with: the file is open, libtorch is loaded, the tensor exists and its dtype
    /// has a TorchSharp equivalent.
    (SafeTensorInfo Info, ScalarType Stored) Prepare(string name)
    {
        ObjectDisposedException.ThrowIf(_file.IsClosed, this);
        TorchRuntime.EnsureLoaded();
        var info = Info(name);
        var stored = SafeTensorDtypes.Find(info.Dtype)!.Torch
            ?? throw new UserException($"{Path}: tensor '{name}' has dtype {info.Dtype}, which LoraLab cannot load (no TorchSharp equivalent)");
        return (info, stored);
    }

    /// Reads one tensor. With <paramref name="dtype"/> the values are converted by libtorch (the same
    /// conversions PyTorch does, e.g. BF16/F16 → F32 exactly); with <paramref name="device"/> they are moved there.
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null)
    {
        var (info, stored) = Prepare(name);

        var raw = torch.empty(info.Shape, stored, torch.CPU);
        try
        {
            TensorBytes.ReadInto(Path, _file, _dataStart + info.Begin, raw);
            bool convert = dtype is not null && dtype != stored;
            bool move = device is not null && device.type != DeviceType.CPU;
            if (!convert && !move) return raw;
            using (raw)
                return raw.to(dtype ?? stored, device ?? torch.CPU);
        }
        catch
        {
            raw.Dispose();
            throw;
        }
    }

    /// Reads `count` elements starting at element `start` of a tensor's flattened data, in its stored dtype:
    /// a cheap sample of a large tensor (e.g. for fingerprinting a base model) without reading all of it.
    public Tensor ReadRange(string name, long start, long count)
    {
        var (info, stored) = Prepare(name);
        long n = info.Shape.Aggregate(1L, (a, b) => a * b);
        if (start < 0 || count < 0 || start + count > n)
            throw new ArgumentOutOfRangeException(nameof(count), $"{name}: elements [{start}, {start + count}) are outside its {n} elements");
        var raw = torch.empty(new[] { count }, stored, torch.CPU);
        try { TensorBytes.ReadInto(Path, _file, _dataStart + info.Begin + start * SafeTensorDtypes.Find(info.Dtype)!.Size, raw); return raw; }
        catch { raw.Dispose(); throw; }
    }

    public void Dispose() => _file.Dispose();
}
