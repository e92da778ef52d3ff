namespace LoraLab.Serving;

/// A request the server refuses, with the HTTP status and OpenAI error fields it answers with.
public sealed class ServeRequestException(int status, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    public static ServeRequestException NotFound(string message, string? param = "model") => new(404, message, param, "model_not_found");
    public static ServeRequestException Invalid(string message, string? param = null) => new(400, message, param);
}
