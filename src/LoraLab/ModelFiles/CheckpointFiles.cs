using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.ModelFiles;

/// A model folder's weights, in one safetensors file or in shards, behind one name → tensor lookup.
/// Only safetensors is read: pickle checkpoints can run arbitrary code when loaded, so they are refused.
public sealed class CheckpointFiles : IDisposable
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";
    static readonly string[] PicklePatterns = { "*.bin", "*.pt", "*.pth", "*.ckpt" };

    readonly List<SafeTensorsFile> _files;
    readonly Dictionary<string, SafeTensorsFile> _owner;
    readonly List<string> _names;

    public string Folder { get; }
    /// What messages name: the single safetensors file, the shard index, or the folder of several files.
    public string Source { get; private init; } = "";
    /// Tensor names: the index's order for sharded checkpoints, otherwise header order, file by file.
    public IReadOnlyCollection<string> Names => _names;
    public IReadOnlyList<SafeTensorsFile> Files => _files;

    CheckpointFiles(string folder, List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> owner, List<string> names)
    {
        Folder = folder;
        _files = files;
        _owner = owner;
        _names = names;
    }

    /// Opens `model.safetensors`, else the shards listed by `model.safetensors.index.json`, else every
    /// `*.safetensors` in the folder. Every header is validated here.
    public static CheckpointFiles Open(string modelDir)
    {
        if (!Directory.Exists(modelDir))
            throw new UserException($"{modelDir}: model folder not found");
        string folder = Path.GetFullPath(modelDir);

        if (File.Exists(Path.Combine(folder, SingleFile)))
            return FromFiles(modelDir, new[] { Path.Combine(folder, SingleFile) });
        if (File.Exists(Path.Combine(folder, IndexFile)))
            return FromIndex(modelDir, folder);
        var any = Directory.GetFiles(folder, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        if (any.Length > 0)
            return FromFiles(modelDir, any);

        var pickles = PicklePatterns.SelectMany(p => Directory.GetFiles(folder, p)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        if (pickles.Length > 0)
            throw new UserException(
                $"{modelDir}: only pickle checkpoints found ({string.Join(", ", pickles)}); they are refused because loading pickle can run arbitrary code. " +
                "Convert them to safetensors first (e.g. load with PyTorch and save with safetensors.torch.save_file, or use Hugging Face's convert tool).");
        throw new UserException($"{modelDir}: no model weights found (expected {SingleFile}, {IndexFile}, or *.safetensors)");
    }

    static CheckpointFiles FromFiles(string shownDir, IEnumerable<string> paths)
    {
        var files = new List<SafeTensorsFile>();
        try
        {
            var owner = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            var names = new List<string>();
            foreach (var p in paths)
            {
                var f = SafeTensorsFile.Open(p);
                files.Add(f);
                foreach (var n in f.Names)
                {
                    if (owner.TryGetValue(n, out var other))
                        throw new UserException($"{shownDir}: tensor '{n}' is in both {Path.GetFileName(other.Path)} and {Path.GetFileName(p)}");
                    owner[n] = f;
                    names.Add(n);
                }
            }
            var list = paths.ToList();
            return new CheckpointFiles(shownDir, files, owner, names) { Source = list.Count == 1 ? Path.Combine(shownDir, Path.GetFileName(list[0])) : shownDir };
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    static CheckpointFiles FromIndex(string shownDir, string folder)
    {
        string indexPath = Path.Combine(folder, IndexFile);
        var weightMap = ReadWeightMap(indexPath);

        var files = new List<SafeTensorsFile>();
        try
        {
            var byShard = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            var owner = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach (var (name, shard) in weightMap)
            {
                if (!byShard.TryGetValue(shard, out var file))
                {
                    string shardPath = ShardPath(indexPath, folder, shard);
                    if (!File.Exists(shardPath))
                        throw new UserException($"{indexPath}: shard '{shard}' is missing from the model folder");
                    file = SafeTensorsFile.Open(shardPath);
                    files.Add(file);
                    byShard[shard] = file;
                }
                if (!file.Tensors.ContainsKey(name))
                    throw new UserException($"{indexPath}: tensor '{name}' is listed in shard '{shard}' but that shard does not contain it");
                owner[name] = file;
            }
            return new CheckpointFiles(shownDir, files, owner, weightMap.Select(kv => kv.Key).ToList()) { Source = Path.Combine(shownDir, IndexFile) };
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    /// The distinct shard files an index's weight_map names, in first-seen order (as checked when loading).
    public static IReadOnlyList<string> Shards(string indexPath) => ReadWeightMap(indexPath).Select(kv => kv.Value).Distinct().ToList();

    static List<KeyValuePair<string, string>> ReadWeightMap(string indexPath)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(Runtime.BoundedFile.ReadBytes(indexPath, Runtime.FileLimit.ShardIndex)); }
        catch (JsonException e) { throw new UserException($"{indexPath}: not valid JSON ({e.Message.Split('\n')[0]})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
                throw new UserException($"{indexPath}: missing 'weight_map' object (tensor name → shard file)");
            var result = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var kv in map.EnumerateObject())
            {
                if (kv.Value.ValueKind != JsonValueKind.String)
                    throw new UserException($"{indexPath}: weight_map entry '{kv.Name}' must be a shard file name (found {kv.Value.ValueKind})");
                if (!seen.Add(kv.Name))
                    throw new UserException($"{indexPath}: weight_map lists '{kv.Name}' twice");
                result.Add(new(kv.Name, kv.Value.GetString()!));
            }
            if (result.Count == 0)
                throw new UserException($"{indexPath}: weight_map is empty");
            return result;
        }
    }

    /// Shard names come from an untrusted file: they must name a file inside the model folder.
    static string ShardPath(string indexPath, string folder, string shard)
    {
        if (string.IsNullOrWhiteSpace(shard) || shard.Contains('\0'))
            throw new UserException($"{indexPath}: empty or invalid shard file name '{shard}'");
        if (Path.IsPathRooted(shard) || shard.StartsWith('/') || shard.StartsWith('\\') || (shard.Length >= 2 && shard[1] == ':'))
            throw new UserException($"{indexPath}: shard '{shard}' is an absolute path; shards must be files inside the model folder");
        if (shard.Split('/', '\\').Any(segment => segment == ".."))
            throw new UserException($"{indexPath}: shard '{shard}' contains '..'; shards must be files inside the model folder");
        string full = Path.GetFullPath(Path.Combine(folder, shard));
        string root = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;
        if (!full.StartsWith(root, StringComparison.Ordinal))
            throw new UserException($"{indexPath}: shard '{shard}' resolves outside the model folder");
        return full;
    }

    public SafeTensorInfo Info(string name) => Owner(name).Info(name);

    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null) => Owner(name).Read(name, dtype, device);

    public Tensor ReadRange(string name, long start, long count) => Owner(name).ReadRange(name, start, count);

    public bool Contains(string name) => _owner.ContainsKey(name);

    /// The path of the file (shard) that holds the tensor.
    public string FileOf(string name) => Owner(name).Path;

    SafeTensorsFile Owner(string name) =>
        _owner.TryGetValue(name, out var f) ? f : throw new UserException($"{Folder}: checkpoint has no tensor named '{name}'");

    public void Dispose() => _files.ForEach(f => f.Dispose());
}
