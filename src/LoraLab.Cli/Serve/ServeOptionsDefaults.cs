namespace LoraLab.Cli.Serve;

/// `serve`'s defaults and fixed limits, declared once (the flags' [DefaultValue] and the host read them).
public static class ServeOptionsDefaults
{
    public const string Host = "127.0.0.1";
    public const int Port = 8000;
    public const int MaxBatch = 8;
    public const double GraceSeconds = 10;
    /// Read when --api-key is absent.
    public const string ApiKeyVariable = "LORALAB_API_KEY";
    /// Largest request body accepted (Kestrel's MaxRequestBodySize); longer ones get 413 and the error object.
    public const long MaxBodyBytes = 1 << 20;
}
