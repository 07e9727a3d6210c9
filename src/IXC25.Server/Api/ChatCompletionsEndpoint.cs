using System.Diagnostics;
using System.Text.Json;
using IXC25.Generation.Chat;
using IXC25.Runtime;
using IXC25.Server.Hosting;
using Microsoft.AspNetCore.Http;

namespace IXC25.Server.Api;

/// <summary>
/// POST /v1/chat/completions: parse, admit (bounded queue), generate on the engine, answer as one JSON body or as
/// server-sent events. Errors found before the first byte is sent (bad request, bad image, prompt too long, queue
/// full) are OpenAI error bodies with their status; a failure after a stream started is an error event before
/// <c>data: [DONE]</c>. The request's generation is cancelled when its client goes away or the server shuts down.
/// </summary>
internal static class ChatCompletionsEndpoint
{
    private static long s_counter;

    public static async Task Handle(HttpContext http, ServerContext server)
    {
        var stats = RequestStats.Of(http);
        var started = Stopwatch.StartNew();
        string status = "500";
        try
        {
            await HandleCore(http, server, stats);
            status = http.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (ApiError e)
        {
            status = e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            stats.Error ??= e.Message;
            if (!http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested) await e.WriteAsync(http.Response);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            status = "client_gone";
            stats.Error ??= "the client went away";
        }
        finally
        {
            server.Metrics.Requests.WithLabels(status).Inc();
            server.Metrics.Latency.Observe(started.Elapsed.TotalSeconds);
        }
    }

    private static async Task HandleCore(HttpContext http, ServerContext server, RequestStats stats)
    {
        string id = $"chatcmpl-{Interlocked.Increment(ref s_counter):x}{Guid.NewGuid():N}"[..29];
        stats.Id = id;
        http.Response.Headers["X-Request-Id"] = id;
        if (server.Stopping.IsCancellationRequested) throw ApiError.ShuttingDown("the server is shutting down");

        var parsed = CompletionRequestParser.Parse(await ReadBody(http, server.Options), server.ModelId, server.Options);
        stats.Stream = parsed.Stream;

        var (lease, waited) = await server.Admission.EnterAsync(http.RequestAborted);
        using var _ = lease;
        stats.QueueWait = waited;
        server.Metrics.QueueWait.Observe(waited.TotalSeconds);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, server.Cancelling);
        var job = GenerationJob.Start(server.Engine, parsed, cancel.Token);
        var json = new CompletionJson(id, server.ModelId, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        try
        {
            if (parsed.Stream) await Stream(http, server, job, json, parsed, stats, waited);
            else await Whole(http, server, job, json, stats, waited);
        }
        finally
        {
            // an early exit (client gone while writing) cancels the job; its slot is free only once the engine has returned
            await cancel.CancelAsync();
            await job.Completion;
        }
    }

    private static async Task Whole(HttpContext http, ServerContext server, GenerationJob job, CompletionJson json, RequestStats stats, TimeSpan waited)
    {
        await foreach (var e in job.Events.ReadAllAsync(CancellationToken.None))
        {
            switch (e)
            {
                case JobEvent.Failed f: throw Failure(f.Error, server, stats);
                case JobEvent.Done d:
                    Record(server, stats, d);
                    if (d.Finish == "cancelled") throw Cancelled(http, server);
                    http.Response.ContentType = "application/json";
                    await http.Response.Body.WriteAsync(json.Completion(d.Reply, d.Content, d.Finish, waited), http.RequestAborted);
                    return;
            }
        }
    }

    private static async Task Stream(HttpContext http, ServerContext server, GenerationJob job, CompletionJson json, ParsedCompletion parsed,
        RequestStats stats, TimeSpan waited)
    {
        bool started = false;
        var body = http.Response.Body;
        var ct = http.RequestAborted;
        async Task Begin()
        {
            if (started) return;
            started = true;
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            http.Response.Headers["X-Accel-Buffering"] = "no";
            await Event(body, json.Delta("", first: true), ct);
        }
        await foreach (var e in job.Events.ReadAllAsync(CancellationToken.None))
        {
            switch (e)
            {
                case JobEvent.Text t:
                    await Begin();
                    if (!ct.IsCancellationRequested) await Event(body, json.Delta(t.Delta, first: false), ct);
                    break;
                case JobEvent.Failed f:
                    var error = Failure(f.Error, server, stats);
                    if (!started || error is not ApiError apiError) throw error;
                    await Event(body, apiError.ToJsonBytes(), ct);
                    await Done(body, ct);
                    return;
                case JobEvent.Done d:
                    Record(server, stats, d);
                    if (d.Finish == "cancelled")
                    {
                        var c = Cancelled(http, server);
                        if (!started || c is not ApiError apiCancel) throw c;
                        await Event(body, apiCancel.ToJsonBytes(), ct);
                        await Done(body, ct);
                        return;
                    }
                    await Begin();
                    await Event(body, json.Finish(d.Reply, d.Finish, waited), ct);
                    if (parsed.IncludeUsage) await Event(body, json.UsageChunk(d.Reply), ct);
                    await Done(body, ct);
                    return;
            }
        }
    }

    private static async Task Event(Stream body, byte[] json, CancellationToken ct)
    {
        await body.WriteAsync("data: "u8.ToArray(), ct);
        await body.WriteAsync(json, ct);
        await body.WriteAsync("\n\n"u8.ToArray(), ct);
        await body.FlushAsync(ct);
    }

    private static async Task Done(Stream body, CancellationToken ct)
    {
        await body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), ct);
        await body.FlushAsync(ct);
    }

    private static void Record(ServerContext server, RequestStats stats, JobEvent.Done d)
    {
        var r = d.Reply;
        stats.PromptTokens = r.Prompt.TotalLength;
        stats.CompletionTokens = r.Generation.Tokens.Count;
        stats.ImageEncoding = r.ImageEncoding;
        stats.Prefill = r.LanguageModelPrefill;
        stats.Decode = r.Generation.Timings.Decode;
        stats.Finish = d.Finish;
        var m = server.Metrics;
        m.Finished.WithLabels(d.Finish).Inc();
        m.PromptTokens.Inc(r.Prompt.TotalLength);
        m.CompletionTokens.Inc(r.Generation.Tokens.Count);
        m.DecodeSeconds.Inc(r.Generation.Timings.Decode.TotalSeconds);
        m.PrefillSeconds.Inc((r.ImageEncoding + r.LanguageModelPrefill).TotalSeconds);
    }

    /// <summary>A generation stopped by its token: the client is gone (nothing to answer) or the server is shutting down (503).</summary>
    private static Exception Cancelled(HttpContext http, ServerContext server) =>
        http.RequestAborted.IsCancellationRequested ? new OperationCanceledException(http.RequestAborted)
        : ApiError.ShuttingDown(server.Cancelling.IsCancellationRequested ? "the server is shutting down; the generation was stopped" : "the generation was stopped");

    /// <summary>What a failed generation answers: input problems 400, the rest 500 (logged with its type).</summary>
    private static Exception Failure(Exception e, ServerContext server, RequestStats stats)
    {
        switch (e)
        {
            case IxcException x:
                server.Metrics.Finished.WithLabels("invalid").Inc();
                return ApiError.BadRequest(x.Message, "messages");
            case OperationCanceledException:
                server.Metrics.Finished.WithLabels("cancelled").Inc();
                return new OperationCanceledException();
            default:
                server.Metrics.Finished.WithLabels("error").Inc();
                stats.Error = $"{e.GetType().Name}: {e.Message}";
                return ApiError.Internal($"internal error ({e.GetType().Name}); see the server log");
        }
    }

    /// <summary>The JSON body, within the size limit (413 beyond it).</summary>
    private static async Task<JsonElement> ReadBody(HttpContext http, ServeOptions options)
    {
        if (http.Request.ContentLength > options.MaxBodyBytes)
            throw ApiError.TooLarge($"the request body of {http.Request.ContentLength} bytes exceeds the limit of {options.MaxBodyBytes} bytes");
        // the whole body in memory (JsonDocument would buffer it anyway; Kestrel stops it at MaxBodyBytes), then read as
        // CompletionRequestParser.ParseBody reads it: UTF-8 checked first, JSON with the body options
        var body = new MemoryStream();
        try
        {
            await http.Request.Body.CopyToAsync(body, http.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw ApiError.TooLarge($"the request body exceeds the limit of {options.MaxBodyBytes} bytes");
        }
        if (body.Length > options.MaxBodyBytes)
            throw ApiError.TooLarge($"the request body exceeds the limit of {options.MaxBodyBytes} bytes");
        return CompletionRequestParser.ReadJson(body.GetBuffer().AsMemory(0, (int)body.Length));
    }
}
