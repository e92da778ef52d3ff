using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Adapters.Combining;
using LoraLab.ModelFiles;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// `loralab combine`: the written adapter's ΔW against Σ wᵢ·ΔWᵢ computed densely from the inputs as loaded by PeftFormat.
[Collection("cli")]
public class CombineTests
{
    /// A second adapter on tiny-llama with other ranks and scalings than the fixture's (r 2, rsLoRA, and v_proj at
    /// r 3 / alpha 5 through rank_pattern / alpha_pattern), so every scaling rule is folded into the result.
    static string OtherAdapter()
    {
        var dir = Path.Combine(TempDir.New("combine"), "other");
        using var m = LoraTestModels.LoadTiny();
        var cfg = new LoraConfig
        {
            R = 2, Alpha = 3, UseRslora = true, TargetModules = ["q_proj", "v_proj"],
            RankPattern = new Dictionary<string, int> { ["v_proj"] = 3 }, AlphaPattern = new Dictionary<string, double> { ["v_proj"] = 5 },
        };
        LoraInjector.Apply(m.Model, cfg, seed: 4);
        LoraTestModels.RandomizeB(m.Model, seed: 9);
        PeftFormat.Save(dir, m.Model, cfg);
        return dir;
    }

    /// Each adapted module's dense ΔW = s·B·A, as the model computes it after loading `adapter`.
    static Dictionary<string, Tensor> Deltas(string adapter)
    {
        using var m = LoraTestModels.LoadTiny();
        PeftFormat.Load(adapter, m.Model);
        return LoraInjector.Adapters(m.Model).ToDictionary(a => a.Path, a => a.DeltaWeight());
    }

    /// Base tiny-llama with W + Σ wᵢ·ΔWᵢ written into its weights, i.e. the reference the combined adapter must equal.
    static LoadedModel DenseSum(params (string Adapter, double Weight)[] parts)
    {
        var m = LoraTestModels.LoadTiny();
        var byPath = m.Model.Projections().ToDictionary(p => p.Path, p => p.Projection);
        foreach (var (adapter, w) in parts)
            foreach (var (path, d) in Deltas(adapter))
            {
                using var _ = no_grad();
                using var sum = byPath[path].Weight!.add(d.mul(w));
                m.Model.LoadTensor(path + ".weight", sum);
                d.Dispose();
            }
        return m;
    }

    static string Combine(params string[] args)
    {
        var outDir = Path.Combine(TempDir.New("combined"), "out");
        var (code, stdout, stderr) = CliRunner.Run(["combine", .. args, "--out", outDir]);
        Assert.True(code == 0, stderr + stdout);
        return outDir;
    }

    [Fact]
    public void CatEqualsTheWeightedSumOfTheDeltasAndSvdAtFullRankEqualsCat()
    {
        using var scope = NewDisposeScope();
        var other = OtherAdapter();
        var cat = Combine(LoraTestModels.TinyAdapterDir, other, "--weights=0.7,-0.4", "--method", "cat");
        var svd = Combine(LoraTestModels.TinyAdapterDir, other, "--weights=0.7,-0.4", "--method", "svd", "--rank", "7");

        using var reference = DenseSum((LoraTestModels.TinyAdapterDir, 0.7), (other, -0.4));
        using var ids = LoraTestModels.RandomIds();
        using var expected = LoraTestModels.Logits(reference.Model, ids);
        foreach (var combined in new[] { cat, svd })
        {
            using var m = LoraTestModels.LoadTiny();
            PeftFormat.Load(combined, m.Model);
            using var logits = LoraTestModels.Logits(m.Model, ids);
            float diff = logits.sub(expected).abs().max().item<float>();
            Assert.True(diff < 1e-5, $"{Path.GetFileName(Path.GetDirectoryName(combined))}: logits differ from base + 0.7·ΔW1 − 0.4·ΔW2 by {diff}");
        }

        var catDeltas = Deltas(cat);
        var svdDeltas = Deltas(svd);
        var expectedDeltas = Deltas(LoraTestModels.TinyAdapterDir).ToDictionary(kv => kv.Key, kv => kv.Value.mul(0.7));
        foreach (var (path, d) in Deltas(other)) expectedDeltas[path] = expectedDeltas[path].sub(d.mul(0.4));
        foreach (var (path, d) in expectedDeltas)
        {
            Assert.True(catDeltas[path].allclose(d, rtol: 0, atol: 1e-6), $"cat {path}");
            Assert.True(svdDeltas[path].allclose(catDeltas[path], rtol: 0, atol: 1e-4), $"svd {path}");
        }
        // cat stacks the ranks (q: 4 + 2, v: 4 + 3); svd at --rank 7 keeps all 6 of q's, so q's rank goes to rank_pattern
        using var loaded = LoraTestModels.LoadTiny();
        PeftFormat.Load(svd, loaded.Model);
        Assert.All(LoraInjector.Adapters(loaded.Model), a => Assert.Equal(a.Path.EndsWith("q_proj") ? 6 : 7, a.R));
        var svdConfig = PeftFormat.ReadConfig(svd);
        var pattern = svdConfig.RankPattern;
        Assert.NotEmpty(pattern);
        // each key reaches its module under both PEFT matching rules: older `.*\.{key}$`, newer `(.*\.)?({key})$`
        foreach (var a in LoraInjector.Adapters(loaded.Model).Where(a => a.R != svdConfig.R))
        {
            var key = Assert.Single(pattern.Keys, k => System.Text.RegularExpressions.Regex.IsMatch(a.Path, $@"(.*\.)?({k})$"));
            Assert.Matches($@".*\.{key}$", a.Path);
        }
    }

    [Fact]
    public void AnAdapterMinusItselfIsZeroAndSvdTruncatesToTheRequestedRank()
    {
        using var scope = NewDisposeScope();
        var zero = Combine(LoraTestModels.TinyAdapterDir, LoraTestModels.TinyAdapterDir, "--weights", "1,-1");
        foreach (var (path, d) in Deltas(zero))
            Assert.True(d.abs().max().item<float>() < 1e-7, $"{path}: ΔW of A − A is not zero");

        var negated = Combine(LoraTestModels.TinyAdapterDir, "--method", "linear", "--weights=-0.5");
        var full = Deltas(LoraTestModels.TinyAdapterDir);
        foreach (var (path, d) in Deltas(negated))
            Assert.True(d.allclose(full[path].mul(-0.5), rtol: 0, atol: 1e-6), $"linear of one adapter: {path}");

        var low = Combine(LoraTestModels.TinyAdapterDir, "--method", "svd", "--rank", "2");
        Assert.Equal(2, PeftFormat.ReadConfig(low).R);
        foreach (var (path, d) in Deltas(low))
        {
            // the best rank-2 approximation's error is the energy of the dropped singular values
            var s = linalg.svdvals(full[path].to(ScalarType.Float64));
            double dropped = s.narrow(0, 2, s.shape[0] - 2).square().sum().sqrt().item<double>();
            double error = d.to(ScalarType.Float64).sub(full[path]).norm().item<double>();
            Assert.True(Math.Abs(error - dropped) < 1e-5 * Math.Max(1, dropped), $"{path}: error {error}, dropped energy {dropped}");
        }
    }

    [Fact]
    public void ACombinedAdapterEvaluatesAsTheDenseSum()
    {
        using var scope = NewDisposeScope();
        var other = OtherAdapter();
        var combined = Combine(LoraTestModels.TinyAdapterDir, other, "--weights=1,0.5");
        using var ids = LoraTestModels.RandomIds(2, 24);
        var data = Path.Combine(TempDir.New("eval"), "eval.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 2).Select(i => JsonSerializer.Serialize(new { input_ids = ids[i].data<long>().ToArray() })));
        var (code, stdout, stderr) = CliRunner.Run("eval", "--model", LoraTestModels.TinyDir, "--adapter", combined, "--data", data, "--json");
        Assert.True(code == 0, stderr);
        using var reference = DenseSum((LoraTestModels.TinyAdapterDir, 1), (other, 0.5));
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(LoraTestModels.Loss(reference.Model, ids), doc.RootElement.GetProperty("loss").GetDouble(), 1e-5);
    }

    [Fact]
    public void AdaptersOfAnotherBaseOrOtherModulesAreRefused()
    {
        var root = TempDir.New("refuse");
        string Copy(string name, BaseFingerprint fingerprint) => CopyOfTinyAdapter(root, name, new AdapterProvenance { Template = "alpaca", BaseFingerprint = fingerprint });
        var fp = BaseFingerprint.Compute(LoraTestModels.TinyDir);
        var a = Copy("a", fp);
        var b = Copy("b", fp with { WeightsSha256 = new string('0', 64) });
        var (code, _, err) = CliRunner.Run("combine", a, b, "--out", Path.Combine(root, "out"));
        Assert.Equal(2, code);
        Assert.Contains($"{b}: trained on a different base than {a} (same architecture and shapes, but the sampled weights differ", err);
        Assert.False(Directory.Exists(Path.Combine(root, "out")));

        (code, _, err) = CliRunner.Run("combine", a, RepoFixtures.Path_("tiny-llama-lora-all"), "--out", Path.Combine(root, "out"));
        Assert.Equal(2, code);
        Assert.Contains("adapts module 'model.layers.0.mlp.down_proj', which", err);

        (code, _, err) = CliRunner.Run("combine", a, OtherAdapter(), "--method", "linear", "--out", Path.Combine(root, "out"));
        Assert.Equal(2, code);
        Assert.Contains("linear needs the same rank in every adapter, but module 'model.layers.0.self_attn.q_proj' has ranks 4, 2", err);

        var copy = Copy("c", fp);
        (code, _, err) = CliRunner.Run("combine", a, copy, "--out", Path.Combine(root, "c"));
        Assert.Equal(2, code);
        Assert.Contains("is the adapter folder", err);
        (code, _, err) = CliRunner.Run("combine", a, copy, "--weights", "1", "--out", Path.Combine(root, "out"));
        Assert.Equal(2, code);
        Assert.Contains("--weights has 1 value(s) for 2 adapter(s)", err);
    }

    /// ties at full rank writes exactly the TIES merge of the inputs' dense ΔWᵢ, and that adapter evaluates as base +
    /// merge; one adapter at density 1 comes back unchanged.
    [Fact]
    public void TiesWritesTheMergeOfTheDenseDeltasAndOneAdapterAtDensityOneIsItself()
    {
        using var scope = NewDisposeScope();
        var other = OtherAdapter();
        var ties = Combine(LoraTestModels.TinyAdapterDir, other, "--weights=0.7,-0.4", "--method", "ties", "--density", "0.3", "--rank", "64");
        var first = Deltas(LoraTestModels.TinyAdapterDir);
        var second = Deltas(other);
        var written = Deltas(ties);
        var merged = first.Keys.ToDictionary(p => p, p => TaskMerging.Ties(
            [first[p].to(ScalarType.Float64), second[p].to(ScalarType.Float64)], [0.7, -0.4], 0.3, MajoritySign.Total));
        foreach (var (path, d) in merged)
        {
            Assert.True(written[path].to(ScalarType.Float64).allclose(d, rtol: 0, atol: 1e-5), $"ties {path}");
            Assert.True(d.ne(0).sum().item<long>() <= d.numel() * 0.6, $"{path}: the trim kept more than 2 × 0.3 of the entries");
        }

        using var ids = LoraTestModels.RandomIds(2, 24);
        var data = Path.Combine(TempDir.New("eval"), "eval.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 2).Select(i => JsonSerializer.Serialize(new { input_ids = ids[i].data<long>().ToArray() })));
        var (code, stdout, stderr) = CliRunner.Run("eval", "--model", LoraTestModels.TinyDir, "--adapter", ties, "--data", data, "--json");
        Assert.True(code == 0, stderr);
        using var reference = LoraTestModels.LoadTiny();
        foreach (var p in reference.Model.Projections().Where(p => merged.ContainsKey(p.Path)))
        {
            using var _ = no_grad();
            using var sum = p.Projection.Weight!.add(merged[p.Path].to(ScalarType.Float32));
            reference.Model.LoadTensor(p.Path + ".weight", sum);
        }
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(LoraTestModels.Loss(reference.Model, ids), doc.RootElement.GetProperty("loss").GetDouble(), 1e-5);

        var same = Combine(LoraTestModels.TinyAdapterDir, "--method", "ties", "--density", "1");
        Assert.Equal(4, PeftFormat.ReadConfig(same).R); // the input's rank by default
        foreach (var (path, d) in Deltas(same))
            Assert.True(d.allclose(first[path], rtol: 0, atol: 1e-6), $"ties of one adapter at density 1: {path}");
    }

    [Fact]
    public void DareIsSeededAndAtDensityOneIsTheWeightedSum()
    {
        using var scope = NewDisposeScope();
        var other = OtherAdapter();
        string[] args = [LoraTestModels.TinyAdapterDir, other, "--weights=0.7,-0.4", "--method", "dare", "--density", "0.5", "--rank", "64"];
        var a = Deltas(Combine([.. args, "--seed", "3"]));
        var b = Deltas(Combine([.. args, "--seed", "3"]));
        var c = Deltas(Combine([.. args, "--seed", "4"]));
        foreach (var (path, d) in a)
        {
            Assert.True(d.allclose(b[path], rtol: 0, atol: 1e-7), $"same seed, {path}");
            Assert.False(d.allclose(c[path], rtol: 0, atol: 1e-4), $"another seed, {path}");
        }
        var full = Deltas(Combine(LoraTestModels.TinyAdapterDir, other, "--weights=0.7,-0.4", "--method", "dare", "--density", "1", "--rank", "7"));
        var first = Deltas(LoraTestModels.TinyAdapterDir);
        foreach (var (path, d) in Deltas(other))
            Assert.True(full[path].allclose(first[path].mul(0.7).sub(d.mul(0.4)), rtol: 0, atol: 1e-5), $"dare at density 1: {path}");
    }

    [Theory]
    [InlineData("--method ties", "--method ties needs --density (the fraction of each adapter's ΔW entries to keep, in (0, 1]; e.g. --density 0.2)")]
    [InlineData("--method dare --density 1.5", "--density must be in (0, 1] (got 1.5)")]
    [InlineData("--method ties --density 0", "--density must be in (0, 1] (got 0)")]
    [InlineData("--method svd --density 0.5", "--density applies to --method ties, dare and dare-ties only, not svd")]
    [InlineData("--method ties --density 0.5 --seed 1", "--seed applies to --method dare and dare-ties only (the others draw no random numbers), not ties")]
    [InlineData("--method dare --density 0.5 --majority-sign total", "--majority-sign applies to --method ties and dare-ties only, not dare")]
    [InlineData("--method ties --density 0.5 --majority-sign most", "--majority-sign 'most' is not total or frequency")]
    [InlineData("--method cat --rank 2", "--rank applies to --method svd, ties, dare and dare-ties only")]
    public void EntryWiseFlagsAreRefusedWhereTheyDoNotApply(string flags, string message)
    {
        var outDir = Path.Combine(TempDir.New("refuse"), "out");
        var (code, _, err) = CliRunner.Run(["combine", LoraTestModels.TinyAdapterDir, .. flags.Split(' '), "--out", outDir]);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.False(Directory.Exists(outDir));
    }

    /// The combined adapter can record one prompt policy only: combining adapters trained with different ones says so.
    [Fact]
    public void AdaptersWithDifferentPromptPoliciesAreCombinedWithAWarning()
    {
        var root = TempDir.New("policies");
        string Copy(string name, string template) => CopyOfTinyAdapter(root, name, new AdapterProvenance { Template = template });
        var (a, b, c) = (Copy("a", "alpaca"), Copy("b", "chatml"), Copy("c", "alpaca"));
        var (code, _, err) = CliRunner.Run("combine", a, b, "--out", Path.Combine(root, "ab"));
        Assert.True(code == 0, err);
        Assert.Contains($"warning: {b}: trained with another prompt policy (template chatml rather than alpaca) than {a}", err);
        (code, _, err) = CliRunner.Run("combine", a, c, "--out", Path.Combine(root, "ac"));
        Assert.True(code == 0, err);
        Assert.DoesNotContain("prompt policy", err);
    }

    /// The tiny-llama fixture adapter copied to ROOT/NAME with `provenance` recorded beside it.
    static string CopyOfTinyAdapter(string root, string name, AdapterProvenance provenance)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(LoraTestModels.TinyAdapterDir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        AdapterProvenance.Write(dir, provenance);
        return dir;
    }
}
