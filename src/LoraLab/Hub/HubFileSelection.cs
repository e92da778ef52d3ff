using System.Text.RegularExpressions;
using LoraLab.Adapters;
using LoraLab.ModelFiles;

namespace LoraLab.Hub;

/// Which of a repo's files to fetch. For loading (the default): the config and generation config, the tokenizer
/// files, an adapter's config and provenance, and the safetensors weights: the shards its index names when it has
/// one, else model.safetensors / adapter_model.safetensors, else every top-level safetensors file. Never pickles
/// (`*.bin`, `*.pt`, ...: loading one can run code) and never other formats (.msgpack, .h5, .onnx, .gguf).
/// With `--include` globs: the files they match, still never pickles.
public static class HubFileSelection
{
    /// Small files loading reads, fetched first (the index says which shards follow).
    public static readonly IReadOnlyList<string> MetadataFiles =
    [
        "config.json", "generation_config.json",
        "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
        "chat_template.jinja", "chat_template.json",
        PeftFormat.ConfigFile, AdapterProvenance.FileName,
        IndexFile,
    ];

    public const string IndexFile = CheckpointFiles.IndexFile;

    static readonly string[] PickleExtensions = [".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"];

    public static bool IsPickle(string file) => PickleExtensions.Any(e => file.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// The metadata files the repo has.
    public static IReadOnlyList<string> Metadata(IReadOnlyList<string> files) => MetadataFiles.Where(files.Contains).ToList();

    /// The weight files to fetch once the metadata is local (`localPath` is where a fetched file is).
    public static IReadOnlyList<string> Weights(IReadOnlyList<string> files, Func<string, string> localPath)
    {
        if (files.Contains(IndexFile))
        {
            var shards = CheckpointFiles.Shards(localPath(IndexFile));
            var missing = shards.Where(s => !files.Contains(s)).ToList();
            if (missing.Count > 0) throw new UserException($"{IndexFile} names shards the repo does not have: {string.Join(", ", missing)}");
            return shards;
        }
        foreach (var single in new[] { CheckpointFiles.SingleFile, PeftFormat.WeightsFile })
            if (files.Contains(single)) return [single];
        return files.Where(f => !f.Contains('/') && f.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)).ToList();
    }

    /// The files matching any of `globs`, pickles left out. Globs match as `huggingface-cli download --include`
    /// matches them (Python's fnmatchcase): `*` matches any run of characters, `/` included, `?` one, `[abc]` and
    /// `[!abc]` a set; a glob ending in `/` takes the whole folder; case counts.
    public static IReadOnlyList<string> Matching(IReadOnlyList<string> files, IReadOnlyList<string> globs)
    {
        var patterns = globs.Select(g => ToRegex(g.EndsWith('/') ? g + "*" : g)).ToList();
        return files.Where(f => !IsPickle(f) && patterns.Any(p => p.IsMatch(f))).ToList();
    }

    static Regex ToRegex(string glob)
    {
        var re = new System.Text.StringBuilder("^");
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            int close = c == '[' ? glob.IndexOf(']', i + 2) : -1;
            if (c == '*') re.Append(".*");
            else if (c == '?') re.Append('.');
            else if (close > 0)
            {
                var set = glob[(i + 1)..close];
                re.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                i = close;
            }
            else re.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(re.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }
}
