using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Configuration;
using LoraLab.ModelFiles;
using LoraLab.Tests.Adapters;
using LoraLab.Training;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Preferences;

/// `train --method dpo|orpo` end to end on the tiny-chat fixture and the six reference pairs: training lifts the
/// rewards, the reference never moves, the memory is a LoRA run's, and every preference flag does what it says or is refused.
[Collection("cli")]
public class DpoTrainTests
{
    static readonly string Dir = RepoFixtures.Path_("dpo");
    static readonly string Model = RepoFixtures.Path_("tiny-chat");
    static readonly string Pairs = Path.Combine(Dir, "prefs.jsonl");

    static string[] Train(string outDir, params string[] extra) =>
        new[] { "train", "--method", "dpo", "--model", Model, "--data", Pairs, "--out", outDir, "--template", "plain", "--batch-size", "6",
            "--micro-batch-size", "3", "--val-fraction", "0", "--lora-dropout", "0", "--lr", "1e-2", "--max-steps", "30" }.Concat(extra).ToArray();

    static List<JsonObject> Rows(string run, string type) => File.ReadAllLines(Path.Combine(run, RunFolder.Metrics))
        .Select(l => JsonNode.Parse(l)!.AsObject()).Where(o => (string?)o["type"] == type).ToList();

    static double EvalDpo(string adapter, string metric)
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "--model", Model, "--adapter", adapter, "--data", Pairs, "--task", "dpo", "--json");
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement.GetProperty("results")[0].GetProperty("scores").GetProperty(metric).GetProperty("value").GetDouble();
    }

    [Fact]
    public void Thirty_steps_of_dpo_lift_rewards_accuracy_lower_the_loss_and_leave_the_base_bit_for_bit()
    {
        var run = Path.Combine(TempDir.New(), "dpo");
        Directory.CreateDirectory(run);
        var config = new RunConfig();
        var args = Train(run);
        for (int i = 1; i < args.Length; i += 2) config.Set(args[i].TrimStart('-').Replace('-', '_'), args[i + 1]);
        using var prepared = TrainingRun.Prepare(config);
        var before = BaseWeights(prepared);
        var result = prepared.Trainer.Run(null, CancellationToken.None);
        prepared.Store.Save(Path.Combine(run, RunFolder.Adapter));
        var after = BaseWeights(prepared);
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (name, bytes) in before) Assert.True(bytes.SequenceEqual(after[name]), $"base weight {name} changed");

        var train = Rows(run, "train");
        Assert.Equal(30, train.Count);
        Assert.True((double)train[^1]["loss"]! < (double)train[0]["loss"]! - 0.1, $"loss {train[0]["loss"]} → {train[^1]["loss"]}");
        Assert.Equal(Math.Log(2), (double)train[0]["loss"]!, 1e-5); // a fresh adapter is the reference: every margin 0
        foreach (var key in new[] { "rewards_chosen", "rewards_rejected", "rewards_margin", "rewards_accuracy", "logps_chosen", "logps_rejected" })
            Assert.NotNull(train[^1][key]);
        Assert.True(EvalDpo(Path.Combine(run, RunFolder.Adapter), "rewards_accuracy") >= 0.9);
        Assert.True(EvalDpo(Path.Combine(run, RunFolder.Adapter), "dpo_loss") < Math.Log(2) - 0.1);
        Assert.Equal(30, result.Steps);
    }

    /// The base's weights as bytes, read from the run's model (never the adapter's).
    static Dictionary<string, byte[]> BaseWeights(TrainingRun run) => run.Loaded.Model.named_parameters()
        .Where(p => !p.name.Contains("lora_"))
        .ToDictionary(p => p.name, p => { using var c = p.parameter.detach().cpu().contiguous(); return c.bytes.ToArray(); });

    /// The demo base widened to ~150 MB of fp32 weights (random), with the demo tokenizer: big enough that a second
    /// copy of the base (a reference model beside the policy) would show in the peak against the same LoRA run.
    static string WideBase(string dir)
    {
        var demo = Path.Combine(LoraLab.Demo.DemoAssets.Locate(), LoraLab.Demo.DemoAssets.BaseFolder);
        var cfg = LoraLab.Models.ModelConfig.Load(Path.Combine(demo, "config.json")) with
        {
            HiddenSize = 1024, IntermediateSize = 2816, NumHiddenLayers = 4, NumAttentionHeads = 8, NumKeyValueHeads = 8, HeadDim = 128,
        };
        var folder = Path.Combine(dir, "wide");
        using (var m = new LoraLab.Models.CausalLM(cfg, ScalarType.Float32, CPU)) { m.InitializeRandom(5); ModelFolderWriter.Write(folder, m, ScalarType.Float32, demo); }
        return folder;
    }

    [Fact]
    public void Peak_memory_of_dpo_stays_within_a_quarter_of_the_same_lora_run()
    {
        var root = TempDir.New();
        var model = WideBase(root);
        Assert.True(new FileInfo(Path.Combine(model, "model.safetensors")).Length > 140_000_000);
        var pairs = Path.Combine(LoraLab.Demo.DemoAssets.Locate(), LoraLab.Demo.DemoAssets.DataFolder, LoraLab.Demo.DemoAssets.PrefsHeldOutFile);
        string[] Common(string method, string data, string run) => ["train", "--method", method, "--model", model, "--data", data, "--out", Path.Combine(root, run),
            "--batch-size", "4", "--micro-batch-size", "4", "--max-steps", "3", "--val-fraction", "0", "--lora-dropout", "0", "--threads", "2"];
        var (rc, _, err) = CliRunner.RunProcess(Common("dpo", pairs, "dpo"));
        Assert.True(rc == 0, err);
        // the same model, adapter and steps on the same rows as supervised text: each pair's prompt with its chosen and
        // with its rejected answer, the 2 x 4 rows of a DPO batch in one batch of 8
        var sft = Path.Combine(root, "sft.jsonl");
        File.WriteAllLines(sft, File.ReadAllLines(pairs).Select(l => JsonNode.Parse(l)!).SelectMany(p => new[] { "chosen", "rejected" }.Select(k =>
            new JsonObject { ["text"] = (string)p["prompt"]! + (string)p[k]! }.ToJsonString())));
        var lora = Common("lora", sft, "lora").ToList();
        lora[lora.IndexOf("--batch-size") + 1] = "8";
        lora[lora.IndexOf("--micro-batch-size") + 1] = "8";
        (rc, _, err) = CliRunner.RunProcess([.. lora, "--template", "plain"]);
        Assert.True(rc == 0, err);
        double Peak(string run) => Rows(Path.Combine(root, run), "train").Max(r => (double)r["rss_mb"]!);
        Assert.True(Peak("dpo") <= 1.25 * Peak("lora"), $"dpo peaks at {Peak("dpo"):F0} MB, lora at {Peak("lora"):F0} MB");
    }

    [Fact]
    public void Precomputed_reference_gives_the_losses_of_the_in_step_reference()
    {
        var a = Path.Combine(TempDir.New(), "a");
        var b = Path.Combine(TempDir.New(), "b");
        Assert.Equal(0, CliRunner.Run(Train(a, "--max-steps", "5")).Code);
        var (code, stdout, err) = CliRunner.Run(Train(b, "--max-steps", "5", "--precompute-ref"));
        Assert.True(code == 0, err);
        Assert.Contains("reference log-probabilities (the base) computed once for 6 pairs", stdout);
        var (la, lb) = (Rows(a, "train"), Rows(b, "train"));
        for (int i = 0; i < 5; i++) Assert.Equal((double)la[i]["loss"]!, (double)lb[i]["loss"]!, 1e-5);
    }

    [Fact]
    public void A_reference_adapter_is_the_start_and_the_reference_and_a_resumed_run_keeps_it_as_the_reference()
    {
        var root = TempDir.New();
        var first = Path.Combine(root, "first");
        Assert.Equal(0, CliRunner.Run(Train(first, "--max-steps", "5")).Code);
        var reference = Path.Combine(first, RunFolder.Adapter);

        var whole = Path.Combine(root, "whole");
        var (code, _, err) = CliRunner.Run(Train(whole, "--ref-adapter", reference, "--max-steps", "4", "--save-every", "2"));
        Assert.True(code == 0, err);
        var rows = Rows(whole, "train");
        // step 1 starts at the reference: every margin is 0, whatever the adapter already prefers
        Assert.Equal(Math.Log(2), (double)rows[0]["loss"]!, 1e-5);
        Assert.Equal(0, (double)rows[0]["rewards_margin"]!, 1e-6);
        var yaml = File.ReadAllText(Path.Combine(whole, RunFolder.RunYaml));
        Assert.Contains("r: 8", yaml);

        // resumed from its step-2 checkpoint (into a folder of its own), the reference is still the adapter given, not
        // the half-trained weights the checkpoint holds: steps 3 and 4 repeat the uninterrupted run's
        var resumed = Path.Combine(root, "resumed");
        (code, _, err) = CliRunner.Run("train", "--resume", Path.Combine(whole, RunFolder.CheckpointsFolder, "step-000002"), "--out", resumed);
        Assert.True(code == 0, err);
        var again = Rows(resumed, "train");
        Assert.Equal(4, again.Count);
        for (int i = 2; i < 4; i++) Assert.Equal((double)rows[i]["loss"]!, (double)again[i]["loss"]!, 1e-5);
        Assert.NotEqual((double)rows[0]["loss"]!, (double)rows[3]["loss"]!, 1e-3);

        (code, _, err) = CliRunner.Run(Train(Path.Combine(root, "shape"), "--ref-adapter", reference, "--rank", "4"));
        Assert.Equal(2, code);
        Assert.Contains("the adapter's own r, alpha and targets are used", err);
    }

    [Theory]
    [InlineData("--loss", "ipo")]
    [InlineData("--loss", "hinge")]
    [InlineData("--label-smoothing", "0.1")]
    [InlineData("--quantize", "nf4")]
    [InlineData("--method", "orpo")]
    public void Each_loss_and_a_quantized_base_train_with_a_falling_loss(string flag, string value)
    {
        var run = Path.Combine(TempDir.New(), "r");
        var (code, _, err) = CliRunner.Run(Train(run, flag, value, "--max-steps", "10"));
        Assert.True(code == 0, err);
        var rows = Rows(run, "train");
        Assert.True((double)rows[^1]["loss"]! < (double)rows[0]["loss"]!, $"{flag} {value}: {rows[0]["loss"]} → {rows[^1]["loss"]}");
        Assert.True((double)rows[^1]["rewards_accuracy"]! >= 0.5);
        if (value == "orpo") Assert.NotNull(rows[^1]["nll_loss"]);
    }

    [Theory]
    [InlineData(new[] { "--method", "lora", "--beta", "0.2" }, "--beta applies to --method dpo only")]
    [InlineData(new[] { "--orpo-alpha", "0.5" }, "--orpo-alpha applies to --method orpo only")]
    [InlineData(new[] { "--method", "orpo", "--precompute-ref" }, "--precompute-ref applies to --method dpo only")]
    [InlineData(new[] { "--loss", "ipo", "--label-smoothing", "0.1" }, "--label-smoothing applies to the sigmoid loss only")]
    [InlineData(new[] { "--max-prompt-length", "600" }, "must be below --max-seq-length")]
    [InlineData(new[] { "--packing" }, "--packing applies to --method lora, qlora, full or galore only")]
    [InlineData(new[] { "--long-examples", "drop" }, "--long-examples applies to --method lora, qlora, full or galore only")]
    [InlineData(new[] { "--method", "orpo", "--beta", "0.5" }, "--beta applies to --method dpo only")]
    [InlineData(new[] { "--streams", "2" }, "preference runs run one stream")]
    [InlineData(new[] { "--stop-rate-prompts", "4" }, "--stop-rate-prompts applies to --method lora, qlora, full or galore only")]
    public void Settings_a_method_would_ignore_are_refused(string[] extra, string message)
    {
        var (code, _, err) = CliRunner.Run(Train(Path.Combine(TempDir.New(), "r"), extra));
        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public void A_malformed_pair_is_one_line_with_file_line_and_field_and_a_supervised_file_is_named_as_such()
    {
        var dir = TempDir.New();
        var bad = Path.Combine(dir, "bad.jsonl");
        File.WriteAllLines(bad, [File.ReadAllLines(Pairs)[0], """{"prompt": "Say hi.", "chosen": "Hi."}"""]);
        var (code, _, err) = CliRunner.Run(Train(Path.Combine(dir, "r"), "--data", bad));
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("bad.jsonl:2", err);
        Assert.Contains("rejected", err);

        var sft = Path.Combine(dir, "sft.jsonl");
        File.WriteAllLines(sft, ["""{"instruction": "Say hi.", "output": "Hi."}"""]);
        (code, _, err) = CliRunner.Run(Train(Path.Combine(dir, "s"), "--data", sft));
        Assert.Equal(2, code);
        Assert.Contains("trains on preference pairs (prompt, chosen, rejected)", err);
    }

    [Fact]
    public void A_run_holds_out_pairs_validates_on_them_and_eval_run_scores_them_with_its_beta()
    {
        var run = Path.Combine(TempDir.New(), "r");
        var (code, _, err) = CliRunner.Run(Train(run, "--val-fraction", "0.34", "--batch-size", "2", "--micro-batch-size", "2", "--max-steps", "4",
            "--beta", "0.3", "--eval-every", "2"));
        Assert.True(code == 0, err);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, RunFolder.Validation)).Length);
        var evals = Rows(run, "eval").Concat(Rows(run, "epoch")).Where(r => r["val_loss"] is not null).ToList();
        Assert.NotEmpty(evals);
        Assert.NotNull(evals[0]["val_rewards_accuracy"]);
        Assert.Null(evals[0]["val_perplexity"]);
        var (c2, stdout, err2) = CliRunner.Run("eval", "--run", run, "--json");
        Assert.True(c2 == 0, err2);
        var root = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("dpo", root.GetProperty("task").GetString());
        Assert.Equal(0.3, root.GetProperty("beta").GetDouble());
        Assert.Equal(2, root.GetProperty("examples").GetInt32());
        var last = evals.Last(r => (int)r["step"]! == 4);
        Assert.Equal((double)last["val_loss"]!, root.GetProperty("results")[0].GetProperty("scores").GetProperty("dpo_loss").GetProperty("value").GetDouble(), 1e-4);
    }

    [Fact]
    public void A_resume_may_switch_to_a_precomputed_reference_which_gives_the_same_steps()
    {
        var root = TempDir.New();
        var whole = Path.Combine(root, "whole");
        Assert.Equal(0, CliRunner.Run(Train(whole, "--max-steps", "4", "--save-every", "2")).Code);
        var forked = Path.Combine(root, "forked");
        var (code, _, err) = CliRunner.Run("train", "--resume", Path.Combine(whole, RunFolder.CheckpointsFolder, "step-000002"), "--out", forked, "--precompute-ref");
        Assert.True(code == 0, err);
        var (a, b) = (Rows(whole, "train"), Rows(forked, "train"));
        for (int i = 2; i < 4; i++) Assert.Equal((double)a[i]["loss"]!, (double)b[i]["loss"]!, 1e-5);
    }

    [Fact]
    public void Pairs_given_to_supervised_commands_are_named_and_data_preview_refuses_what_train_would()
    {
        var dir = TempDir.New();
        var (code, _, err) = CliRunner.Run("train", "--model", Model, "--data", Pairs, "--out", Path.Combine(dir, "r"), "--max-steps", "1");
        Assert.Equal(2, code);
        Assert.Contains("this is preference data", err);
        (code, _, err) = CliRunner.Run("eval", "--model", Model, "--data", Pairs);
        Assert.Equal(2, code);
        Assert.Contains("this is preference data", err);

        (code, _, err) = CliRunner.Run("data", "preview", "--model", Model, "--data", Pairs, "--train-on-inputs");
        Assert.Equal(2, code);
        Assert.Contains("--train-on-inputs applies to --method lora, qlora, full or galore only", err);
        (code, _, err) = CliRunner.Run("data", "preview", "--model", Model, "--data", Pairs, "--max-prompt-length", "600");
        Assert.Equal(2, code);
        Assert.Contains("must be below", err);
    }

    [Fact]
    public void Train_help_lists_every_preference_flag_and_both_methods()
    {
        var (code, stdout, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, code);
        foreach (var flag in new[] { "--beta", "--loss", "--label-smoothing", "--orpo-alpha", "--max-prompt-length", "--ref-adapter", "--precompute-ref", "dpo", "orpo" })
            Assert.Contains(flag, stdout);
    }
}
