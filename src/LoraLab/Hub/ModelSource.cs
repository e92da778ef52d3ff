using System.Collections.Concurrent;

namespace LoraLab.Hub;

/// Turns what a user wrote for a model or an adapter into a local folder: an existing path is itself; a value that
/// is not one and reads as `org/name[@revision]` is a Hugging Face Hub repo, fetched into (or found in) the shared
/// cache, and its snapshot folder is the answer; anything else comes back unchanged for the caller's own
/// "not found" message. Each value is resolved once per process.
public static class ModelSource
{
    /// Where download progress goes (the CLI sets its bars); null is silent.
    public static IDownloadProgress? Progress { get; set; }
    /// `--offline`: the cache only, as HF_HUB_OFFLINE=1.
    public static bool ForceOffline { get; set; }

    static readonly ConcurrentDictionary<string, string> Resolved = new();

    /// The environment the Hub calls use: the process's variables, with `--offline` on top.
    public static HubEnvironment Environment()
    {
        var env = HubEnvironment.FromEnvironment();
        return ForceOffline ? env with { Offline = true } : env;
    }

    /// The Hub repo `value` names, or null when it is an existing path or cannot be a repo id.
    public static HubRepoId? HubRepo(string? value) =>
        value is null || Directory.Exists(value) || File.Exists(value) ? null : HubRepoId.TryParse(value);

    /// `value` as a local folder (see the type's comment).
    public static string Resolve(string value)
    {
        if (HubRepo(value) is not { } repo) return value;
        var env = Environment();
        return Resolved.GetOrAdd($"{env.Offline}|{env.Endpoint}|{env.CacheDir}|{repo}", _ => Fetch(value, () => new HubDownloader(env, Progress).Snapshot(repo)));
    }

    /// The config.json of the Hub repo `value` names, fetched alone (`--arch org/name`: counting parameters and
    /// estimating memory need no weights); null when `value` is no repo id.
    public static string? ConfigOnly(string value)
    {
        if (HubRepo(value) is not { } repo) return null;
        var env = Environment();
        var dir = Resolved.GetOrAdd($"config|{env.Offline}|{env.Endpoint}|{env.CacheDir}|{repo}",
            _ => Fetch(value, () => new HubDownloader(env, Progress).Snapshot(repo, include: ["config.json"])));
        return Path.Combine(dir, "config.json");
    }

    /// `value` resolved when given, null otherwise.
    public static string? ResolveOptional(string? value) => value is null ? null : Resolve(value);

    /// What an adapter records as its base (`base_model_name_or_path`): the repo id for a Hub model, as PEFT
    /// records it, else the folder's full path.
    public static string BaseModelName(string value) => RecordableRepo(value)?.Id ?? Path.GetFullPath(value);

    /// The revision an adapter records beside its base (PEFT's `revision`): the one the Hub id names when it is not
    /// `main`, or the commit of a cached snapshot folder; null for a local folder.
    public static string? BaseModelRevision(string value) =>
        RecordableRepo(value) is { Revision: var rev } && rev != HubRepoId.DefaultRevision ? rev : null;

    /// The repo `value` names, or whose cached snapshot folder it is (`--model "$(loralab download org/name)"`:
    /// `.../models--org--name/snapshots/{commit}`), so the adapter records the repo rather than a cache path.
    static HubRepoId? RecordableRepo(string value)
    {
        if (HubRepo(value) is { } repo) return repo;
        var full = Path.GetFullPath(value).TrimEnd('/');
        var snapshots = Path.GetDirectoryName(full);
        var folder = Path.GetFileName(Path.GetDirectoryName(snapshots) ?? "");
        if (Path.GetFileName(snapshots) != "snapshots" || !folder.StartsWith("models--")) return null;
        var parts = folder["models--".Length..].Split("--");
        return parts.Length == 2 ? HubRepoId.TryParse($"{parts[0]}/{parts[1]}@{Path.GetFileName(full)}") : null;
    }

    static string Fetch(string value, Func<string> snapshot)
    {
        try { return snapshot(); }
        catch (Exception e) when (e is HubRepoNotFoundException or HubUnreachableException)
        {
            throw new UserException($"{value}: no such local folder, and as a Hugging Face Hub repo: {e.Message}", e);
        }
    }
}
