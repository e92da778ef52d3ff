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
    /// libtorch's threads without --threads: the physical cores but one, which the HTTP side (Kestrel, JSON, the
    /// streamed events of every request) needs beside the engine; with all cores to libtorch the two fought, and on a
    /// 2-core machine 8 streamed requests decoded half as fast (BENCHMARKS.md, "Serving").
    public static int Threads => Math.Max(1, LoraLab.Runtime.CpuTopology.PhysicalCores() - 1);
}
