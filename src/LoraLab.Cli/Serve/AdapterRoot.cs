using LoraLab.IO;
using LoraLab.Serving;

namespace LoraLab.Cli.Serve;

/// The folder under which /v1/load_lora_adapter may load adapters. A requested path (relative to the root, or
/// absolute) counts only when its real path, every link resolved, lies inside the root's real path: `..`, absolute
/// paths elsewhere and links that lead out are all refused the same way.
public sealed class AdapterRoot
{
    public string Root { get; }

    public AdapterRoot(string root)
    {
        if (!Directory.Exists(root)) throw new UserException($"--adapter-root {root}: no such folder");
        Root = RealPath.Of(root);
    }

    /// The real folder `path` names, or a 400 refusal (param lora_path) when it is outside the root or not a folder.
    public string Resolve(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Contains('\0'))
            throw ServeRequestException.Invalid("'lora_path' must name a folder under the server's --adapter-root", "lora_path");
        string real;
        try { real = RealPath.Of(Path.Combine(Root, path)); }
        catch (Exception e) when (e is UserException or IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw ServeRequestException.Invalid($"'lora_path' {path}: {e.Message}", "lora_path");
        }
        if (!RealPath.IsWithin(real, Root))
            throw ServeRequestException.Invalid($"'lora_path' {path} is outside the server's --adapter-root (links and '..' are followed first)", "lora_path");
        if (!Directory.Exists(real)) throw ServeRequestException.Invalid($"'lora_path' {path}: no such folder under the server's --adapter-root", "lora_path");
        return real;
    }
}
