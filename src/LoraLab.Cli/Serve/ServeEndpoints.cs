using System.Text.Json;
using LoraLab.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LoraLab.Cli.Serve;

/// The routes of `loralab serve` (OpenAI's and vLLM's paths) and the checks in front of them: the API key on all
/// but /health, and one guard that turns every refusal, and every fault, into OpenAI's error object, so a bad
/// request ends in a 4xx and nothing else.
public static class ServeEndpoints
{
    public const string Health = "/health", MetricsPath = "/metrics", Models = "/v1/models", Chat = "/v1/chat/completions",
        Completions = "/v1/completions", LoadAdapter = "/v1/load_lora_adapter", UnloadAdapter = "/v1/unload_lora_adapter";
    static readonly string[] Known = [Health, MetricsPath, Models, Chat, Completions, LoadAdapter, UnloadAdapter];

    public static void Map(WebApplication app, ServeEngine engine, ServeMetrics metrics, AdapterRoot? root, ApiKeyCheck? key)
    {
        app.Use(async (ctx, next) =>
        {
            try { await next(ctx); }
            finally
            {
                var path = ctx.Request.Path.Value ?? "";
                metrics.Response(Known.Contains(path) ? path : "other", ctx.Response.StatusCode);
            }
        });
        if (key is not null)
            app.Use(async (ctx, next) =>
            {
                if (ctx.Request.Path == Health || key.Allows(ctx.Request.Headers.Authorization.ToString()))
                {
                    await next(ctx);
                    return;
                }
                ctx.Response.Headers.WWWAuthenticate = "Bearer";
                await ApiErrors.Write(ctx, 401, "Incorrect API key provided: send the server's key as `Authorization: Bearer KEY`.", null, "invalid_api_key");
            });

        app.MapGet(Health, () => Results.Text("ok"));
        app.MapGet(MetricsPath, (HttpContext ctx) => Guard(ctx, async () =>
        {
            ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.WriteText(ctx.Response.Body, ctx.RequestAborted);
        }));
        app.MapGet(Models, (HttpContext ctx) => Guard(ctx, () => ctx.Response.WriteAsJsonAsync<object>(new
        {
            @object = "list",
            data = engine.Models().Select(m => new
            {
                id = m.Id, @object = "model", created = m.Created, owned_by = "loralab", root = m.Root, parent = m.Parent, max_model_len = engine.MaxContext,
            }),
        }, ServeJson.Options)));
        app.MapPost(Chat, (HttpContext ctx) => Guard(ctx, async () =>
            await CompletionResponder.Send(ctx, engine, CompletionCall.ParseChat(await RequestFields.Read(ctx.Request.Body, ctx.RequestAborted)))));
        app.MapPost(Completions, (HttpContext ctx) => Guard(ctx, async () =>
            await CompletionResponder.Send(ctx, engine, CompletionCall.ParseCompletion(await RequestFields.Read(ctx.Request.Body, ctx.RequestAborted)))));
        app.MapPost(LoadAdapter, (HttpContext ctx) => Guard(ctx, async () =>
        {
            var f = await RequestFields.Read(ctx.Request.Body, ctx.RequestAborted);
            var name = f.RequiredString("lora_name");
            // the engine's rule, checked before the path so a bad name is named first
            if (!ServedModel.IsName(name)) throw RequestFields.WrongValue("lora_name", ServedModel.NameRule + ".");
            var path = f.RequiredString("lora_path");
            if (root is null)
                throw ServeRequestException.Invalid("Loading adapters at run time is off: start the server with --adapter-root DIR to allow folders under DIR.", "lora_path");
            var dir = root.Resolve(path);
            var warnings = new List<string>();
            await engine.LoadAdapterAsync(name, dir, warnings);
            foreach (var w in warnings) Console.Error.WriteLine($"warning: adapter {name}: {w}");
            Console.Error.WriteLine($"loaded adapter {name} from {dir}");
            await ctx.Response.WriteAsync($"Success: LoRA adapter '{name}' added successfully.");
        }));
        app.MapPost(UnloadAdapter, (HttpContext ctx) => Guard(ctx, async () =>
        {
            var f = await RequestFields.Read(ctx.Request.Body, ctx.RequestAborted);
            var name = f.RequiredString("lora_name");
            await engine.UnloadAdapterAsync(name);
            Console.Error.WriteLine($"unloaded adapter {name}");
            await ctx.Response.WriteAsync($"Success: LoRA adapter '{name}' removed successfully.");
        }));
        app.MapFallback((HttpContext ctx) => ApiErrors.Write(ctx, 404, $"No route {ctx.Request.Method} {ctx.Request.Path}; the server answers {string.Join(", ", Known)}."));
    }

    /// Runs a handler; a refusal becomes its 4xx, a body over the size limit 413, anything else 500 with one line
    /// on stderr, each as OpenAI's error object. The server goes on either way.
    static async Task Guard(HttpContext ctx, Func<Task> handler)
    {
        try { await handler(); }
        catch (ServeRequestException e) { await ApiErrors.Write(ctx, e); }
        catch (BadHttpRequestException e)
        {
            await ApiErrors.Write(ctx, e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"The request body is larger than the server's limit of {ServeOptionsDefaults.MaxBodyBytes} bytes." : e.Message);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { } // the client went away
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: {ctx.Request.Method} {ctx.Request.Path}: {e.GetType().Name}: {e.Message}");
            await ApiErrors.Write(ctx, 500, $"internal error: {e.Message}");
        }
    }
}
