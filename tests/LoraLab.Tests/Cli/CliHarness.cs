using LoraLab.Cli;
using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Cli;

[CollectionDefinition("cli", DisableParallelization = true)]
public sealed class CliCollection { }

/// Runs `loralab` in-process and captures what it prints.
public static class CliHarness
{
    static readonly object Gate = new();

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        lock (Gate)
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var (o, e) = (new StringWriter(), new StringWriter());
            Console.SetOut(o); Console.SetError(e);
            try { return (CliApp.Run(args), o.ToString(), e.ToString()); }
            finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
        }
    }

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "loralab-test-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(d);
        return d;
    }

    /// A tiny random Llama with the real Llama 2 tokenizer (vocab 32000), written as an HF folder.
    public static string TinyModelWithLlama2Tokenizer()
    {
        var dir = TempDir();
        var cfg = new ModelConfig
        {
            ModelType = "llama", VocabSize = 32000, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8, RmsNormEps = 1e-5, MaxPositionEmbeddings = 512,
            BosTokenId = 1, EosTokenId = 2,
        };
        using var m = new CausalLM(cfg, ScalarType.Float32, CPU);
        m.InitializeRandom(7);
        ModelFolderWriter.Write(dir, m, ScalarType.Float32);
        File.Copy(SharedFixtures.Path_("fixtures", "llama2-tokenizer", "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
        return dir;
    }
}
