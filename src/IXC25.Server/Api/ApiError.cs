using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace IXC25.Server.Api;

/// <summary>
/// An error answered in OpenAI's shape, <c>{"error":{"message","type","param","code"}}</c>, with its HTTP status.
/// Thrown by request parsing and admission; written by <see cref="WriteAsync"/>.
/// </summary>
public sealed class ApiError(int status, string message, string type, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    /// <summary>Seconds for a Retry-After header (429, 503), or null.</summary>
    public int? RetryAfter { get; init; }

    public static ApiError BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    public static ApiError Unauthorized(string message) =>
        new(StatusCodes.Status401Unauthorized, message, "invalid_request_error", null, "invalid_api_key");

    public static ApiError NotFound(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status404NotFound, message, "invalid_request_error", param, code);

    public static ApiError TooLarge(string message) =>
        new(StatusCodes.Status413PayloadTooLarge, message, "invalid_request_error", null, "request_too_large");

    public static ApiError QueueFull(int retryAfter) =>
        new(StatusCodes.Status429TooManyRequests, "the server's queue is full; retry later", "rate_limit_exceeded", null, "queue_full") { RetryAfter = retryAfter };

    public static ApiError ShuttingDown(string message) =>
        new(StatusCodes.Status503ServiceUnavailable, message, "server_error", null, "shutting_down") { RetryAfter = 5 };

    public static ApiError Internal(string message) =>
        new(StatusCodes.Status500InternalServerError, message, "server_error", null, null);

    /// <summary>The error object (also sent as an SSE event when a stream fails after it started).</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", Message);
        w.WriteString("type", Type);
        if (Param is null) w.WriteNull("param"); else w.WriteString("param", Param);
        if (Code is null) w.WriteNull("code"); else w.WriteString("code", Code);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public byte[] ToJsonBytes()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) WriteJson(w);
        return ms.ToArray();
    }

    public async Task WriteAsync(HttpResponse response)
    {
        response.StatusCode = Status;
        response.ContentType = "application/json";
        if (RetryAfter is { } s) response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Status == StatusCodes.Status401Unauthorized) response.Headers.WWWAuthenticate = "Bearer";
        await response.Body.WriteAsync(ToJsonBytes(), response.HttpContext.RequestAborted);
    }
}
