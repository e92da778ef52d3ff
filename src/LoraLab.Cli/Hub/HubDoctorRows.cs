using LoraLab.Hub;

namespace LoraLab.Cli.Hub;

/// `loralab doctor`'s Hugging Face Hub rows: where the cache is and why, what it holds, the endpoint, whether a token
/// is set (never the token), and whether downloads are off.
public static class HubDoctorRows
{
    public static IReadOnlyList<(string Name, string Value)> Collect(Func<string, string?> get, bool forceOffline = false)
    {
        var env = HubEnvironment.From(get);
        var repos = new HubCache(env.CacheDir).Repos();
        bool Set(string name) => !string.IsNullOrWhiteSpace(get(name));
        return
        [
            ("Hub cache", $"{env.CacheDir} (from {env.CacheSource})"),
            ("Hub cache size", repos.Count == 0 ? (Directory.Exists(env.CacheDir) ? "empty" : "not created yet")
                : $"{DownloadProgressBars.Size(repos.Sum(r => r.Bytes))} in {repos.Count} repo{(repos.Count == 1 ? "" : "s")}"),
            ("Hub endpoint", env.Endpoint + (Set("HF_ENDPOINT") ? " (from HF_ENDPOINT)" : "")),
            ("Hub token", env.TokenSource is { } source ? $"set (from {source})" : "not set (gated and private repos need HF_TOKEN or `huggingface-cli login`)"),
            ("Hub offline", env.Offline || forceOffline ? "yes: the cache only (HF_HUB_OFFLINE)" : "no"),
        ];
    }
}
