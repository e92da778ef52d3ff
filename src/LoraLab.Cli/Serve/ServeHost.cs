using System.Runtime.InteropServices;
using LoraLab.Cli.Commands;
using LoraLab.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LoraLab.Cli.Serve;

/// `serve` from flags to a running server: the safety checks first (before the model loads), then the model, the
/// engine and the startup adapters, then Kestrel; the one stdout line says where it serves. SIGTERM or Ctrl+C
/// stops admitting, gives in-flight requests the grace period, stops Kestrel and returns 0 (a second signal ends it
/// at once).
public static class ServeHost
{
    public static int Run(ServeSettings s, CancellationToken cancellation)
    {
        var apiKey = s.ApiKey ?? Environment.GetEnvironmentVariable(ServeOptionsDefaults.ApiKeyVariable);
        if (string.IsNullOrEmpty(apiKey)) apiKey = null;
        var listen = ListenAddress.Parse(s.Host);
        if (!listen.IsLoopback && apiKey is null)
            throw new UserException($"--host {s.Host} can be reached from other machines: give --api-key KEY (or set {ServeOptionsDefaults.ApiKeyVariable}) so only clients with the key are served, or bind 127.0.0.1");
        var root = s.AdapterRoot is null ? null : new AdapterRoot(s.AdapterRoot);
        var adapters = s.Adapters.Select(AdapterArgument.Parse).ToList();
        if (adapters.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new UserException($"--adapter: the name '{twice.Key}' is given twice; each served adapter needs its own name");

        // without --model, the base the first adapter records (as generate and chat find it)
        if (s.Model is null && adapters.Count > 0)
            s.Model = ModelInputs.Model(null, ModelInputs.Adapter(adapters[0].Dir), ModelSettings.ModelRequired);
        s.Threads ??= ServeOptionsDefaults.Threads;
        using var loaded = ModelSession.Open(s);
        var metrics = new ServeMetrics();
        using var engine = new ServeEngine(loaded, new ServeOptions { MaxBatch = s.MaxBatch, MaxContext = s.MaxContext, Template = s.Template }, metrics);
        metrics.Watch(engine);
        Console.Error.WriteLine($"model {engine.BaseId} ({loaded.Dir}) · {loaded.Model.Device.type.ToString().ToLowerInvariant()} · {loaded.Model.Dtype} · {s.Threads} threads");
        foreach (var a in adapters)
        {
            var dir = ModelInputs.Adapter(a.Dir)!;
            var warnings = new List<string>();
            try { engine.LoadAdapterAsync(a.Name, dir, warnings).GetAwaiter().GetResult(); }
            catch (ServeRequestException e) { throw new UserException($"--adapter {a.Name}={a.Dir}: {e.Message}"); }
            foreach (var w in warnings) Console.Error.WriteLine($"warning: adapter {a.Name}: {w}");
            Console.Error.WriteLine($"adapter {a.Name} ({dir})");
        }
        Console.Error.WriteLine($"max batch {engine.MaxBatch} · context {engine.MaxContext} tokens · KV cache {engine.CacheBytes / (1024.0 * 1024):F1} MB" +
            $" · run-time adapters {(root is null ? "off (no --adapter-root)" : "from " + root.Root)} · API key {(apiKey is null ? "none" : "required")}");
        return Serve(s, listen, engine, metrics, root, apiKey is null ? null : new ApiKeyCheck(apiKey), cancellation).GetAwaiter().GetResult();
    }

    static async Task<int> Serve(ServeSettings s, ListenAddress listen, ServeEngine engine, ServeMetrics metrics, AdapterRoot? root, ApiKeyCheck? key, CancellationToken cancellation)
    {
        // The empty builder: no appsettings.json from the working folder, no ASPNETCORE_* variables, no logging to stdout.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "loralab" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Limits.MaxRequestBodySize = ServeOptionsDefaults.MaxBodyBytes;
            o.Listen(listen.Address, s.Port);
        });
        builder.Services.AddRoutingCore();
        // Kestrel stops after the engine: by then in-flight completions have ended, so only their last bytes are left.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        await using var app = builder.Build();
        ServeEndpoints.Map(app, engine, metrics, root, key);

        var stop = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The first signal stops gracefully; a second one, while that is under way, ends the process at once.
        void OnSignal(PosixSignalContext c) => c.Cancel = stop.TrySetResult(c.Signal.ToString());
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var cancelled = cancellation.Register(() => stop.TrySetResult("cancelled"));
        try { await app.StartAsync(); }
        catch (IOException e) { throw new UserException($"--host/--port: cannot listen on {listen.Url(s.Port)}: {e.Message}"); }

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.Out.WriteLine($"serving on {listen.Url(new Uri(bound).Port)}");
        Console.Out.Flush();

        var why = await stop.Task;
        Console.Error.WriteLine($"stopping ({why}): new requests get 503; in-flight ones have {s.GraceSeconds:0.##} s to finish");
        await engine.StopAsync(TimeSpan.FromSeconds(s.GraceSeconds));
        await app.StopAsync();
        Console.Error.WriteLine("stopped");
        return 0;
    }
}
