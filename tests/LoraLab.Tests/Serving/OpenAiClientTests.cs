using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace LoraLab.Tests.Serving;

/// `loralab serve` as the official `openai` npm client sees it: the script in node/ (openai pinned in its
/// package.json and lock; 6.x, the newest line that runs on Node 20, Debian's and most CI images' Node) lists the
/// models, and for the base and each adapter chats and completes, whole and streamed, greedy. Installed with `npm ci`
/// into a copy of node/ in the test's own scratch folder, so the repository never holds node_modules.
public class OpenAiClientTests
{
    [NodeFact]
    public void The_openai_client_lists_chats_streams_and_completes_with_every_adapter()
    {
        var dir = TempDir.New("openai-client");
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Serving", "node")))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var install = Node.Run("npm", dir, TimeSpan.FromMinutes(5), "ci", "--no-audit", "--no-fund", "--loglevel=error");
        Assert.True(install.Rc == 0, $"npm ci failed ({install.Rc}); the npm registry must be reachable:\n{install.Stderr}\n{install.Stdout}");

        using var server = ServeProcess.Demo();
        string baseId = Path.GetFileName(ServedAdapters.Base);
        string[] models = [baseId, "first", "second"];
        var run = Node.Run("node", dir, TimeSpan.FromMinutes(5), ["openai-check.mjs", server.Url, ServeProcess.DemoKey, .. models]);
        Assert.True(run.Rc == 0, $"openai-check.mjs exited {run.Rc}:\n{run.Stdout}\n{run.Stderr}\nserver stderr:\n{server.Stderr}");

        var summary = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Empty(summary.GetProperty("failures").EnumerateArray());
        Assert.Equal(models, summary.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        var chats = models.Select(m => summary.GetProperty("chat").GetProperty(m)).ToArray();
        foreach (var (model, kind) in models.SelectMany(m => new[] { (m, "chat"), (m, "completion") }))
        {
            var r = summary.GetProperty(kind).GetProperty(model);
            Assert.Equal(r.GetProperty("text").GetString(), r.GetProperty("streamed").GetString());
            Assert.Contains(r.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
            var usage = r.GetProperty("usage");
            Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 0, $"{model} {kind}: {usage}");
            Assert.True(usage.GetProperty("completion_tokens").GetInt32() is > 0 and <= 16, $"{model} {kind}: {usage}");
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(),
                usage.GetProperty("total_tokens").GetInt32());
        }
        // Each name reached its own weights: the adapters answer the same chat differently from the base.
        Assert.True(chats.Select(c => c.GetProperty("text").GetString()).Distinct().Count() > 1,
            $"the base and both adapters gave the same reply: {chats[0].GetProperty("text")}");
    }
}

/// Node and npm, found on PATH; a test needing them is skipped with the command that installs them.
static class Node
{
    public const string Install = "apt-get install -y nodejs npm";
    public static readonly Lazy<bool> Available = new(() => Works("node") && Works("npm"));

    static bool Works(string tool)
    {
        try { return Run(tool, Path.GetTempPath(), TimeSpan.FromMinutes(1), "--version").Rc == 0; }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    /// Runs `tool args` in `dir` to its end (killed after `limit`) and returns what it printed.
    public static (int Rc, string Stdout, string Stderr) Run(string tool, string dir, TimeSpan limit, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, stdout.Result, $"{tool} did not end within {limit.TotalMinutes:0} minutes\n{stderr.Result}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// A fact that needs Node and npm: skipped, naming the command that installs them, where they are missing.
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (!Node.Available.Value) Skip = $"node and npm are not installed ({Node.Install})";
    }
}
