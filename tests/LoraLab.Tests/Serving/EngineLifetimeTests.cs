using System.Runtime.CompilerServices;
using LoraLab.ModelFiles;
using LoraLab.Serving;
using Xunit;

namespace LoraLab.Tests.Serving;

/// What a request holds and when it lets go: a cancelled request ends at once even while it waits for a slot, and a
/// finished one is not kept alive by a cancellation token that outlives it.
public class EngineLifetimeTests
{
    static async Task<CompletionEnd> End(CompletionStream s) => (await Completions.Read(s)).End;

    /// The reasons requests ended with, in the order the engine ended them.
    sealed class EndOrder : IServeObserver
    {
        public readonly System.Collections.Concurrent.ConcurrentQueue<FinishReason> Reasons = new();
        public void Step(int batchSize, int waiting) { }
        public void FirstToken(string model, double secondsSinceSubmit) { }
        public void NextToken(string model, double secondsSincePrevious) { }
        public void Finished(string model, int promptTokens, int completionTokens, FinishReason reason) => Reasons.Enqueue(reason);
    }

    [Fact]
    public async Task AWaitingRequestWhoseClientGoesAwayEndsWithoutWaitingForASlot()
    {
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        var order = new EndOrder();
        using var engine = new ServeEngine(loaded, new ServeOptions { MaxBatch = 1 }, order);
        // four greedy requests ahead of it for the one slot, each decoding tens of tokens
        var ahead = new List<CompletionStream>();
        for (int i = 0; i < 4; i++)
            ahead.Add(await engine.SubmitAsync(new CompletionRequest { Model = engine.BaseId, Prompt = "a b c", Temperature = 0 }, CancellationToken.None));
        using var goAway = new CancellationTokenSource();
        var waiting = await engine.SubmitAsync(new CompletionRequest { Model = engine.BaseId, Prompt = "a b", MaxTokens = 4, Temperature = 0 }, goAway.Token);
        goAway.Cancel();
        Assert.Equal(FinishReason.Cancelled, (await End(waiting).WaitAsync(TimeSpan.FromSeconds(60))).Reason);
        foreach (var a in ahead) Assert.Equal(FinishReason.Stop, (await End(a)).Reason);
        // it ended at the next step, before the requests queued ahead of it were decoded
        int at = order.Reasons.ToList().IndexOf(FinishReason.Cancelled);
        Assert.True(at < 4, $"the cancelled request ended only when its turn for the slot came (after {at} others)");
        Assert.Equal((0, 0), (engine.Waiting, engine.Running));
    }

    [Fact]
    public void AFinishedRequestIsNotKeptAliveByALongLivedCancellationToken()
    {
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        using var engine = new ServeEngine(loaded, new ServeOptions { MaxBatch = 2, MaxContext = 64 });
        // e.g. the host's ApplicationStopping token, or one linked to it (Kestrel's RequestAborted is reset between requests)
        using var lifetime = new CancellationTokenSource();
        var first = Complete(engine, lifetime.Token);
        for (int i = 0; i < 3; i++) Complete(engine, lifetime.Token);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(first.IsAlive, "a finished request's sequence (and its channel) stays reachable from the caller's token");
    }

    /// One greedy request read to its end; a weak reference to its event channel.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference Complete(ServeEngine engine, CancellationToken token)
    {
        var s = engine.SubmitAsync(new CompletionRequest { Model = engine.BaseId, Prompt = "a b", MaxTokens = 3, Temperature = 0 }, token).GetAwaiter().GetResult();
        End(s).GetAwaiter().GetResult();
        return new WeakReference(s.Events);
    }
}
