using LoraLab.ModelFiles;
using System.Text.Json.Nodes;
using LoraLab.Adapters;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Save → load reproduces the adapter bit for bit, in PEFT's layout and vocabulary.
public class PeftRoundTripTests
{
    static LoraConfig Config() => new()
    {
        R = 4, Alpha = 12, Dropout = 0.05, UseRslora = true, Init = LoraInit.Gaussian,
        TargetModules = LoraTargets.Parse("attn,down_proj", includeHead: true),
        RankPattern = new Dictionary<string, int> { ["o_proj"] = 2, ["1"] = 6 },
        AlphaPattern = new Dictionary<string, double> { ["lm_head"] = 3.5 },
    };

    [Fact]
    public void SaveThenLoadIsBitExact()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var dir = TempDir.New();
        try
        {
            var cfg = Config();
            using var a = LoraTestModels.RandomTiny();
            LoraInjector.Apply(a, cfg, seed: 5);
            LoraTestModels.RandomizeB(a);
            PeftFormat.Save(dir, a, cfg, baseModelPath: "models/tiny");
            Assert.Equal(new[] { PeftFormat.ConfigFile, PeftFormat.WeightsFile }, Directory.GetFiles(dir).Select(Path.GetFileName).Order());

            using var b = LoraTestModels.RandomTiny();
            var loaded = PeftFormat.Load(dir, b);
            var x = LoraInjector.Adapters(a);
            var y = LoraInjector.Adapters(b);
            Assert.Equal(x.Select(s => s.Path), y.Select(s => s.Path));
            foreach (var (p, q) in x.Zip(y))
            {
                Assert.True(LoraTestModels.Same(p.lora_A.weight!, q.lora_A.weight!), p.Path);
                Assert.True(LoraTestModels.Same(p.lora_B.weight!, q.lora_B.weight!), p.Path);
                Assert.Equal((p.R, p.Alpha, p.Scaling), (q.R, q.Alpha, q.Scaling));
            }
            Assert.Equal((cfg.R, cfg.Alpha, cfg.Dropout, cfg.UseRslora, cfg.Init), (loaded.R, loaded.Alpha, loaded.Dropout, loaded.UseRslora, loaded.Init));
            Assert.Equal(cfg.TargetModules, loaded.TargetModules);
            Assert.Equal("models/tiny", loaded.BaseModelNameOrPath);
            // the layer-index key is written in PEFT's regex form and selects the same modules
            Assert.Equal(new Dictionary<string, int> { ["o_proj"] = 2, [@"layers\.1\..*"] = 6 }, loaded.RankPattern);
            Assert.Equal(cfg.AlphaPattern, loaded.AlphaPattern);
            using var ids = LoraTestModels.RandomIds();
            using var la = LoraTestModels.Logits(a, ids);
            using var lb = LoraTestModels.Logits(b, ids);
            Assert.True(LoraTestModels.Same(la, lb));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void FilesUsePeftKeysAndFields()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var dir = TempDir.New();
        try
        {
            var cfg = Config();
            using var m = LoraTestModels.RandomTiny();
            LoraInjector.Apply(m, cfg, seed: 5);
            PeftFormat.Save(dir, m, cfg);
            using (var f = SafeTensorsFile.Open(Path.Combine(dir, PeftFormat.WeightsFile)))
            {
                Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", f.Names);
                Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", f.Names);
                Assert.Contains("base_model.model.lm_head.lora_A.weight", f.Names);
                Assert.Equal(2 * 11, f.Names.Count);
                Assert.Equal("F32", f.Info("base_model.model.lm_head.lora_A.weight").Dtype);
                Assert.Equal(new long[] { 6, 64 }, f.Info("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight").Shape);
            }
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftFormat.ConfigFile)))!.AsObject();
            Assert.Equal("LORA", (string?)json["peft_type"]);
            Assert.Equal("CAUSAL_LM", (string?)json["task_type"]);
            Assert.Equal(4, (int?)json["r"]);
            Assert.Equal(12, (int?)json["lora_alpha"]);
            Assert.Equal(new[] { "down_proj", "k_proj", "lm_head", "o_proj", "q_proj", "v_proj" }, json["target_modules"]!.AsArray().Select(n => (string?)n));
            Assert.Equal("none", (string?)json["bias"]);
            Assert.False((bool?)json["fan_in_fan_out"]);
            Assert.False((bool?)json["use_dora"]);
            Assert.True((bool?)json["use_rslora"]);
            Assert.True((bool?)json["inference_mode"]);
            Assert.Equal("gaussian", (string?)json["init_lora_weights"]);
            foreach (var field in new[] { "base_model_name_or_path", "modules_to_save", "layers_to_transform" })
            {
                Assert.True(json.ContainsKey(field), field);
                Assert.Null(json[field]);
            }
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void UnsupportedConfigsAreRefusedByField()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var dir = TempDir.New();
        try
        {
            foreach (var (field, value) in new (string, JsonNode)[] { ("use_dora", "yes"), ("bias", "all"), ("peft_type", "IA3"), ("r", "eight") })
            {
                var o = PeftConfigJson.ToJson(new LoraConfig());
                o[field] = value;
                File.WriteAllText(Path.Combine(dir, PeftFormat.ConfigFile), o.ToJsonString());
                var e = Assert.Throws<UserException>(() => PeftFormat.ReadConfig(dir));
                Assert.Contains(PeftFormat.ConfigFile, e.Message);
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
