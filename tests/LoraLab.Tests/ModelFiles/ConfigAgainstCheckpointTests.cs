using LoraLab.ModelFiles;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace LoraLab.Tests.ModelFiles;

/// config.json is checked against the safetensors header before the config allocates anything, and its sizes
/// are checked for sense on their own.
public class ConfigAgainstCheckpointTests
{
    static string DemoBase => Path.Combine(LoraLab.Demo.DemoAssets.Locate(), LoraLab.Demo.DemoAssets.BaseFolder);

    /// A copy of the demo base whose config.json has `edit` applied.
    public static string WithConfig(Action<JsonObject> edit)
    {
        var dir = TempDir.New();
        foreach (var f in Directory.GetFiles(DemoBase)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        edit(cfg);
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        return dir;
    }

    static string LoadError(string dir) => Assert.Throws<UserException>(() => ModelLoader.Load(dir)).Message;

    [Theory]
    [InlineData(50)]
    [InlineData(1_000_000_000)]
    public void MoreLayersThanTheCheckpointHoldsAreRefusedBeforeAllocation(int layers)
    {
        var dir = WithConfig(c => c["num_hidden_layers"] = layers);
        var clock = Stopwatch.StartNew();
        Assert.Equal($"{dir}/model.safetensors: config.json says {layers} layers but the checkpoint has 4 (no tensor model.layers.4.self_attn.q_proj.weight)", LoadError(dir));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    /// train --method lora plans its adapters (one per layer and projection) from the config: that must come after
    /// the header check, or 10^9 layers are planned first. Run as a process so a regression is killed, not waited on.
    [Fact]
    public async Task TrainWithLoraChecksLayersAgainstTheHeaderBeforePlanningAdapters()
    {
        var dir = WithConfig(c => c["num_hidden_layers"] = 1_000_000_000);
        var data = Path.Combine(LoraLab.Demo.DemoAssets.Locate(), LoraLab.Demo.DemoAssets.DataFolder, LoraLab.Demo.DemoAssets.TrainFile);
        using var p = Process.Start(CliRunner.StartInfo(["train", "--model", dir, "--data", data, "--out", Path.Combine(TempDir.New(), "run"),
            "--method", "lora", "--max-steps", "1", "--threads", "1"]))!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync(); // drained, so a chatty regression cannot block on a full pipe
        bool exited = p.WaitForExit(TimeSpan.FromSeconds(30));
        if (!exited) p.Kill(entireProcessTree: true);
        Assert.True(exited, "still running after 30 s");
        Assert.Equal(2, p.ExitCode);
        Assert.Equal($"error: {dir}/model.safetensors: config.json says 1000000000 layers but the checkpoint has 4 (no tensor model.layers.4.self_attn.q_proj.weight)",
            (await stderr).Trim());
        await stdout;
    }

    [Fact]
    public void FewerLayersThanTheCheckpointHoldsAreRefused()
    {
        var dir = WithConfig(c => c["num_hidden_layers"] = 2);
        Assert.Equal($"{dir}/model.safetensors: config.json says 2 layers but the checkpoint has 4 (unexpected tensor model.layers.2.input_layernorm.weight)", LoadError(dir));
    }

    [Fact]
    public void AGapInTheCheckpointsLayersIsNamed()
    {
        // layers 0-2 and 5 (the demo's layer 3 renamed in the header: same length, so offsets stay), config says 3
        var dir = WithConfig(c => c["num_hidden_layers"] = 3);
        var path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        int headerEnd = 8 + (int)BitConverter.ToUInt64(bytes, 0);
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, headerEnd - 8).Replace("model.layers.3.", "model.layers.5.");
        System.Text.Encoding.UTF8.GetBytes(header).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        Assert.StartsWith($"{path}: config.json says 3 layers but the checkpoint has 6 (unexpected tensor model.layers.5.", LoadError(dir));
    }

    [Theory]
    [InlineData("vocab_size", 1_000_000_000, "model.embed_tokens.weight' has shape [1115, 192], config.json implies [1000000000, 192]")]
    [InlineData("hidden_size", 1_000_000_000, "model.embed_tokens.weight' has shape [1115, 192], config.json implies [1115, 1000000000]")]
    [InlineData("intermediate_size", 1_000_000_000, "model.layers.0.mlp.gate_proj.weight' has shape [512, 192], config.json implies [1000000000, 192]")]
    public void HugeSizesAreCheckedAgainstTheHeader(string field, int value, string expected)
    {
        var dir = WithConfig(c => c[field] = value);
        Assert.Contains(expected, LoadError(dir));
    }

    [Fact]
    public void HeadsThatDoNotSplitHiddenSizeAreNamedAsSuch()
    {
        // head_dim given (as in the demo base): 5 heads of 32 is a legal architecture (heads × head_dim need not be
        // hidden_size), just not this checkpoint's, so the sizes are listed rather than a divisibility rule blamed.
        var dir = WithConfig(c => { c["num_attention_heads"] = 5; c["num_key_value_heads"] = 1; });
        Assert.EndsWith("tensor 'model.layers.0.self_attn.q_proj.weight' has shape [192, 192], config.json implies [160, 192] " +
            "(vocab_size 1115, hidden_size 192, intermediate_size 512, num_attention_heads 5, num_key_value_heads 1, head_dim 32)", LoadError(dir));
        // no head_dim: the config alone is wrong.
        var bare = WithConfig(c => { c["num_attention_heads"] = 5; c["num_key_value_heads"] = 1; c.Remove("head_dim"); });
        Assert.Equal($"{bare}/config.json: hidden_size 192 is not divisible by num_attention_heads 5 (and config.json gives no head_dim)", LoadError(bare));
    }

    [Theory]
    [InlineData("num_key_value_heads", 0, "num_key_value_heads must be a positive integer, got 0")]
    [InlineData("head_dim", 31, "head_dim 31 must be a positive even number")]
    [InlineData("max_position_embeddings", -1, "max_position_embeddings must be a positive number, got -1")]
    [InlineData("rms_norm_eps", 0, "rms_norm_eps must be a positive number, got 0")]
    public void NonsenseSizesAreRefusedByName(string field, int value, string expected)
    {
        var dir = WithConfig(c => c[field] = value);
        Assert.Contains(expected, LoadError(dir));
    }

    [Fact]
    public void AHugeMaxPositionEmbeddingsDoesNotSizeTheRotaryTable()
    {
        var dir = WithConfig(c => c["max_position_embeddings"] = int.MaxValue);
        var clock = Stopwatch.StartNew();
        using var loaded = ModelLoader.Load(dir);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }
}
