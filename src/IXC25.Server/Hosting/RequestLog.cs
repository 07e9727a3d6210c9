using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace IXC25.Server.Hosting;

/// <summary>What one request did, filled in by its handler and written as one log line when it ends.</summary>
internal sealed class RequestStats
{
    public const string Key = "ixc25.stats";
    public string? Id { get; set; }
    public int? PromptTokens { get; set; }
    public int? CompletionTokens { get; set; }
    public TimeSpan? QueueWait { get; set; }
    public TimeSpan? ImageEncoding { get; set; }
    public TimeSpan? Prefill { get; set; }
    public TimeSpan? Decode { get; set; }
    public string? Finish { get; set; }
    public bool Stream { get; set; }
    public string? Error { get; set; }

    public static RequestStats Of(HttpContext c)
    {
        if (c.Items[Key] is RequestStats s) return s;
        s = new RequestStats();
        c.Items[Key] = s;
        return s;
    }
}

/// <summary>One JSON object per line per request (to stderr by default): id, method, path, status, tokens, queue wait, prefill, decode, tokens/s.</summary>
internal sealed class RequestLog(TextWriter writer)
{
    private readonly Lock _lock = new();

    public async Task Middleware(HttpContext context, RequestDelegate next)
    {
        var sw = Stopwatch.StartNew();
        try { await next(context); }
        finally { Write(context, sw.Elapsed); }
    }

    private void Write(HttpContext c, TimeSpan elapsed)
    {
        var s = c.Items[RequestStats.Key] as RequestStats;
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("ts", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("id", s?.Id ?? c.TraceIdentifier);
            w.WriteString("method", c.Request.Method);
            w.WriteString("path", c.Request.Path.Value);
            w.WriteNumber("status", c.Response.StatusCode);
            if (c.RequestAborted.IsCancellationRequested) w.WriteBoolean("client_gone", true);
            w.WriteNumber("ms", Math.Round(elapsed.TotalMilliseconds, 1));
            if (s is not null)
            {
                if (s.Stream) w.WriteBoolean("stream", true);
                if (s.PromptTokens is { } p) w.WriteNumber("prompt_tokens", p);
                if (s.CompletionTokens is { } n) w.WriteNumber("completion_tokens", n);
                Ms(w, "queue_ms", s.QueueWait);
                Ms(w, "image_ms", s.ImageEncoding);
                Ms(w, "prefill_ms", s.Prefill);
                Ms(w, "decode_ms", s.Decode);
                if (s.CompletionTokens is { } k && s.Decode is { TotalSeconds: > 0 } d) w.WriteNumber("tokens_per_s", Math.Round(k / d.TotalSeconds, 2));
                if (s.Finish is { } f) w.WriteString("finish", f);
                if (s.Error is { } e) w.WriteString("error", e);
            }
            w.WriteEndObject();
        }
        string line = System.Text.Encoding.UTF8.GetString(ms.ToArray());
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    private static void Ms(Utf8JsonWriter w, string name, TimeSpan? t)
    {
        if (t is { } v) w.WriteNumber(name, Math.Round(v.TotalMilliseconds, 1));
    }
}
