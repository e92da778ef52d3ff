using System.Text.Json;
using LoraLab.Serving;
using Microsoft.AspNetCore.Http;

namespace LoraLab.Cli.Serve;

/// OpenAI's error object, `{"error":{"message","type","param","code"}}`, which every refusal answers with.
public static class ApiErrors
{
    public static Task Write(HttpContext ctx, ServeRequestException e) => Write(ctx, e.Status, e.Message, e.Param, e.Code);

    public static async Task Write(HttpContext ctx, int status, string message, string? param = null, string? code = null)
    {
        if (ctx.Response.HasStarted) return;
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(ServeJson.Write(Body(status, message, param, code)), ctx.RequestAborted);
    }

    public static object Body(int status, string message, string? param, string? code) => new
    {
        error = new
        {
            message,
            type = status >= 500 ? "server_error" : "invalid_request_error", // as OpenAI types 401 and 404 too
            param,
            code,
        },
    };
}
