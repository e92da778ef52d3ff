using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.Evaluation;
using LoraLab.ModelFiles;
using LoraLab.Serving;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Serving;

/// The serving engine against the one-sequence path: whatever shares a batch, a greedy request's completion is what
/// `generate` gives for its adapter and prompt, and a batched prefill and decode step compute each row's logits as that
/// sequence's own forward pass does.
public class EngineTests
{
    static readonly string[] Prompts =
    [
        "Repeat the word twice: orange", "Count the words: bed peach sky", "Give the first word of the list: door field",
        "Repeat the word twice: cat", "Count the words: bird ring bag forest", "Give the first word of the list: sky pear",
    ];

    /// What `generate` prints and how many tokens it generated, for `prompt` on the base (raw text) or with an adapter
    /// (rendered with its recorded template), at most `max` new tokens.
    static (string Text, int Tokens) Generate(string? adapter, string prompt, int max)
    {
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        var tok = loaded.RequireTokenizer();
        int[] ids;
        int[] stops;
        if (adapter is null)
        {
            ids = tok.Encode(prompt, addBos: tok.AddBosByDefault).ToArray();
            stops = tok.EosId is int e ? [e] : [];
        }
        else
        {
            var report = AdapterLoading.Load(adapter, loaded);
            var builder = ServingTemplate.Builder(tok, null, report.Provenance, new List<string>())!;
            ids = builder.EncodePrompt(prompt);
            stops = builder.StopTokenIds.ToArray();
        }
        var stream = new TokenStream(tok);
        var text = new System.Text.StringBuilder();
        var r = TextGenerator.Generate(loaded.Model, ids, new SamplingOptions { MaxNewTokens = max, StopIds = stops }, id => text.Append(stream.Push(id)));
        return (text.Append(stream.Flush()).ToString(), r.Tokens.Count);
    }

    [Fact]
    public async Task ThirtyTwoConcurrentGreedyRequestsOverTheBaseAndTwoAdaptersEachEqualGenerate()
    {
        const int max = 12;
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        using var engine = new ServeEngine(loaded, new ServeOptions { MaxBatch = 8 });
        await engine.LoadAdapterAsync("first", ServedAdapters.First);
        await engine.LoadAdapterAsync("second", ServedAdapters.Second);
        Assert.Equal(["demo-base", "first", "second"], engine.Models().Select(m => m.Id));

        string?[] models = [null, "first", "second"];
        var requests = Enumerable.Range(0, 32).Select(i => (Adapter: models[i % 3], Prompt: Prompts[i % Prompts.Length] + new string('!', i / 12))).ToArray();
        var streams = await Task.WhenAll(requests.Select(r => engine.SubmitAsync(new CompletionRequest
        {
            Model = r.Adapter ?? engine.BaseId,
            Prompt = r.Adapter is null ? r.Prompt : null,
            Messages = r.Adapter is null ? null : [new ChatMessage(ChatMessage.User, r.Prompt)],
            MaxTokens = max,
            Temperature = 0,
        }, CancellationToken.None)));
        var results = await Task.WhenAll(streams.Select(Completions.Read));

        var dirs = new Dictionary<string, string> { ["first"] = ServedAdapters.First, ["second"] = ServedAdapters.Second };
        var expected = requests.Distinct().ToDictionary(r => r, r => Generate(r.Adapter is null ? null : dirs[r.Adapter], r.Prompt, max));
        for (int i = 0; i < requests.Length; i++)
        {
            var (text, tokens) = expected[requests[i]];
            Assert.True(text == results[i].Text, $"request {i} ({requests[i].Adapter ?? "base"}, '{requests[i].Prompt}'): served '{results[i].Text}', generate '{text}'");
            Assert.Equal(tokens, results[i].End.CompletionTokens);
            Assert.Equal(tokens < max ? FinishReason.Stop : FinishReason.Length, results[i].End.Reason);
            Assert.Null(results[i].End.Error);
        }
        // the adapters change the output: otherwise this test could not tell the routing apart
        Assert.NotEqual(expected[requests[1]].Text, expected[requests[2]].Text);
    }

    [Fact]
    public void ABatchedPrefillAndDecodeStepGiveEachRowItsOwnSequencesLogits()
    {
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        var model = loaded.Model;
        using var bank = new AdapterBank(model);
        using var _ = no_grad();
        int first, second;
        using (var w = PeftFormat.Read(ServedAdapters.First, model)) first = bank.Add(w);
        using (var w = PeftFormat.Read(ServedAdapters.Second, model)) second = bank.Add(w);
        using var cache = new LoraLab.Models.SlotKvCache(model.Config, 4, 64, model.Dtype, model.Device);
        // three sequences of different lengths in slots 2, 0, 3; routed to first, none, second
        long[][] seqs = [[1112, 5, 9, 33, 7], [1112, 40], [1112, 8, 8, 8, 8, 8, 8, 2]];
        int?[] routes = [first, null, second];
        int[] slots = [2, 0, 3];
        // the prompts (each sequence but its last token) prefilled together, right-padded with zeros, each row routed
        long t = seqs.Max(q => q.Length - 1);
        using (var padded = zeros(3, t, dtype: ScalarType.Int64))
        {
            for (int i = 0; i < 3; i++)
                using (var row = padded[i].narrow(0, 0, seqs[i].Length - 1)) row.copy_(tensor(seqs[i][..^1]));
            bank.Routing.PerRow(routes, model.Device);
            using var slotIds0 = tensor(slots.Select(s => (long)s).ToArray());
            using var lastIndex = tensor(seqs.Select(q => (long)q.Length - 2).ToArray());
            using var prefilled = model.LastLogits(padded, lastIndex, cache.Prefill(slotIds0, t));
            for (int i = 0; i < 3; i++)
            {
                bank.Routing.All(routes[i]);
                using var ids = tensor(seqs[i][..^1]).unsqueeze(0);
                using var own = model.Forward(ids);
                double diff = prefilled[i].sub(own.select(1, seqs[i].Length - 2).squeeze(0)).abs().max().item<float>();
                Assert.True(diff < 1e-4, $"row {i}: batched prefill logits differ from its own forward pass by {diff}");
            }
        }
        bank.Routing.PerRow(routes, model.Device);
        using var last = tensor(seqs.Select(s => s[^1]).ToArray());
        using var slotIds = tensor(slots.Select(s => (long)s).ToArray());
        using var positions = tensor(seqs.Select(s => (long)s.Length - 1).ToArray());
        using var batched = model.DecodeStep(last, slotIds, positions, seqs.Max(s => s.Length), cache);
        for (int i = 0; i < 3; i++)
        {
            bank.Routing.All(routes[i]);
            using var ids = tensor(seqs[i]).unsqueeze(0);
            using var full = model.Forward(ids);
            using var own = full.select(1, seqs[i].Length - 1).squeeze(0);
            double diff = batched[i].sub(own).abs().max().item<float>();
            Assert.True(diff < 1e-4, $"row {i}: batched logits differ from its own forward pass by {diff}");
        }
        // routing matters: the first row through the second adapter gives other logits
        bank.Routing.All(second);
        using (var ids = tensor(seqs[0]).unsqueeze(0))
        using (var other = model.Forward(ids))
            Assert.True(other.select(1, seqs[0].Length - 1).squeeze(0).sub(batched[0]).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public async Task StopStringsEndTheCompletionWithoutThemAndUnloadingRefusesNewRequests()
    {
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        using var engine = new ServeEngine(loaded, new ServeOptions { MaxBatch = 2 });
        await engine.LoadAdapterAsync("first", ServedAdapters.First);
        var request = new CompletionRequest { Model = "first", Messages = [new ChatMessage(ChatMessage.User, Prompts[0])], MaxTokens = 12, Temperature = 0 };
        var (full, _) = await Completions.Read(await engine.SubmitAsync(request, CancellationToken.None));
        Assert.True(full.Length >= 2, $"'{full}' is too short to cut");
        var stop = full.Substring(1, 1);
        var (cut, end) = await Completions.Read(await engine.SubmitAsync(request with { Stop = [stop] }, CancellationToken.None));
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], cut);
        Assert.Equal(FinishReason.Stop, end.Reason);

        Assert.Equal("lora_name", (await Assert.ThrowsAsync<ServeRequestException>(() => engine.LoadAdapterAsync("a\nb", ServedAdapters.First))).Param);
        await engine.UnloadAdapterAsync("first");
        var e = await Assert.ThrowsAsync<ServeRequestException>(() => engine.SubmitAsync(request, CancellationToken.None));
        Assert.Equal(404, e.Status);
        Assert.Equal(["demo-base"], engine.Models().Select(m => m.Id));
        var tooLong = await Assert.ThrowsAsync<ServeRequestException>(() => engine.SubmitAsync(
            new CompletionRequest { Model = engine.BaseId, Prompt = "x", MaxTokens = engine.MaxContext }, CancellationToken.None));
        Assert.Equal(("max_tokens", 400), (tooLong.Param, tooLong.Status));
        foreach (var (bad, param) in new (CompletionRequest, string)[]
        {
            (request with { Model = engine.BaseId, Messages = null, Prompt = "x", MaxTokens = 0 }, "max_tokens"),
            (request with { Model = engine.BaseId, Messages = null, Prompt = "x", Temperature = double.NaN }, "temperature"),
            (request with { Model = engine.BaseId, Messages = null, Prompt = "x", TopP = 0 }, "top_p"),
        })
            Assert.Equal(param, (await Assert.ThrowsAsync<ServeRequestException>(() => engine.SubmitAsync(bad, CancellationToken.None))).Param);
    }

    [Fact]
    public async Task IgnoreEosGoesOnToMaxTokens()
    {
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        using var engine = new ServeEngine(loaded, new ServeOptions { MaxBatch = 2 });
        await engine.LoadAdapterAsync("first", ServedAdapters.First);
        var request = new CompletionRequest { Model = "first", Messages = [new ChatMessage(ChatMessage.User, Prompts[2])], MaxTokens = 20, Temperature = 0 };
        var (text, end) = await Completions.Read(await engine.SubmitAsync(request, CancellationToken.None));
        Assert.Equal(FinishReason.Stop, end.Reason);
        Assert.True(end.CompletionTokens < 20, $"the adapter's reply '{text}' did not end early, so this test shows nothing");
        var (longer, fixedEnd) = await Completions.Read(await engine.SubmitAsync(request with { IgnoreEos = true }, CancellationToken.None));
        Assert.Equal((FinishReason.Length, 20), (fixedEnd.Reason, fixedEnd.CompletionTokens));
        Assert.StartsWith(text, longer);
    }

    [Fact]
    public async Task ACancelledRequestLeavesTheBatchAndTheOthersFinish()
    {
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        using var engine = new ServeEngine(loaded, new ServeOptions { MaxBatch = 2 });
        using var cancel = new CancellationTokenSource();
        var long1 = await engine.SubmitAsync(new CompletionRequest { Model = engine.BaseId, Prompt = "a b c", MaxTokens = 400, Temperature = 1, Seed = 3 }, cancel.Token);
        var other = await engine.SubmitAsync(new CompletionRequest { Model = engine.BaseId, Prompt = "a b", MaxTokens = 8, Temperature = 0 }, CancellationToken.None);
        cancel.Cancel();
        var (_, end) = await Completions.Read(long1);
        Assert.Equal(FinishReason.Cancelled, end.Reason);
        Assert.True(end.CompletionTokens < 400);
        var (_, otherEnd) = await Completions.Read(other);
        Assert.NotEqual(FinishReason.Cancelled, otherEnd.Reason);
        await engine.StopAsync(TimeSpan.FromSeconds(5));
        Assert.Equal((0, 0), (engine.Waiting, engine.Running));
    }
}
