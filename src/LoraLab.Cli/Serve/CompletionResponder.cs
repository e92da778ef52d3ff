using System.Text;
using System.Text.Json;
using LoraLab.Serving;
using Microsoft.AspNetCore.Http;

namespace LoraLab.Cli.Serve;

/// Sends a completion back in OpenAI's shapes: one `chat.completion` / `text_completion` object, or with
/// `stream: true` server-sent events (`data: {chunk}` per piece of text, a last chunk with finish_reason, then
/// `data: [DONE]`). The client going away cancels the sequence (SubmitAsync holds RequestAborted).
public static class CompletionResponder
{
    public static async Task Send(HttpContext ctx, ServeEngine engine, CompletionCall call)
    {
        var abort = ctx.RequestAborted;
        var started = await engine.SubmitAsync(call.Request, abort);
        var id = (call.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var shape = new Shape(id, created, started.Model, call.Chat);
        try
        {
            if (call.Stream) await Stream(ctx, started, shape, call.IncludeUsage, abort);
            else await Whole(ctx, started, shape, abort);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested) { } // the client went away
        catch (IOException) when (abort.IsCancellationRequested) { }
    }

    static async Task Whole(HttpContext ctx, CompletionStream started, Shape shape, CancellationToken abort)
    {
        var text = new StringBuilder();
        CompletionEnd? end = null;
        await foreach (var e in started.Events.ReadAllAsync(abort))
            if (e is CompletionText t) text.Append(t.Text);
            else end = (CompletionEnd)e;
        if (Failure(end) is { } failure) { await ApiErrors.Write(ctx, failure.Status, failure.Message); return; }
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(ServeJson.Write(shape.Whole(text.ToString(), end!)), abort);
    }

    /// Each event is written as it arrives, and the response is flushed once for all the events ready at that moment:
    /// one flush a token while the client keeps up, fewer (with several pieces each) when it falls behind.
    static async Task Stream(HttpContext ctx, CompletionStream started, Shape shape, bool includeUsage, CancellationToken abort)
    {
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        if (shape.Chat) await Event(ctx, shape.Chunk(new { role = "assistant", content = "" }, null), abort);
        var events = started.Events;
        while (await events.WaitToReadAsync(abort))
        {
            while (events.TryRead(out var e))
            {
                if (e is CompletionText t)
                {
                    if (t.Text.Length > 0) await Event(ctx, shape.Chunk(shape.Chat ? new { content = t.Text } : t.Text, null), abort);
                    continue;
                }
                var end = (CompletionEnd)e;
                if (Failure(end) is { } failure)
                    await Event(ctx, ApiErrors.Body(failure.Status, failure.Message, null, null), abort);
                else
                {
                    await Event(ctx, shape.Chunk(shape.Chat ? new { } : "", Reason(end.Reason)), abort);
                    if (includeUsage) await Event(ctx, shape.UsageChunk(end), abort);
                }
            }
            await ctx.Response.Body.FlushAsync(abort);
        }
        await ctx.Response.WriteAsync("data: [DONE]\n\n", abort);
        await ctx.Response.Body.FlushAsync(abort);
    }

    static Task Event(HttpContext ctx, object payload, CancellationToken abort) =>
        ctx.Response.WriteAsync("data: " + ServeJson.Write(payload) + "\n\n", abort);

    /// An end that is not a completion: the model failed (500), or the server stopped before it ended (503).
    static (int Status, string Message)? Failure(CompletionEnd? end) => end switch
    {
        null => (500, "the completion ended without a result"),
        { Error: { } error } => (500, error),
        { Reason: FinishReason.Cancelled } => (503, "the server stopped before the completion ended"),
        _ => null,
    };

    static string Reason(FinishReason r) => r == FinishReason.Length ? "length" : "stop";

    /// The fields every object of one completion shares.
    sealed record Shape(string Id, long Created, string Model, bool Chat)
    {
        public object Whole(string text, CompletionEnd end) => Chat
            ? new
            {
                id = Id, @object = "chat.completion", created = Created, model = Model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, logprobs = (object?)null, finish_reason = Reason(end.Reason) } },
                usage = Usage(end),
            }
            : new
            {
                id = Id, @object = "text_completion", created = Created, model = Model,
                choices = new[] { new { index = 0, text, logprobs = (object?)null, finish_reason = Reason(end.Reason) } },
                usage = Usage(end),
            };

        /// A chunk: `delta` (chat) or `text` (completions), finish_reason null until the last.
        public object Chunk(object deltaOrText, string? finishReason) => Chat
            ? new
            {
                id = Id, @object = "chat.completion.chunk", created = Created, model = Model,
                choices = new[] { new { index = 0, delta = deltaOrText, logprobs = (object?)null, finish_reason = finishReason } },
            }
            : new
            {
                id = Id, @object = "text_completion", created = Created, model = Model,
                choices = new[] { new { index = 0, text = deltaOrText, logprobs = (object?)null, finish_reason = finishReason } },
            };

        /// stream_options.include_usage: a last chunk with no choices and the usage.
        public object UsageChunk(CompletionEnd end) => new
        {
            id = Id, @object = Chat ? "chat.completion.chunk" : "text_completion", created = Created, model = Model,
            choices = Array.Empty<object>(), usage = Usage(end),
        };

        static object Usage(CompletionEnd end) => new
        {
            prompt_tokens = end.PromptTokens,
            completion_tokens = end.CompletionTokens,
            total_tokens = end.PromptTokens + end.CompletionTokens,
        };
    }
}
