using LoraLab.Adapters;
using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// The adapter's one state value: every transition from every state gives the expected output (base, or base plus
/// the delta, computed here independently of the module) or is refused leaving state, weight and output as they were.
/// The double-apply rows (enable or disable after merge, merge while disabled, merge inside AdaptersOff, AdaptersOff
/// after a merge) gave base + 2·delta, or base + delta where the base was expected, with the old two flags.
public class AdapterStateTests
{
    const long In = 6, Out = 5;

    /// A projection with bias and a rank-2 adapter with non-zero B, plus its base and adapted outputs on `X`
    /// (2-D rows and a 3-D batch), computed from cloned weights with plain linear algebra.
    sealed class Fixture : IDisposable
    {
        public readonly Projection P = new("p", In, Out, bias: true);
        public readonly LoraAdapter A;
        public readonly Tensor W0, X2, X3, Base2, Base3, Adapted2, Adapted3, DeltaW;

        public Fixture()
        {
            var gen = new TorchSharp.torch.Generator(7);
            using (var w = randn(Out, In, generator: gen)) P.SetWeight(w);
            using (var b = randn(Out, generator: gen)) P.SetBias(b);
            A = LoraAdapter.Attach(P, new LoraSite("p", 0, "q_proj", In, Out, R: 2, Alpha: 4, Scaling: 2), dropout: 0, CPU);
            using var _ = no_grad();
            using (var a = randn(2, In, generator: gen)) A.lora_A.weight!.copy_(a);
            using (var bb = randn(Out, 2, generator: gen)) A.lora_B.weight!.copy_(bb);
            W0 = P.Weight!.clone();
            X2 = randn(3, In, generator: gen);
            X3 = randn(2, 3, In, generator: gen);
            DeltaW = A.lora_B.weight!.matmul(A.lora_A.weight!).mul(2.0);
            Base2 = nn.functional.linear(X2, W0, P.Bias);
            Base3 = nn.functional.linear(X3, W0, P.Bias);
            using (var d = nn.functional.linear(X2, DeltaW)) Adapted2 = Base2.add(d);
            using (var d = nn.functional.linear(X3, DeltaW)) Adapted3 = Base3.add(d);
        }

        /// The state reached through allowed transitions only.
        public void Reach(AdapterState s)
        {
            if (s == AdapterState.Disabled) A.Disable();
            else if (s == AdapterState.Merged) A.Merge();
        }

        /// State, weight and output (2-D and 3-D) are those of `s`: the delta counted once while active or merged, never while disabled.
        public void AssertIn(AdapterState s)
        {
            Assert.Equal(s, A.State);
            Assert.Equal(s == AdapterState.Active, P.AdapterActive);
            using var _ = no_grad();
            using var w = s == AdapterState.Merged ? W0.add(DeltaW) : W0.clone();
            Assert.True(P.Weight!.allclose(w, rtol: 0, atol: 1e-5), $"weight in state {s}");
            bool adds = s != AdapterState.Disabled;
            using var y2 = P.forward(X2);
            using var y3 = P.forward(X3);
            Assert.True(y2.allclose(adds ? Adapted2 : Base2, rtol: 1e-5, atol: 1e-5), $"2-D output in state {s}");
            Assert.True(y3.allclose(adds ? Adapted3 : Base3, rtol: 1e-5, atol: 1e-5), $"3-D output in state {s}");
        }

        public void Dispose()
        {
            foreach (var t in new[] { W0, X2, X3, Base2, Base3, Adapted2, Adapted3, DeltaW }) t.Dispose();
            P.Dispose();
        }
    }

    public enum Op { Enable, Disable, Merge, Unmerge }

    static void Apply(LoraAdapter a, Op op)
    {
        switch (op)
        {
            case Op.Enable: a.Enable(); break;
            case Op.Disable: a.Disable(); break;
            case Op.Merge: a.Merge(); break;
            case Op.Unmerge: a.Unmerge(); break;
        }
    }

    [Fact]
    public void ANewAdapterIsActiveAndAddsTheDelta()
    {
        using var f = new Fixture();
        Assert.False(f.Adapted2.allclose(f.Base2, rtol: 1e-3, atol: 1e-3)); // B is non-zero: the delta shows
        f.AssertIn(AdapterState.Active);
    }

    /// Every (state, transition): the state it leads to, or null where it is refused.
    [Theory]
    [InlineData(AdapterState.Active, Op.Enable, AdapterState.Active)]
    [InlineData(AdapterState.Active, Op.Disable, AdapterState.Disabled)]
    [InlineData(AdapterState.Active, Op.Merge, AdapterState.Merged)]
    [InlineData(AdapterState.Active, Op.Unmerge, null)]   // not merged
    [InlineData(AdapterState.Disabled, Op.Enable, AdapterState.Active)]
    [InlineData(AdapterState.Disabled, Op.Disable, AdapterState.Disabled)]
    [InlineData(AdapterState.Disabled, Op.Merge, null)]   // double-apply before: merged, then re-enabled on top
    [InlineData(AdapterState.Disabled, Op.Unmerge, null)] // not merged
    [InlineData(AdapterState.Merged, Op.Enable, null)]    // double-apply before: merged weight + adapter path
    [InlineData(AdapterState.Merged, Op.Disable, null)]   // before: "disabled" but the weight still held the delta
    [InlineData(AdapterState.Merged, Op.Merge, null)]     // merge twice
    [InlineData(AdapterState.Merged, Op.Unmerge, AdapterState.Active)]
    public void EveryTransitionGivesItsStatesOutputOrIsRefused(AdapterState from, Op op, AdapterState? to)
    {
        using var f = new Fixture();
        f.Reach(from);
        f.AssertIn(from);
        if (to is { } next)
        {
            Apply(f.A, op);
            f.AssertIn(next);
        }
        else
        {
            var e = Assert.Throws<InvalidOperationException>(() => Apply(f.A, op));
            Assert.StartsWith("p: ", e.Message); // names the module
            f.AssertIn(from);
        }
    }

    [Fact]
    public void AdaptersOffGivesTheBaseAndRestoresEachAdaptersState()
    {
        using var m = AdaptedTiny(out var baseModel);
        using (baseModel)
        using (var ids = LoraTestModels.RandomIds())
        using (var expectedBase = LoraTestModels.Logits(baseModel, ids))
        using (var adapted = LoraTestModels.Logits(m, ids))
        {
            Assert.False(adapted.allclose(expectedBase, rtol: 1e-3, atol: 1e-3));
            var adapters = LoraInjector.Adapters(m);
            adapters[0].Disable(); // one already off: it stays off afterwards, the others come back
            using (AdaptersOff.On(m))
            {
                Assert.All(adapters, a => Assert.Equal(AdapterState.Disabled, a.State));
                using var off = LoraTestModels.Logits(m, ids);
                Assert.True(off.allclose(expectedBase, rtol: 1e-5, atol: 1e-5));
                using (AdaptersOff.On(m)) { } // nested: the inner scope turns nothing back on
                Assert.All(adapters, a => Assert.Equal(AdapterState.Disabled, a.State));
            }
            Assert.Equal(AdapterState.Disabled, adapters[0].State);
            Assert.All(adapters.Skip(1), a => Assert.Equal(AdapterState.Active, a.State));
            adapters[0].Enable();
            using var back = LoraTestModels.Logits(m, ids);
            Assert.True(back.allclose(adapted, rtol: 1e-5, atol: 1e-5));
        }
    }

    /// Double-apply before: the merge set the weight, and the scope's end switched the adapter path back on.
    [Fact]
    public void MergingInsideAdaptersOffIsRefusedAndChangesNothing()
    {
        using var m = AdaptedTiny(out var baseModel);
        baseModel.Dispose();
        using var ids = LoraTestModels.RandomIds();
        using var adapted = LoraTestModels.Logits(m, ids);
        using (AdaptersOff.On(m))
            Assert.Throws<InvalidOperationException>(() => LoraInjector.MergeAll(m));
        Assert.All(LoraInjector.Adapters(m), a => Assert.Equal(AdapterState.Active, a.State));
        using var after = LoraTestModels.Logits(m, ids);
        Assert.True(after.allclose(adapted, rtol: 1e-5, atol: 1e-5));
    }

    /// Before: the scope "switched off" merged adapters and returned base + delta as the base.
    [Fact]
    public void AdaptersOffOnAMergedModelIsRefusedAndChangesNothing()
    {
        using var m = AdaptedTiny(out var baseModel);
        baseModel.Dispose();
        using var ids = LoraTestModels.RandomIds();
        using var adapted = LoraTestModels.Logits(m, ids);
        LoraInjector.MergeAll(m);
        var e = Assert.Throws<InvalidOperationException>(() => AdaptersOff.On(m));
        Assert.Contains("merged", e.Message);
        Assert.All(LoraInjector.Adapters(m), a => Assert.Equal(AdapterState.Merged, a.State));
        using var merged = LoraTestModels.Logits(m, ids);
        Assert.True(merged.allclose(adapted, rtol: 1e-4, atol: 1e-4));
        LoraInjector.UnmergeAll(m); // the way to the base of a merged model
        using (AdaptersOff.On(m)) Assert.All(LoraInjector.Adapters(m), a => Assert.Equal(AdapterState.Disabled, a.State));
    }

    /// The tiny model with adapters on every projection (head included) and non-zero B, and the same base without adapters.
    static CausalLM AdaptedTiny(out CausalLM baseModel)
    {
        baseModel = LoraTestModels.RandomTiny();
        var m = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m, new LoraConfig { R = 4, Alpha = 8, TargetModules = LoraTargets.Parse("all", true) }, seed: 1);
        LoraTestModels.RandomizeB(m);
        return m;
    }
}
