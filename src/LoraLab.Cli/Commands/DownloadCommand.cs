using System.ComponentModel;
using LoraLab.Hub;
using LoraLab.IO;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class DownloadSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandArgument(0, "<REPO>")]
    [Description("Hugging Face Hub model or adapter repo: org/name or org/name@revision.")]
    public string Repo { get; set; } = "";

    [CommandOption("--revision <R>")]
    [Description("Branch, tag or commit (default: main); the same as org/name@R.")]
    public string? Revision { get; set; }

    [CommandOption("--include <GLOB>")]
    [Description("Fetch the files matching GLOB, as huggingface-cli matches them (* spans folders too; a trailing / takes a whole folder; repeatable), instead of those loading needs. Pickles (*.bin, *.pt, ...) are never fetched.")]
    public string[] Include { get; set; } = [];

    [CommandOption("--local-dir <DIR>")]
    [Description("Also copy the files into DIR as plain files (not links into the cache), and print DIR instead of the snapshot folder.")]
    public string? LocalDir { get; set; }

    [CommandOption("--overwrite")]
    [Description("With --local-dir: replace files there that differ from the repo's.")]
    public bool Overwrite { get; set; }

    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }
}

/// `loralab download`: a Hub repo into the shared Hugging Face cache (the one Python's huggingface_hub uses). Prints
/// only the folder on stdout, so `--model "$(loralab download org/name)"` works; progress goes to stderr.
public sealed class DownloadCommand : Command<DownloadSettings>
{
    public override int Execute(CommandContext context, DownloadSettings s, CancellationToken cancellation)
    {
        var repo = HubRepoId.TryParse(s.Repo) ?? throw new UserException($"{s.Repo}: not a Hugging Face Hub repo id (org/name or org/name@revision)");
        if (s.Revision is { } revision)
        {
            if (s.Repo.Contains('@') && repo.Revision != revision)
                throw new UserException($"{s.Repo} and --revision {revision} name two revisions; give one");
            repo = HubRepoId.TryParse($"{repo.Id}@{revision}") ?? throw new UserException($"--revision {revision}: not a branch, tag or commit name");
        }
        if (s.Overwrite && s.LocalDir is null) throw new UserException("--overwrite applies to --local-dir only (the cache is never overwritten)");
        var include = s.Include.Length == 0 ? null : s.Include;
        var snapshot = new HubDownloader(ModelSource.Environment(), ModelSource.Progress).Snapshot(repo, include);
        Console.WriteLine(s.LocalDir is null ? snapshot : LocalCopy.Write(snapshot, include, s.LocalDir, s.Overwrite));
        return 0;
    }
}

/// `download --local-dir`: a snapshot's files copied out of the cache as plain files. The folder may hold other
/// files; one of the same name but other bytes is replaced only with --overwrite, and every conflict is found before
/// anything is written. Each file is written to a temporary name and renamed, so none is ever half there.
public static class LocalCopy
{
    public static string Write(string snapshot, IReadOnlyList<string>? include, string dir, bool overwrite)
    {
        var files = HubCache.RepoPaths(snapshot).Order(StringComparer.Ordinal).ToList();
        if (include is not null) files = HubFileSelection.Matching(files, include).ToList();
        using var held = OutputFolder.Claim(dir, overwrite: true, [new("snapshot", snapshot)], "--local-dir");
        var changed = files.Where(f => !Same(Path.Combine(snapshot, f), Path.Combine(dir, f))).ToList();
        var conflicts = changed.Where(f => File.Exists(Path.Combine(dir, f)) || Directory.Exists(Path.Combine(dir, f))).ToList();
        if (conflicts.Count > 0 && !overwrite)
            throw new UserException($"--local-dir {dir}: {string.Join(", ", conflicts.Take(5))}{(conflicts.Count > 5 ? $" and {conflicts.Count - 5} more" : "")} " +
                                    "already there with other contents (pass --overwrite to replace them, or choose another --local-dir)");
        foreach (var f in changed)
        {
            var target = Path.Combine(dir, f);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            AtomicFile.Write(target, tmp => File.Copy(Path.Combine(snapshot, f), tmp)); // the link's target: real bytes, not a link into the cache
        }
        return Path.GetFullPath(dir);
    }

    static bool Same(string a, string b)
    {
        if (!File.Exists(b) || new FileInfo(b).LinkTarget is not null) return false;
        using var sa = File.OpenRead(a); // through the cache's link to its blob
        using var sb = File.OpenRead(b);
        if (sa.Length != sb.Length) return false;
        return System.Security.Cryptography.SHA256.HashData(sa).AsSpan().SequenceEqual(System.Security.Cryptography.SHA256.HashData(sb));
    }
}
