using System.Text.RegularExpressions;

namespace LoraLab.Hub;

/// A Hugging Face Hub model repo named as the user names it: `org/name` or `org/name@revision` (a branch, tag or
/// commit; `main` when omitted). The repo rules are huggingface_hub's (letters, digits, `-`, `_`, `.`; no `--` or
/// `..`; not ending in `-` or `.`; at most 96 characters), so a value that breaks them stays a local path.
public sealed partial record HubRepoId(string Id, string Revision)
{
    public const string DefaultRevision = "main";

    [GeneratedRegex(@"^(?<org>[A-Za-z0-9][A-Za-z0-9_.\-]*)/(?<name>[A-Za-z0-9][A-Za-z0-9_.\-]*)(@(?<rev>\S+))?$")]   // ASCII: .NET's \w takes any letter
    private static partial Regex Pattern();

    /// `value` as a repo id, or null when it cannot be one (an absolute or dotted path, a bare name, a backslash).
    public static HubRepoId? TryParse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var m = Pattern().Match(value.Trim());
        if (!m.Success) return null;
        string org = m.Groups["org"].Value, name = m.Groups["name"].Value;
        foreach (var part in new[] { org, name })
            if (part.Contains("--") || part.Contains("..") || part.EndsWith('.') || part.EndsWith('-')) return null;
        if (org.Length + 1 + name.Length > 96) return null;
        var rev = m.Groups["rev"].Success ? m.Groups["rev"].Value : DefaultRevision;
        if (!HubCache.IsSafeFilePath(rev)) return null;   // refs/{revision} is a path in the cache: `..` must not leave it
        return new HubRepoId($"{org}/{name}", rev);
    }

    /// The repo's folder in the cache, as huggingface_hub names it: `models--org--name`.
    public string FolderName => "models--" + Id.Replace("/", "--");

    /// A full 40-hex commit hash pins the snapshot; a branch or tag is looked up.
    public bool RevisionIsCommit => Revision.Length == 40 && Revision.All(char.IsAsciiHexDigitLower);

    public override string ToString() => Revision == DefaultRevision ? Id : $"{Id}@{Revision}";
}
