using System.Text.Encodings.Web;
using System.Text.Json;

namespace LoraLab.Cli.Serve;

/// How every response body is written: field names as declared (OpenAI's snake_case), text as it is (quotes and
/// non-ASCII not \u-escaped; these bodies are JSON, never embedded in HTML).
public static class ServeJson
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(object value) => JsonSerializer.Serialize(value, Options);
}
