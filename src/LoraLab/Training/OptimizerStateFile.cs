using static TorchSharp.torch;

namespace LoraLab.Training;

/// Checks `optimizer.bin` against the optimizer it is loaded into before TorchSharp reads it: the file starts with
/// the optimizer's class name and is at least as long as a new optimizer's state written out, so a cut-short or
/// overwritten file is named as such, not met as an EndOfStreamException deep in the reader. Only a lower bound:
/// state a step adds (SGD's momentum buffers appear at the first update) makes a checkpoint longer than a new
/// optimizer's; OptimizerFactory.Load checks that the reader then ends exactly at the file's end.
static class OptimizerStateFile
{
    const string Galore = nameof(Optimizers.GaloreAdamW);

    public static void Check(optim.Optimizer opt, string path, Action<optim.Optimizer, BinaryWriter> save)
    {
        if (!File.Exists(path)) throw CheckpointFileError.Missing(path);
        var own = new MeasuringStream();
        using (var w = new BinaryWriter(own, System.Text.Encoding.UTF8, leaveOpen: true)) save(opt, w);
        long actual = new FileInfo(path).Length;
        string ours = ClassName(own.Head) ?? "?";
        using (var r = new BinaryReader(File.OpenRead(path)))
        {
            var head = r.ReadBytes(64);
            string? theirs = ClassName(head);
            if (theirs is not null && theirs != ours && (theirs == Galore || LoraLab.Configuration.RunChoices.Optimizer.TryParse(theirs, out _)))
                throw new UserException(theirs == Galore || ours == Galore
                    ? $"{path}: holds {theirs} optimizer state but this run uses {ours} (--method galore trains with {Galore}); resume with the method the checkpoint was trained with"
                    : $"{path}: holds {theirs} optimizer state but this run uses {ours} (--optimizer); resume with the optimizer the checkpoint was trained with");
            if (theirs != ours) throw CheckpointFileError.Corrupt(path, $"it does not start with the {ours} optimizer's header");
        }
        if (actual < own.Length)
            throw CheckpointFileError.Corrupt(path, $"{actual} bytes where this run's {ours} state takes at least {own.Length}");
    }

    /// The length-prefixed class name TorchSharp writes first, if the bytes start with a plausible one.
    static string? ClassName(byte[] head)
    {
        if (head.Length < 2 || head[0] is 0 or > 32 || head.Length < 1 + head[0]) return null;
        var name = head.AsSpan(1, head[0]);
        foreach (var b in name) if (!char.IsAsciiLetterOrDigit((char)b)) return null;
        return System.Text.Encoding.ASCII.GetString(name);
    }

    /// Counts what is written and keeps the first bytes; stores nothing else.
    sealed class MeasuringStream : Stream
    {
        public readonly byte[] Head = new byte[64];
        long _length;
        public override long Length => _length;
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_length < Head.Length) buffer[..(int)Math.Min(buffer.Length, Head.Length - _length)].CopyTo(Head.AsSpan((int)_length));
            _length += buffer.Length;
        }
        public override void WriteByte(byte value) => Write([value]);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
