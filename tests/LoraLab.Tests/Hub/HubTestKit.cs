using System.Collections.Concurrent;
using System.Text;
using LoraLab.Hub;

namespace LoraLab.Tests.Hub;

/// What the Hub tests share: an environment pointed at a FakeHub with tiny waits, small synthetic repos (the
/// downloader reads only names, the index and hashes, so the bytes need not be a real model), and a recording
/// IDownloadProgress.
static class HubTestKit
{
    public static HubEnvironment Env(FakeHub hub, string cache, string? token = null, bool offline = false, int attempts = 5) => new()
    {
        Endpoint = hub.Endpoint, CacheDir = cache, Token = token, TokenSource = token is null ? null : "HF_TOKEN",
        Offline = offline, Backoff = TimeSpan.FromMilliseconds(5), Attempts = attempts,
        MetadataTimeout = TimeSpan.FromSeconds(5), DownloadTimeout = TimeSpan.FromSeconds(5),
    };

    public static HubRepoId Id(string value) => HubRepoId.TryParse(value) ?? throw new ArgumentException(value);

    public static byte[] Bytes(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// config, tokenizer and one safetensors file of `weightBytes` random bytes.
    public static Dictionary<string, byte[]> SmallModel(int weightBytes = 64 << 10) => new()
    {
        ["config.json"] = Encoding.UTF8.GetBytes("{\"model_type\": \"llama\", \"hidden_size\": 8}"),
        ["tokenizer.json"] = Encoding.UTF8.GetBytes("{\"version\": \"1.0\"}"),
        ["model.safetensors"] = Bytes(weightBytes, 1),
    };

    /// The files of a snapshot folder, as relative paths.
    public static IEnumerable<string> FilesUnder(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)) : [];

    public static List<FakeHub.Request> Gets(FakeHub hub) => hub.Requests.Where(r => r.Method == "GET").ToList();
    public static List<FakeHub.Request> CdnGets(FakeHub hub) => Gets(hub).Where(r => r.Path.StartsWith("/cdn/")).ToList();
}

sealed class RecordingProgress : IDownloadProgress
{
    public ConcurrentQueue<string> Notes { get; } = new();
    public ConcurrentQueue<(string File, long? Size, long ResumedFrom)> Starts { get; } = new();
    public ConcurrentDictionary<string, long> Advanced { get; } = new();

    public IFileProgress Start(string file, long? size, long resumedFrom)
    {
        Starts.Enqueue((file, size, resumedFrom));
        Advanced.TryAdd(file, 0);
        return new Bar(this, file);
    }

    public void Note(string message) => Notes.Enqueue(message);

    sealed class Bar(RecordingProgress owner, string file) : IFileProgress
    {
        public void Advance(long bytes) => owner.Advanced.AddOrUpdate(file, bytes, (_, v) => v + bytes);
        public void Done() { }
    }
}
