using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.Data.Preferences;
using LoraLab.ModelFiles;
using LoraLab.Tests.Adapters;
using LoraLab.Training.Preferences;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Preferences;

/// The preference objectives against the PyTorch reference (Fixtures/dpo, tools/make_dpo_reference.py): one optimizer
/// step's loss, metrics and adapter gradients for DPO's sigmoid loss, conservative DPO, IPO, hinge and ORPO, with the
/// six pairs split over three accumulated micro-batches (so the window normalisation is checked too), and
/// `eval --task dpo` on the pairs file (so the tokenisation is checked too).
[Collection("cli")]
public class DpoObjectiveTests
{
    static readonly string Dir = RepoFixtures.Path_("dpo");
    static readonly JsonElement Expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement;
    static string ModelDir => Path.GetFullPath(Path.Combine(Dir, Expected.GetProperty("model").GetString()!));
    static string AdapterDir => Path.Combine(Dir, Expected.GetProperty("adapter").GetString()!);
    static JsonElement Objective(string name) => Expected.GetProperty("objectives").GetProperty(name);

    static List<TokenizedPair> Pairs() => Expected.GetProperty("pairs").EnumerateArray().Select((p, i) => new TokenizedPair(i,
        Ids(p, "prompt_ids"), Ids(p, "chosen_ids"), Ids(p, "rejected_ids"), "prefs.jsonl", i + 1)).ToList();
    static int[] Ids(JsonElement pair, string field) => pair.GetProperty(field).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static TheoryData<string, TrainMethod, PreferenceLoss, double> Objectives => new()
    {
        { "sigmoid", TrainMethod.Dpo, PreferenceLoss.Sigmoid, 0 },
        { "sigmoid_ls", TrainMethod.Dpo, PreferenceLoss.Sigmoid, 0.1 },
        { "ipo", TrainMethod.Dpo, PreferenceLoss.Ipo, 0 },
        { "hinge", TrainMethod.Dpo, PreferenceLoss.Hinge, 0 },
        { "orpo", TrainMethod.Orpo, PreferenceLoss.Sigmoid, 0 },
    };

    [Theory]
    [MemberData(nameof(Objectives))]
    public void One_step_over_three_micro_batches_gives_the_reference_loss_metrics_and_gradients(string name, TrainMethod method, PreferenceLoss loss, double smoothing)
    {
        using var loaded = ModelLoader.Load(ModelDir, new LoadOptions { LoadTokenizer = false });
        var model = loaded.Model;
        PeftFormat.Load(AdapterDir, model);
        model.train();
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        Assert.Equal(2 * 7 * 2, trainable.Count);
        var expected = Objective(name);
        var settings = new PreferenceSettings(method, loss, Beta: 0.1, LabelSmoothing: smoothing, OrpoAlpha: 0.1);
        var loader = new PreferenceLoader(Pairs(), padId: 0, microBatchPairs: 2, seed: 0, shuffle: false);
        var objective = new PreferenceObjective(model, trainable.Select(t => t.parameter).ToList(), settings, loader, null, maxGradNorm: 0);
        var grads = new Dictionary<string, float[]>();
        using var opt = optim.SGD(trainable.Select(t => t.parameter), 0.0);
        var window = loader.Epoch(0).Cast<LoraLab.Data.IStepBatch>().ToList();
        Assert.Equal(3, window.Count);
        var outcome = objective.Step(opt, window, () =>
        {
            foreach (var (n, p) in trainable) grads[n] = p.grad!.data<float>().ToArray();
        });
        foreach (var b in window) b.Dispose();

        Assert.Equal(expected.GetProperty("dpo_loss").GetDouble(), outcome.Loss, 1e-5);
        foreach (var metric in new[] { "rewards_chosen", "rewards_rejected", "rewards_margin", "rewards_accuracy", "logps_chosen", "logps_rejected" })
            Assert.True(Math.Abs(expected.GetProperty(metric).GetDouble() - outcome.Metrics![metric]) < 1e-4, $"{name} {metric}: {outcome.Metrics![metric]} vs {expected.GetProperty(metric).GetDouble()}");

        using var file = SafeTensorsFile.Open(Path.Combine(Dir, expected.GetProperty("grads").GetString()!));
        Assert.Equal(file.Names.Count(), grads.Count);
        double worst = 0;
        foreach (var key in file.Names)
        {
            var module = key.Replace("base_model.model.", "").Replace(".lora_A.weight", "").Replace(".lora_B.weight", "");
            var part = key.Contains("lora_A") ? "lora_A" : "lora_B";
            var ours = grads.Single(g => g.Key.StartsWith(module + ".") && g.Key.Contains(part)).Value;
            using var reference = file.Read(key, ScalarType.Float32);
            var want = reference.data<float>().ToArray();
            Assert.Equal(want.Length, ours.Length);
            worst = Math.Max(worst, want.Zip(ours, (a, b) => (double)Math.Abs(a - b)).Max());
        }
        Assert.True(worst < 1e-5, $"{name}: largest gradient difference {worst:G3}");
    }

    [Fact]
    public void Eval_task_dpo_on_the_pairs_file_gives_the_reference_loss_and_rewards()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "--model", ModelDir, "--adapter", AdapterDir, "--data", Path.Combine(Dir, "prefs.jsonl"),
            "--task", "dpo", "--beta", "0.1", "--json");
        Assert.True(code == 0, stderr);
        var scores = JsonDocument.Parse(stdout).RootElement.GetProperty("results")[0].GetProperty("scores");
        Assert.Equal(["dpo_loss", "rewards_chosen", "rewards_rejected", "rewards_margin", "rewards_accuracy"],
            scores.EnumerateObject().Select(p => p.Name).ToArray());
        var expected = Objective("sigmoid");
        foreach (var key in new[] { "dpo_loss", "rewards_chosen", "rewards_rejected", "rewards_margin", "rewards_accuracy" })
            Assert.True(Math.Abs(expected.GetProperty(key).GetDouble() - scores.GetProperty(key).GetProperty("value").GetDouble()) < 1e-4, key);
    }

    [Fact]
    public void Eval_task_dpo_refuses_pairs_it_would_have_to_cut_and_beta_without_the_task()
    {
        var dir = TempDir.New();
        var longPair = Path.Combine(dir, "long.jsonl");
        File.WriteAllLines(longPair, [JsonSerializer.Serialize(new { prompt = string.Join(" ", Enumerable.Repeat("word", 700)), chosen = "Yes.", rejected = "No." })]);
        var (code, _, err) = CliRunner.Run("eval", "--model", ModelDir, "--adapter", AdapterDir, "--data", longPair, "--task", "dpo");
        Assert.Equal(2, code);
        Assert.Contains("do not fit the model's context of 512 tokens", err);

        var text = Path.Combine(dir, "text.jsonl");
        File.WriteAllLines(text, [JsonSerializer.Serialize(new { text = "a b c d" })]);
        (code, _, err) = CliRunner.Run("eval", "--model", ModelDir, "--data", text, "--beta", "0.5");
        Assert.Equal(2, code);
        Assert.Contains("--beta applies to --task dpo", err);
    }

    [Theory]
    [InlineData("bench")]
    [InlineData("estimate")]
    public void Bench_and_estimate_refuse_the_preference_methods_they_do_not_model(string verb)
    {
        var (code, _, err) = CliRunner.Run(verb, "--arch", "small", "--method", "dpo");
        Assert.Equal(2, code);
        Assert.Contains("dpo", err);
    }
}
