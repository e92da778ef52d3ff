using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Tests.Adapters;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Preferences;

/// The DPO reference fixture (tests/LoraLab.Tests/Fixtures/dpo, made by tools/make_dpo_reference.py) agrees with
/// LoraLab's own tokenizer, loader and forward pass, and its numbers agree with each other, before any preference
/// code compares against it: a mismatch here is the fixture's, not the objective's.
public class DpoReferenceFixtureTests
{
    static readonly string Dir = RepoFixtures.Path_("dpo");
    static readonly JsonElement Expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement;
    static string ModelDir => Path.GetFullPath(Path.Combine(Dir, Expected.GetProperty("model").GetString()!));
    static string AdapterDir => Path.Combine(Dir, Expected.GetProperty("adapter").GetString()!);
    static List<JsonElement> Pairs => Expected.GetProperty("pairs").EnumerateArray().ToList();
    static int[] Ids(JsonElement pair, string field) => pair.GetProperty(field).EnumerateArray().Select(e => e.GetInt32()).ToArray();
    static double Num(JsonElement e, string field) => e.GetProperty(field).GetDouble();

    [Fact]
    public void Token_ids_are_what_LoraLab_encodes_under_the_stated_convention()
    {
        using var loaded = ModelLoader.Load(ModelDir);
        var tok = loaded.RequireTokenizer();
        // tiny-chat has no tokenizer_config.json: the SentencePiece default (add BOS) applies, and ExampleBuilder follows it
        Assert.True(tok.AddBosByDefault);
        Assert.True(new ExampleBuilder(tok, PromptTemplate.Get("plain")).AddsBos);
        Assert.Equal(Expected.GetProperty("add_bos").GetBoolean(), tok.AddBosByDefault);
        Assert.Equal(Expected.GetProperty("bos_id").GetInt32(), tok.BosId);
        Assert.Equal(Expected.GetProperty("eos_id").GetInt32(), tok.EosId);

        var rows = File.ReadAllLines(Path.Combine(Dir, Expected.GetProperty("data").GetString()!)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var pairs = Pairs;
        Assert.Equal(6, rows.Count);
        Assert.Equal(rows.Count, pairs.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            string Text(string f) => rows[i].GetProperty(f).GetString()!;
            foreach (var f in new[] { "prompt", "chosen", "rejected" }) Assert.Equal(Text(f), pairs[i].GetProperty(f).GetString());
            Assert.Equal(Ids(pairs[i], "prompt_ids"), tok.Encode(Text("prompt"), addBos: tok.AddBosByDefault));
            Assert.Equal(Ids(pairs[i], "chosen_ids"), tok.Encode(Text("chosen"), addEos: true));
            Assert.Equal(Ids(pairs[i], "rejected_ids"), tok.Encode(Text("rejected"), addEos: true));
        }
        // the set covers what the checks need: chosen sometimes shorter, sometimes longer than rejected
        Assert.Contains(pairs, p => Ids(p, "chosen_ids").Length < Ids(p, "rejected_ids").Length);
        Assert.Contains(pairs, p => Ids(p, "chosen_ids").Length > Ids(p, "rejected_ids").Length);
    }

    [Fact]
    public void Adapter_loads_onto_tiny_chat_and_both_models_give_the_reference_log_probs()
    {
        using var scope = NewDisposeScope(); // frees the forward passes' tensors
        using var loaded = ModelLoader.Load(ModelDir, new LoadOptions { LoadTokenizer = false });
        var model = loaded.Model;
        var pairs = Pairs;
        double[] Logps(string completion) => pairs.Select(p => CompletionLogp(model, Ids(p, "prompt_ids"), Ids(p, completion))).ToArray();
        var refChosen = Logps("chosen_ids");
        var refRejected = Logps("rejected_ids");

        var cfg = PeftFormat.Load(AdapterDir, model);
        Assert.Equal(4, cfg.R);
        Assert.Equal(8.0, cfg.Alpha);
        Assert.Equal(new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" }, cfg.TargetModules);
        Assert.Equal(7 * 2, LoraInjector.Adapters(model).Count); // every linear projection of both layers
        using var golden = LoraTestModels.GoldenIds(AdapterDir, out double goldenLoss);
        Assert.Equal(goldenLoss, LoraTestModels.Loss(model, golden), 1e-4);

        var polChosen = Logps("chosen_ids");
        var polRejected = Logps("rejected_ids");
        for (int i = 0; i < pairs.Count; i++)
        {
            Assert.Equal(Num(pairs[i], "ref_chosen_logps"), refChosen[i], 1e-4);
            Assert.Equal(Num(pairs[i], "ref_rejected_logps"), refRejected[i], 1e-4);
            Assert.Equal(Num(pairs[i], "policy_chosen_logps"), polChosen[i], 1e-4);
            Assert.Equal(Num(pairs[i], "policy_rejected_logps"), polRejected[i], 1e-4);
        }
        // the adapter matters: it moves the log-probs far beyond the checks' 1e-4
        Assert.True(polChosen.Zip(refChosen, (p, r) => Math.Abs(p - r)).Min() > 0.05);
    }

    [Fact]
    public void Each_objective_follows_from_the_per_pair_log_probs()
    {
        var pairs = Pairs;
        double[] Col(string f) => pairs.Select(p => Num(p, f)).ToArray();
        double[] Len(string f) => pairs.Select(p => (double)Ids(p, f).Length).ToArray();
        var (pc, pr, rc, rr) = (Col("policy_chosen_logps"), Col("policy_rejected_logps"), Col("ref_chosen_logps"), Col("ref_rejected_logps"));
        var (nc, nr) = (Len("chosen_ids"), Len("rejected_ids"));
        static double LogSigmoid(double x) => x >= 0 ? -Math.Log(1 + Math.Exp(-x)) : x - Math.Log(1 + Math.Exp(x));
        var objectives = Expected.GetProperty("objectives");
        Assert.Equal(new[] { "sigmoid", "sigmoid_ls", "ipo", "hinge", "orpo" }, objectives.EnumerateObject().Select(o => o.Name));
        foreach (var o in objectives.EnumerateObject())
        {
            var spec = o.Value;
            var kind = spec.GetProperty("loss").GetString();
            double[] losses, rewC, rewR;
            if (kind == "orpo")
            {
                double alpha = Num(spec, "alpha");
                var ac = pc.Zip(nc, (s, n) => s / n).ToArray();
                var ar = pr.Zip(nr, (s, n) => s / n).ToArray();
                double nll = -pc.Sum() / nc.Sum(); // mean over every chosen completion token of the batch
                static double Log1mExp(double x) => Math.Log(-(Math.Exp(x) - 1));
                losses = ac.Select((a, i) => nll - alpha * LogSigmoid(a - ar[i] - (Log1mExp(a) - Log1mExp(ar[i])))).ToArray();
                Assert.Equal(nll, Num(spec, "nll"), 1e-5);
                (rewC, rewR) = (ac.Select(a => alpha * a).ToArray(), ar.Select(a => alpha * a).ToArray());
            }
            else
            {
                double beta = Num(spec, "beta");
                var z = pc.Select((_, i) => pc[i] - rc[i] - (pr[i] - rr[i])).ToArray();
                losses = kind switch
                {
                    "sigmoid" => z.Select(d => -(1 - Num(spec, "label_smoothing")) * LogSigmoid(beta * d) - Num(spec, "label_smoothing") * LogSigmoid(-beta * d)).ToArray(),
                    "hinge" => z.Select(d => Math.Max(0, 1 - beta * d)).ToArray(),
                    "ipo" => z.Select((_, i) => Math.Pow((pc[i] - rc[i]) / nc[i] - (pr[i] - rr[i]) / nr[i] - 1 / (2 * beta), 2)).ToArray(),
                    _ => throw new InvalidOperationException(kind),
                };
                (rewC, rewR) = (pc.Select((p, i) => beta * (p - rc[i])).ToArray(), pr.Select((p, i) => beta * (p - rr[i])).ToArray());
            }
            Assert.Equal(losses.Average(), Num(spec, "dpo_loss"), 1e-5);
            Assert.Equal(rewC.Average(), Num(spec, "rewards_chosen"), 1e-5);
            Assert.Equal(rewR.Average(), Num(spec, "rewards_rejected"), 1e-5);
            Assert.Equal(rewC.Zip(rewR, (c, r) => c - r).Average(), Num(spec, "rewards_margin"), 1e-5);
            Assert.Equal(rewC.Zip(rewR, (c, r) => c > r ? 1.0 : 0.0).Average(), Num(spec, "rewards_accuracy"), 1e-6);
            Assert.Equal(pc.Average(), Num(spec, "logps_chosen"), 1e-4);
            Assert.Equal(pr.Average(), Num(spec, "logps_rejected"), 1e-4);
        }
    }

    [Fact]
    public void Gradient_files_hold_one_tensor_per_adapter_weight()
    {
        using var adapter = SafeTensorsFile.Open(Path.Combine(AdapterDir, PeftFormat.WeightsFile));
        Assert.Equal(2 * 7 * 2, adapter.Names.Count);
        foreach (var o in Expected.GetProperty("objectives").EnumerateObject())
        {
            using var scope = NewDisposeScope(); // frees the read tensors
            using var grads = SafeTensorsFile.Open(Path.Combine(Dir, o.Value.GetProperty("grads").GetString()!));
            Assert.Equal(adapter.Names, grads.Names);
            double maxAbs = 0;
            foreach (var name in adapter.Names)
            {
                var g = grads.Read(name);
                Assert.Equal(ScalarType.Float32, g.dtype);
                Assert.Equal(adapter.Info(name).Shape, grads.Info(name).Shape);
                Assert.True(g.isfinite().all().item<bool>(), $"{o.Name}: {name} is not finite");
                Assert.True(g.abs().max().item<float>() > 0, $"{o.Name}: {name} has no gradient");
                maxAbs = Math.Max(maxAbs, g.abs().max().item<float>());
            }
            Assert.Equal(Num(o.Value, "grads_max_abs"), maxAbs, 1e-9);
        }
    }

    /// Sum of log-softmax over the completion's tokens (EOS included), each predicted from the position before it.
    static double CompletionLogp(CausalLM model, int[] prompt, int[] completion)
    {
        using var _ = no_grad();
        var ids = prompt.Concat(completion).Select(i => (long)i).ToArray();
        using var input = tensor(ids[..^1], dtype: ScalarType.Int64).unsqueeze(0);
        using var logp = model.Forward(input).log_softmax(-1).squeeze(0);
        double sum = 0;
        for (int j = 0; j < completion.Length; j++) sum += logp[prompt.Length - 1 + j, completion[j]].item<float>();
        return sum;
    }
}
