using System.Runtime.InteropServices;
using System.Text;

namespace LoraLab.Runtime;

/// A kind of small input file and the most bytes LoraLab reads of it. Each cap is far above what a real model
/// folder or run holds, and low enough that a crafted file cannot exhaust memory (a parsed JSON document costs a
/// few times its size).
public sealed record FileLimit(string Kind, long Bytes)
{
    /// config.json, tokenizer_config.json, generation_config.json, adapter_config.json, loralab_adapter.json: real
    /// ones are a few KB; the largest tokenizer_config.json files (long chat templates, a few thousand
    /// added_tokens_decoder entries) stay under 2 MB.
    public static readonly FileLimit JsonConfig = new("JSON config file", 16_000_000);
    /// tokenizer.json holds the whole vocabulary and merge list: ~2 MB for Llama 2, ~9 MB for Llama 3, ~17 MB for
    /// Gemma 2 and ~33 MB for Gemma 3 (262k tokens), the largest we know of; 128 MB leaves room for bigger ones.
    public static readonly FileLimit TokenizerJson = new("tokenizer.json", 128_000_000);
    /// tokenizer.model (SentencePiece protobuf): 0.5 MB for Llama 2, ~4.5 MB for Gemma's 256k pieces.
    public static readonly FileLimit SentencePieceModel = new("SentencePiece model", 64_000_000);
    /// model.safetensors.index.json lists every tensor name once: ~100 KB for a 70B model; a safetensors header's cap.
    public static readonly FileLimit ShardIndex = new("shard index", 100_000_000);
    /// A hand-written YAML run config is a few hundred bytes.
    public static readonly FileLimit RunConfig = new("YAML run config", 1_000_000);
    /// chat_template.jinja: a few KB in real models.
    public static readonly FileLimit ChatTemplate = new("chat template", 1_000_000);
    /// A checkpoint's trainer_state.json is a few kB (mostly the random generator's state).
    public static readonly FileLimit TrainerState = new("trainer state", 1_000_000);

    /// The limit of a file a model folder holds, by name (merge copies these beside the merged weights).
    public static FileLimit ForModelFile(string fileName) => fileName switch
    {
        "tokenizer.json" => TokenizerJson,
        "tokenizer.model" => SentencePieceModel,
        _ => JsonConfig,
    };
}

/// Reads the small input files (configs, tokenizers, run configs) that are parsed whole: the path must name a
/// regular file (a symlink is followed to its target; /dev/zero, a FIFO or a socket is refused before it is
/// opened, since reading one never ends or blocks) no larger than its FileLimit. Every failure is a UserException.
public static class BoundedFile
{
    public static byte[] ReadBytes(string path, FileLimit limit)
    {
        long size = CheckRegularAndSize(path, limit);
        using var stream = Open(path);
        // Read at most one byte past the cap: a file that grew after the check is still refused.
        var buffer = new byte[Math.Min(size, limit.Bytes) + 1];
        int total = 0, n;
        while (total < buffer.Length && (n = stream.Read(buffer, total, buffer.Length - total)) > 0) total += n;
        if (total > limit.Bytes) throw OverLimit(path, total, limit);
        return total == buffer.Length ? buffer : buffer[..total];
    }

    /// The file's text; a byte-order mark selects the encoding as File.ReadAllText does, UTF-8 otherwise.
    public static string ReadText(string path, FileLimit limit)
    {
        using var reader = new StreamReader(new MemoryStream(ReadBytes(path, limit)), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// Copies a small input file after the same checks as reading it.
    public static void Copy(string source, string destination, FileLimit limit, bool overwrite = false)
    {
        CheckRegularAndSize(source, limit);
        File.Copy(source, destination, overwrite);
    }

    /// The file's size, after checking that it is a regular file under the cap.
    public static long CheckRegularAndSize(string path, FileLimit limit)
    {
        var (kind, size) = Stat(path);
        if (kind == null) throw new UserException($"{path}: file not found");
        if (kind != "regular file")
        {
            string target = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName is { } t ? $" ({t})" : "";
            throw new UserException($"{path}: is a {kind}{target}, not a regular file; a {limit.Kind} must be a regular file");
        }
        if (size > limit.Bytes) throw OverLimit(path, size, limit);
        return size;
    }

    static UserException OverLimit(string path, long size, FileLimit limit) =>
        new($"{path}: {Size(size)} is over the {Size(limit.Bytes)} limit for a {limit.Kind}");

    /// "4.2 GB", "16 MB", "900 bytes" (decimal units, as disk sizes are quoted).
    public static string Size(long bytes) => bytes switch
    {
        >= 1_000_000_000 => $"{bytes / 1e9:0.#} GB",
        >= 1_000_000 => $"{bytes / 1e6:0.#} MB",
        >= 1_000 => $"{bytes / 1e3:0.#} KB",
        _ => $"{bytes} bytes",
    };

    static FileStream Open(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (UnauthorizedAccessException) { throw new UserException($"{path}: cannot be read (permission denied)"); }
        catch (IOException e) { throw new UserException($"{path}: cannot be opened ({e.Message})"); }
    }

    /// The file type after following symlinks ("regular file", "directory", "character device", ...; null when
    /// nothing is there) and its size. .NET does not expose the file type (dotnet/runtime#85148), so on Linux
    /// it comes from statx(2), whose struct layout is the same on every architecture. Where statx cannot answer
    /// (no such symbol in an old glibc; EPERM/ENOSYS from a container's seccomp filter; EACCES, ELOOP), .NET's
    /// FileInfo does: it cannot tell a device from a file, but ReadBytes still reads at most the cap.
    static (string? Kind, long Size) Stat(string path)
    {
        if (OperatingSystem.IsLinux() && Statx(path) is { } found) return found;
        if (Directory.Exists(path)) return ("directory", 0);
        var info = new FileInfo(path);
        return info.Exists ? ("regular file", info.Length) : (null, 0);
    }

    /// statx's answer; null when it gave none that means "this type" or "nothing there" (only ENOENT and ENOTDIR do).
    static (string? Kind, long Size)? Statx(string path)
    {
        Span<byte> buf = stackalloc byte[256];
        try
        {
            if (statx(AtFdCwd, path, 0, StatxType | StatxSize, ref MemoryMarshal.GetReference(buf)) != 0)
                return Marshal.GetLastPInvokeError() is ENOENT or ENOTDIR ? (null, 0) : null;
        }
        catch (EntryPointNotFoundException) { return null; }
        int mode = MemoryMarshal.Read<ushort>(buf[28..]) & 0xF000; // stx_mode's S_IFMT bits
        long size = MemoryMarshal.Read<long>(buf[40..]);             // stx_size
        return (mode switch
        {
            0x8000 => "regular file", 0x4000 => "directory", 0x2000 => "character device", 0x6000 => "block device",
            0x1000 => "FIFO (named pipe)", 0xC000 => "socket", _ => "special file",
        }, size);
    }

    const int AtFdCwd = -100, ENOENT = 2, ENOTDIR = 20;
    const uint StatxType = 0x1, StatxSize = 0x200;

    [DllImport("libc", SetLastError = true)]
    static extern int statx(int dirfd, string pathname, int flags, uint mask, ref byte statxbuf);
}
