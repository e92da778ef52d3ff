namespace LoraLab.Hub;

/// Where the Hub is and how to talk to it, read from the variables huggingface_hub reads (so one setting serves
/// Python and LoraLab): HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN / the token file `huggingface-cli login`
/// writes (HF_TOKEN_PATH, default HF_HOME/token), HF_HUB_OFFLINE, HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT.
public sealed record HubEnvironment
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public string Endpoint { get; init; } = DefaultEndpoint;
    public required string CacheDir { get; init; }
    /// Which setting gave CacheDir, for `doctor`: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub or default.
    public string CacheSource { get; init; } = "default";
    public string? Token { get; init; }
    /// Where the token came from, for messages ("HF_TOKEN" or the token file's path).
    public string? TokenSource { get; init; }
    public bool Offline { get; init; }
    /// Seconds to wait for the metadata of a file, and for each read of a download.
    public TimeSpan MetadataTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan DownloadTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// Attempts per request on 5xx, 429 and dropped connections, waiting Backoff, 2·Backoff, 4·Backoff, ... between.
    public int Attempts { get; init; } = 5;
    public TimeSpan Backoff { get; init; } = TimeSpan.FromSeconds(1);

    static readonly HashSet<string> TrueValues = new(StringComparer.OrdinalIgnoreCase) { "1", "ON", "YES", "TRUE" };

    public static bool IsTrue(string? v) => v is not null && TrueValues.Contains(v.Trim());

    public static HubEnvironment FromEnvironment() => From(Environment.GetEnvironmentVariable);

    /// The settings from `get` (the process environment, or a test's table).
    public static HubEnvironment From(Func<string, string?> get)
    {
        string home = Nonempty(get("HF_HOME")) ?? Path.Combine(
            Nonempty(get("XDG_CACHE_HOME")) ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "huggingface");
        home = Expand(home, get);
        var (cacheSetting, cacheSource) = Nonempty(get("HF_HUB_CACHE")) is { } c ? (c, "HF_HUB_CACHE")
            : Nonempty(get("HUGGINGFACE_HUB_CACHE")) is { } legacy ? (legacy, "HUGGINGFACE_HUB_CACHE")
            : (Path.Combine(home, "hub"), Nonempty(get("HF_HOME")) is null ? "default" : "HF_HOME/hub");
        string cache = Expand(cacheSetting, get);
        string? token = Nonempty(get("HF_TOKEN")) ?? Nonempty(get("HUGGING_FACE_HUB_TOKEN")), source = token is null ? null : "HF_TOKEN";
        if (token is null)
        {
            string tokenPath = Expand(Nonempty(get("HF_TOKEN_PATH")) ?? Path.Combine(home, "token"), get);
            if (File.Exists(tokenPath) && Nonempty(File.ReadAllText(tokenPath).Trim()) is { } t) (token, source) = (t, tokenPath);
        }
        return new HubEnvironment
        {
            Endpoint = (Nonempty(get("HF_ENDPOINT")) ?? DefaultEndpoint).TrimEnd('/'),
            CacheDir = cache,
            CacheSource = cacheSource,
            Token = token,
            TokenSource = source,
            Offline = IsTrue(get("HF_HUB_OFFLINE")) || IsTrue(get("TRANSFORMERS_OFFLINE")),
            MetadataTimeout = Seconds(get("HF_HUB_ETAG_TIMEOUT"), 10),
            DownloadTimeout = Seconds(get("HF_HUB_DOWNLOAD_TIMEOUT"), 10),
        };
    }

    static string? Nonempty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    static TimeSpan Seconds(string? s, double fallback) =>
        TimeSpan.FromSeconds(double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback);

    /// `$VAR`, `${VAR}` and a leading `~` expanded as Python's expandvars/expanduser do (an unset variable stays as written).
    static string Expand(string path, Func<string, string?> get)
    {
        path = System.Text.RegularExpressions.Regex.Replace(path, @"\$(\w+|\{[^}]*\})",
            m => get(m.Groups[1].Value.Trim('{', '}')) ?? m.Value);
        if (path == "~" || path.StartsWith("~/"))
            path = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..];
        return Path.GetFullPath(path);
    }
}
