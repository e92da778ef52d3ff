using LoraLab.ModelFiles;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using LoraLab.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.ModelFiles;

public sealed class SafeTensorsTests : IDisposable
{
    readonly string _dir = TempDir.New("st");

    public SafeTensorsTests() => TorchRuntime.EnsureLoaded();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    /// A tensor of the given dtype filled with arbitrary bit patterns (NaN payloads, subnormals, -0 included for floats).
    static Tensor RandomBits(ScalarType dtype, long[] shape, int seed)
    {
        var t = torch.empty(shape, dtype);
        var bytes = new byte[t.NumberOfElements * t.ElementSize];
        new Random(seed).NextBytes(bytes);
        if (dtype == ScalarType.Bool) for (int i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        t.bytes = bytes;
        return t;
    }

    static void WriteRaw(string path, string header, byte[] data, long? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var buf = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(buf, (ulong)(declaredLength ?? h.Length));
        h.CopyTo(buf, 8);
        data.CopyTo(buf, 8 + h.Length);
        File.WriteAllBytes(path, buf);
    }

    static string HeaderOf(string path)
    {
        var b = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(b);
        return Encoding.UTF8.GetString(b, 8, n);
    }

    // ---------- round trip and layout ----------

    [Fact]
    public void RoundTripIsBitExactForEveryWritableDtype()
    {
        var dtypes = new[] { ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64, ScalarType.Int32,
                             ScalarType.Byte, ScalarType.Int8, ScalarType.Bool, ScalarType.Float64, ScalarType.Int16 };
        var originals = dtypes.Select((d, i) => ($"t{i}.{d}", RandomBits(d, new long[] { 3, 5, 7 }, i))).ToList();
        originals.Add(("scalar", RandomBits(ScalarType.Float32, Array.Empty<long>(), 99)));
        originals.Add(("empty", torch.empty(new long[] { 0, 4 }, ScalarType.Float32)));
        try
        {
            SafeTensorsWriter.Save(P("rt.safetensors"), originals);
            using var f = SafeTensorsFile.Open(P("rt.safetensors"));
            Assert.Equal(originals.Count, f.Tensors.Count);
            foreach (var (name, t) in originals)
            {
                using var back = f.Read(name);
                Assert.Equal(t.dtype, back.dtype);
                Assert.Equal(t.shape, back.shape);
                Assert.Equal(t.bytes.ToArray(), back.bytes.ToArray());
            }
        }
        finally { originals.ForEach(o => o.Item2.Dispose()); }
    }

    [Fact]
    public void WriterLayoutMatchesReferenceFormat()
    {
        using var a = torch.tensor(new float[] { 1, 2 });
        using var big = torch.tensor(new long[] { 7 });
        using var small = torch.tensor(new byte[] { 1, 2, 3 });
        SafeTensorsWriter.Save(P("l.safetensors"), new[] { ("b", a), ("z", small), ("a", a), ("i", big) },
            new Dictionary<string, string> { ["note"] = "x" });

        var bytes = File.ReadAllBytes(P("l.safetensors"));
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        string header = HeaderOf(P("l.safetensors"));
        // Metadata first (format=pt merged with ours, keys sorted), then decreasing alignment (I64, F32, U8), then by name.
        string expected = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"x\"}," +
                          "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}," +
                          "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}," +
                          "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}," +
                          "\"z\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[24,27]}}";
        Assert.Equal(expected, header.TrimEnd(' '));
        Assert.Equal(expected.Length + (8 - expected.Length % 8) % 8, header.Length);
        Assert.Equal(8 + n + 27, bytes.Length);
        Assert.Equal(7L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan((int)(8 + n))));
        Assert.Equal(1f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(8 + n + 8))));

        using var f = SafeTensorsFile.Open(P("l.safetensors"));
        Assert.Equal(new[] { "i", "a", "b", "z" }, f.Names);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal("x", f.Metadata["note"]);
        Assert.Equal(new SafeTensorInfo("z", "U8", new long[] { 3 }, 24, 27).ToString(), f.Tensors["z"].ToString());
    }

    [Fact]
    public void SaveReplacesTargetAndLeavesNoTemporaryFiles()
    {
        using var one = torch.ones(2);
        using var two = torch.full(3, 2f);
        SafeTensorsWriter.Save(P("w.safetensors"), new[] { ("x", one) });
        SafeTensorsWriter.Save(P("w.safetensors"), new[] { ("x", two) });
        Assert.Equal(new[] { "w.safetensors" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
        using var f = SafeTensorsFile.Open(P("w.safetensors"));
        using var x = f.Read("x");
        Assert.Equal(new long[] { 3 }, x.shape);
        Assert.Equal(2f, x[2].item<float>());
    }

    [Fact]
    public void SaveWritesNonContiguousTensorsInLogicalOrder()
    {
        using var m = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var t = m.t();
        SafeTensorsWriter.Save(P("nc.safetensors"), new[] { ("t", t) });
        using var f = SafeTensorsFile.Open(P("nc.safetensors"));
        using var back = f.Read("t");
        Assert.Equal(new long[] { 3, 2 }, back.shape);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, back.data<float>().ToArray());
    }

    // ---------- dtype conversion on read ----------

    [Fact]
    public void Bf16AndF16ConvertToF32Exactly()
    {
        using var bf = RandomBits(ScalarType.BFloat16, new long[] { 4096 }, 1);
        using var hf = RandomBits(ScalarType.Float16, new long[] { 4096 }, 2);
        SafeTensorsWriter.Save(P("h.safetensors"), new[] { ("bf", bf), ("hf", hf) });
        using var f = SafeTensorsFile.Open(P("h.safetensors"));
        using var bf32 = f.Read("bf", ScalarType.Float32);
        using var hf32 = f.Read("hf", ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, bf32.dtype);

        var bfBits = bf.bytes.ToArray();
        var bfOut = bf32.bytes.ToArray();
        var hfBits = hf.bytes.ToArray();
        var hfOut = hf32.bytes.ToArray();
        for (int i = 0; i < 4096; i++)
        {
            // bf16 is the top half of an f32: widening is a 16-bit shift (NaNs may be quietened, so compare NaN-ness).
            ushort b = BinaryPrimitives.ReadUInt16LittleEndian(bfBits.AsSpan(2 * i));
            float expectBf = BitConverter.Int32BitsToSingle(b << 16);
            float gotBf = BinaryPrimitives.ReadSingleLittleEndian(bfOut.AsSpan(4 * i));
            if (float.IsNaN(expectBf)) Assert.True(float.IsNaN(gotBf));
            else Assert.Equal(BitConverter.SingleToInt32Bits(expectBf), BitConverter.SingleToInt32Bits(gotBf));

            // IEEE half → single is exact; .NET's Half conversion is an independent reference.
            float expectHf = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(hfBits.AsSpan(2 * i)));
            float gotHf = BinaryPrimitives.ReadSingleLittleEndian(hfOut.AsSpan(4 * i));
            if (float.IsNaN(expectHf)) Assert.True(float.IsNaN(gotHf));
            else Assert.Equal(BitConverter.SingleToInt32Bits(expectHf), BitConverter.SingleToInt32Bits(gotHf));
        }
    }

    [Fact]
    public void ReadConvertsF32ToBf16LikeTorch()
    {
        using var x = torch.randn(257, generator: new torch.Generator(3));
        SafeTensorsWriter.Save(P("c.safetensors"), new[] { ("x", x) });
        using var f = SafeTensorsFile.Open(P("c.safetensors"));
        using var got = f.Read("x", ScalarType.BFloat16, torch.CPU);
        using var expect = x.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, got.dtype);
        Assert.Equal(expect.bytes.ToArray(), got.bytes.ToArray());
    }

    // ---------- the reference tiny-llama ----------

    [Fact]
    public void ReadsTinyLlamaFixtureWithConfigShapes()
    {
        string dir = RepoFixtures.Path_("tiny-llama");
        using var cfg = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
        int C(string k) => cfg.RootElement.GetProperty(k).GetInt32();
        long hidden = C("hidden_size"), vocab = C("vocab_size"), inter = C("intermediate_size"), layers = C("num_hidden_layers");
        long kv = C("num_key_value_heads") * (hidden / C("num_attention_heads"));

        using var ckpt = CheckpointFiles.Open(dir);
        Assert.Equal(3 + 9 * layers, ckpt.Names.Count);
        var expect = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = new[] { vocab, hidden },
            ["lm_head.weight"] = new[] { vocab, hidden },
            ["model.norm.weight"] = new[] { hidden },
        };
        for (int l = 0; l < layers; l++)
        {
            string p = $"model.layers.{l}.";
            expect[p + "self_attn.q_proj.weight"] = new[] { hidden, hidden };
            expect[p + "self_attn.k_proj.weight"] = new[] { kv, hidden };
            expect[p + "self_attn.v_proj.weight"] = new[] { kv, hidden };
            expect[p + "self_attn.o_proj.weight"] = new[] { hidden, hidden };
            expect[p + "mlp.gate_proj.weight"] = new[] { inter, hidden };
            expect[p + "mlp.up_proj.weight"] = new[] { inter, hidden };
            expect[p + "mlp.down_proj.weight"] = new[] { hidden, inter };
            expect[p + "input_layernorm.weight"] = new[] { hidden };
            expect[p + "post_attention_layernorm.weight"] = new[] { hidden };
        }
        foreach (var (name, shape) in expect)
        {
            var info = ckpt.Info(name);
            Assert.Equal("F32", info.Dtype);
            Assert.Equal(shape, info.Shape);
        }

        // Values: compare with the file's own bytes at the header's offsets, read independently here.
        string file = Path.Combine(dir, "model.safetensors");
        var raw = File.ReadAllBytes(file);
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        var q = ckpt.Info("model.layers.1.self_attn.q_proj.weight");
        using var t = ckpt.Read(q.Name);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(raw.AsSpan((int)(dataStart + q.Begin), (int)q.ByteLength).ToArray(), t.bytes.ToArray());
        Assert.True(t.abs().sum().item<float>() > 0);
    }

    // ---------- sharded checkpoints ----------

    void MakeSharded(string dir, string indexJson)
    {
        Directory.CreateDirectory(dir);
        using var a = torch.arange(4, dtype: ScalarType.Float32);
        using var b = torch.arange(6, dtype: ScalarType.BFloat16).reshape(2, 3);
        SafeTensorsWriter.Save(Path.Combine(dir, "model-00001-of-00002.safetensors"), new[] { ("a", a) });
        SafeTensorsWriter.Save(Path.Combine(dir, "model-00002-of-00002.safetensors"), new[] { ("b", b) });
        File.WriteAllText(Path.Combine(dir, CheckpointFiles.IndexFile), indexJson);
    }

    static string Index(string shardA, string shardB = "model-00002-of-00002.safetensors", string extra = "") =>
        "{\"metadata\":{\"total_size\":28},\"weight_map\":{\"a\":\"" + shardA + "\",\"b\":\"" + shardB + "\"" + extra + "}}";

    [Fact]
    public void ShardedIndexFolderLoads()
    {
        string dir = P("sharded");
        MakeSharded(dir, Index("model-00001-of-00002.safetensors"));
        using var ck = CheckpointFiles.Open(dir);
        Assert.Equal(new[] { "a", "b" }, ck.Names);
        Assert.Equal("BF16", ck.Info("b").Dtype);
        using var b = ck.Read("b", ScalarType.Float32);
        Assert.Equal(new long[] { 2, 3 }, b.shape);
        Assert.Equal(5f, b[1, 2].item<float>());
        using var a = ck.Read("a");
        Assert.Equal(3f, a[3].item<float>());
    }

    [Fact]
    public void SingleFileAndLooseSafetensorsFoldersLoad()
    {
        using var x = torch.ones(2);
        Directory.CreateDirectory(P("loose"));
        SafeTensorsWriter.Save(Path.Combine(P("loose"), "part1.safetensors"), new[] { ("x", x) });
        SafeTensorsWriter.Save(Path.Combine(P("loose"), "part2.safetensors"), new[] { ("y", x) });
        using (var ck = CheckpointFiles.Open(P("loose")))
            Assert.Equal(new[] { "x", "y" }, ck.Names);

        SafeTensorsWriter.Save(Path.Combine(P("loose"), "part3.safetensors"), new[] { ("x", x) });
        var e = Assert.Throws<UserException>(() => CheckpointFiles.Open(P("loose")));
        Assert.Contains("'x' is in both", e.Message);
    }

    [Theory]
    [InlineData("../x.safetensors", "'..'")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("sub/../../x.safetensors", "'..'")]
    public void IndexShardOutsideFolderIsRefused(string shard, string problem)
    {
        string dir = P("evil");
        MakeSharded(dir, Index(shard));
        File.WriteAllText(P("x.safetensors"), "not read");
        var e = Assert.Throws<UserException>(() => CheckpointFiles.Open(dir));
        Assert.Contains(CheckpointFiles.IndexFile, e.Message);
        Assert.Contains(shard, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void IndexWithMissingShardNamesIt()
    {
        string dir = P("missing");
        MakeSharded(dir, Index("model-00001-of-00002.safetensors", "model-00003-of-00003.safetensors"));
        var e = Assert.Throws<UserException>(() => CheckpointFiles.Open(dir));
        Assert.Contains("'model-00003-of-00003.safetensors' is missing", e.Message);
    }

    [Fact]
    public void IndexNameAbsentFromShardIsRefused()
    {
        string dir = P("absent");
        MakeSharded(dir, Index("model-00001-of-00002.safetensors", extra: ",\"c\":\"model-00001-of-00002.safetensors\""));
        var e = Assert.Throws<UserException>(() => CheckpointFiles.Open(dir));
        Assert.Contains("tensor 'c'", e.Message);
        Assert.Contains("does not contain it", e.Message);
    }

    [Fact]
    public void PickleOnlyFolderIsRefused()
    {
        string dir = P("pickle");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "pytorch_model.bin"), new byte[] { 0x80, 0x02, 0x63 });
        File.WriteAllBytes(Path.Combine(dir, "extra.pth"), new byte[] { 0x80, 0x02 });
        var e = Assert.Throws<UserException>(() => CheckpointFiles.Open(dir));
        Assert.Contains("pytorch_model.bin", e.Message);
        Assert.Contains("pickle", e.Message);
        Assert.Contains("arbitrary code", e.Message);
        Assert.Contains("Convert them to safetensors", e.Message);
    }

    [Fact]
    public void MissingFolderAndEmptyFolderAreNamed()
    {
        var e = Assert.Throws<UserException>(() => CheckpointFiles.Open(P("nope")));
        Assert.Contains(P("nope"), e.Message);
        Assert.Contains("not found", e.Message);
        Directory.CreateDirectory(P("empty"));
        e = Assert.Throws<UserException>(() => CheckpointFiles.Open(P("empty")));
        Assert.Contains("no model weights", e.Message);
    }

    // ---------- malformed files: each validation rule ----------

    UserException OpenBad(string file)
    {
        var e = Assert.Throws<UserException>(() => SafeTensorsFile.Open(file));
        Assert.Contains(file, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    const string Ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    [Fact]
    public void WellFormedCraftedFileOpens()
    {
        WriteRaw(P("ok.safetensors"), Ok, new byte[8]);
        using var f = SafeTensorsFile.Open(P("ok.safetensors"));
        Assert.Empty(f.Metadata);
        using var w = f.Read("w");
        Assert.Equal(0f, w.sum().item<float>());
    }

    [Fact]
    public void FileShorterThanEightBytes()
    {
        File.WriteAllBytes(P("s.safetensors"), new byte[5]);
        Assert.Contains("only 5 bytes", OpenBad(P("s.safetensors")).Message);
    }

    [Fact]
    public void HeaderLengthPastEndOfFile()
    {
        WriteRaw(P("l.safetensors"), Ok, new byte[8], declaredLength: 5000);
        Assert.Contains("header length 5000 runs past the end", OpenBad(P("l.safetensors")).Message);
    }

    [Fact]
    public void HeaderLengthOverLimit()
    {
        WriteRaw(P("big.safetensors"), Ok, new byte[8], declaredLength: 200_000_000);
        Assert.Contains("exceeds the 100 MB limit", OpenBad(P("big.safetensors")).Message);
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",", "not valid JSON")]
    [InlineData("[1, 2, 3]", "not a JSON object")]
    [InlineData("\"text\"", "not a JSON object")]
    [InlineData("{\"w\":[1,2]}", "tensor 'w': entry must be an object")]
    [InlineData("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w': missing 'dtype'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "tensor 'w': missing 'shape'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", "tensor 'w': missing 'data_offsets'")]
    [InlineData("{\"w\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w': 'dtype' must be a string")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", "tensor 'w': 'shape' must be an array")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", "tensor 'w': 'shape' must be an array of integers")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", "tensor 'w': 'data_offsets' must be an array of two integers")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",8]}}", "tensor 'w': 'data_offsets' must be an array of two integers")]
    [InlineData("{\"w\":{\"dtype\":\"F12\",\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w': unknown dtype 'F12'")]
    [InlineData("{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w': unknown dtype 'f32'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "tensor 'w': negative dimension -2")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets span 8")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", "tensor 'w': shape [4611686018427387904, 4] is too large")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "tensor 'w': data_offsets begin 8 > end 0")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", "tensor 'w': data_offsets [0, 16] lie outside the data buffer (8 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", "tensor 'w': data_offsets [-8, 0] lie outside the data buffer")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}", "tensor 'v' [4, 8] overlaps tensor 'w' [0, 8]")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "lists 'w' twice")]
    [InlineData("{\"__metadata__\":{\"format\":1}," + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "__metadata__ value 'format' must be a string")]
    public void MalformedHeaderIsRefused(string header, string problem)
    {
        WriteRaw(P("bad.safetensors"), header, new byte[8]);
        Assert.Contains(problem, OpenBad(P("bad.safetensors")).Message);
    }

    [Fact]
    public void HeaderWithInvalidUtf8IsRefused()
    {
        var file = P("u.safetensors");
        WriteRaw(file, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
        var b = File.ReadAllBytes(file);
        b[10] = 0xFF;   // the tensor name "w" (byte 8 is "{", 9 is the opening quote)
        File.WriteAllBytes(file, b);
        Assert.Contains("not valid UTF-8", OpenBad(file).Message);
    }

    [Fact]
    public void TruncatedFileIsCaughtAsOffsetsOutsideData()
    {
        using var x = torch.ones(10, 10);
        SafeTensorsWriter.Save(P("full.safetensors"), new[] { ("x", x) });
        var b = File.ReadAllBytes(P("full.safetensors"));
        File.WriteAllBytes(P("cut.safetensors"), b[..^17]);
        var msg = OpenBad(P("cut.safetensors")).Message;
        Assert.Contains("tensor 'x'", msg);
        Assert.Contains("outside the data buffer", msg);
    }

    [Fact]
    public void MissingFileAndMissingTensorAreNamed()
    {
        Assert.Contains("file not found", OpenBad(P("none.safetensors")).Message);
        WriteRaw(P("ok.safetensors"), Ok, new byte[8]);
        using var f = SafeTensorsFile.Open(P("ok.safetensors"));
        var e = Assert.Throws<UserException>(() => f.Read("nope"));
        Assert.Contains("no tensor named 'nope'", e.Message);
    }

    [Fact]
    public void KnownButUnloadableDtypeOpensAndRefusesOnRead()
    {
        WriteRaw(P("u16.safetensors"), "{\"u\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]);
        using var f = SafeTensorsFile.Open(P("u16.safetensors"));
        using var w = f.Read("w");
        var e = Assert.Throws<UserException>(() => f.Read("u"));
        Assert.Contains("tensor 'u' has dtype U16", e.Message);
    }
}
