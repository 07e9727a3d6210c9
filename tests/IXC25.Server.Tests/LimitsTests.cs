using System.Net;
using System.Text.Json;

namespace IXC25.Server.Tests;

/// <summary>Cancellation by disconnect, the bounded queue (429 only when full), stop sequences, shutdown, the log and /metrics.</summary>
[Collection(ServerCollection.Name)]
public sealed class LimitsTests(ServerFixture f)
{
    private static object Long(IxcServer s, bool stream, string question = "Tell me a long story.") => new
    {
        model = s.ModelId,
        messages = new[] { new { role = "user", content = question } },
        max_tokens = 16000, // the tiny checkpoint's max_length is 16384: as long as a generation can be, so a late disconnect is still seen
        temperature = 0,
        stream,
    };

    /// <summary>Starts a long streamed generation and returns once its first chunk has arrived.</summary>
    private async Task<(HttpResponseMessage Response, Stream Body)> StartLongStream(IxcServer s, string key)
    {
        var r = await f.Post(s, Long(s, stream: true), key, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await r.Content.ReadAsStreamAsync();
        var buf = new byte[64];
        Assert.True(await body.ReadAsync(buf) > 0);
        return (r, body);
    }

    [Fact]
    public async Task AClientThatDisconnectsCancelsItsGeneration()
    {
        double before = await f.Metric(f.Main, "ixc25_generations_total{reason=\"cancelled\"}");
        double tokensBefore = await f.Metric(f.Main, "ixc25_completion_tokens_total");
        var (r, body) = await StartLongStream(f.Main, ServerFixture.Key);
        await Task.Delay(100);
        body.Dispose();
        r.Dispose();   // closes the connection
        // the generation stops within a few decode steps, far from its 16000 tokens, and its slot is free again
        double after = 0;
        await ServerFixture.Until(async () => (after = await f.Metric(f.Main, "ixc25_generations_total{reason=\"cancelled\"}")) > before, "the cancelled generation", 60);
        await ServerFixture.Until(() => f.Main.Load.Running == 0, "the slot to be free");
        Assert.Equal(before + 1, after);
        // (the tiny model makes thousands of tokens a second: on a loaded 2-core machine the disconnect was seen after
        // 1341 and 1985 tokens, and once (2026-12-08, the suite with the GPU simulator's goldens in parallel) not
        // within 5000, the request then ending by length; so the bound is "well short of the 16000 asked for", not a
        // fixed step count)
        Assert.InRange(await f.Metric(f.Main, "ixc25_completion_tokens_total") - tokensBefore, 1, 8000);

        // the same for a non-streamed request whose client gives up
        using var cts = new CancellationTokenSource();
        var pending = f.Post(f.Main, Long(f.Main, stream: false), ServerFixture.Key, ct: cts.Token);
        await ServerFixture.Until(() => f.Main.Load.Running == 1, "the request to run");
        await Task.Delay(200);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await ServerFixture.Until(async () => await f.Metric(f.Main, "ixc25_generations_total{reason=\"cancelled\"}") > after, "the second cancelled generation", 60);
        await ServerFixture.Until(() => f.Main.Load.Running == 0, "the slot to be free");
    }

    [Fact]
    public async Task TheQueueAnswers429OnlyWhenFull()
    {
        var s = f.Small;   // 1 slot, 1 waiting place
        var (r, body) = await StartLongStream(s, ServerFixture.SmallKey);
        await ServerFixture.Until(() => s.Load == (0, 1), "one running");
        var queued = f.Post(s, new { model = s.ModelId, messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 2, temperature = 0 }, ServerFixture.SmallKey);
        await ServerFixture.Until(() => s.Load == (1, 1), "one waiting");

        var refused = await f.Post(s, new { model = s.ModelId, messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 2 }, ServerFixture.SmallKey);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After is set");
        var e = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("queue_full", e.GetProperty("code").GetString());

        body.Dispose();
        r.Dispose();
        var ok = await queued;   // the waiting request was admitted, not refused, and runs once the slot is free
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await ServerFixture.Until(() => s.Load == (0, 0), "idle");
        Assert.Equal(1, await f.Metric(s, "ixc25_http_requests_total{status=\"429\"}"));
    }

    [Fact]
    public async Task StopSequencesCutTheAnswerBeforeTheirFirstOccurrence()
    {
        string full = f.RunAlone("Describe a city.", null, g => ServerFixture.Greedy(g, 12)).Text;
        Assert.True(full.Length >= 6, $"answer long enough to cut: '{full}'");
        string stop = full.Substring(full.Length / 2, 2);
        string expected = full[..full.IndexOf(stop, StringComparison.Ordinal)];
        foreach (bool stream in new[] { false, true })
        {
            var r = await f.Post(f.Main, new { model = f.Main.ModelId, messages = new[] { new { role = "user", content = "Describe a city." } }, max_tokens = 12, temperature = 0, stop = new[] { stop }, stream });
            string text = await r.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var (content, finish) = stream ? Sse.Collect(text) : Sse.Whole(text);
            Assert.Equal(expected, content);
            Assert.Equal("stop", finish);
        }
    }

    [Fact]
    public async Task EveryRequestIsOneJsonLogLineAndMetricsAreExposed()
    {
        var r = await f.Post(f.Main, new { model = f.Main.ModelId, messages = new[] { new { role = "user", content = "Log me." } }, max_tokens = 3, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        string id = r.Headers.GetValues("X-Request-Id").Single();
        var line = f.MainLog.ToString().Split('\n').Single(l => l.Contains(id, StringComparison.Ordinal));
        var log = JsonDocument.Parse(line).RootElement;
        Assert.Equal(200, log.GetProperty("status").GetInt32());
        Assert.Equal(3, log.GetProperty("completion_tokens").GetInt32());
        foreach (var field in new[] { "prompt_tokens", "queue_ms", "prefill_ms", "decode_ms", "tokens_per_s", "ms" })
            Assert.True(log.TryGetProperty(field, out _), field);

        string metrics = await f.Http.GetStringAsync(new Uri(f.Main.BaseAddress, "metrics"));
        foreach (var name in new[] { "ixc25_queue_depth", "ixc25_requests_running", "ixc25_max_batch 4", "ixc25_completion_tokens_total", "ixc25_request_duration_seconds_bucket{le=\"0.5\"}", "ixc25_queue_wait_seconds_count" })
            Assert.Contains(name, metrics);

        var health = JsonDocument.Parse(await f.Http.GetStringAsync(new Uri(f.Main.BaseAddress, "health"))).RootElement;
        Assert.Equal("ok", health.GetProperty("status").GetString());
        var req = new HttpRequestMessage(HttpMethod.Get, new Uri(f.Main.BaseAddress, "v1/models"));
        req.Headers.Authorization = new("Bearer", ServerFixture.Key);
        var models = JsonDocument.Parse(await (await f.Http.SendAsync(req)).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(f.Main.ModelId, models.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task ShutdownLetsTheGracePeriodRunThenCancelsCleanly()
    {
        await using var s = await IxcServer.StartAsync(f.Engine, new ServeOptions { Port = 0, ShutdownGrace = TimeSpan.FromMilliseconds(300), Log = TextWriter.Null });
        var r = await f.Post(s, Long(s, stream: true), null, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
        string first = await reader.ReadLineAsync() ?? "";   // the stream has started
        Assert.StartsWith("data: ", first);
        var reading = reader.ReadToEndAsync();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await s.StopAsync();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"stopped in {sw.Elapsed}");
        string text = await reading;
        Assert.Contains("\"code\":\"shutting_down\"", text);
        Assert.EndsWith("data: [DONE]\n\n", text);
        Assert.Equal((0, 0), s.Load);
    }

    [Fact]
    public void OptionsAreValidated()
    {
        Assert.Contains("--max-batch", Assert.Throws<IXC25.Runtime.IxcException>(() => new ServeOptions { MaxBatch = 0 }.Validate()).Message);
        Assert.Contains("--max-batch", Assert.Throws<IXC25.Runtime.IxcException>(() => new ServeOptions { MaxBatch = ServeOptions.MaxBatchLimit + 1 }.Validate()).Message);
        Assert.Contains("--max-queue", Assert.Throws<IXC25.Runtime.IxcException>(() => new ServeOptions { MaxQueue = -1 }.Validate()).Message);
        Assert.Contains("--port", Assert.Throws<IXC25.Runtime.IxcException>(() => new ServeOptions { Port = 70000 }.Validate()).Message);
        Assert.Contains("--api-key", Assert.Throws<IXC25.Runtime.IxcException>(() => new ServeOptions { ApiKey = "" }.Validate()).Message);
        new ServeOptions().Validate();
    }
}

/// <summary>Reading answers: a chat.completion body, or an SSE stream of chunks ending with [DONE].</summary>
internal static class Sse
{
    public static (string Content, string? Finish) Whole(string json)
    {
        var c = JsonDocument.Parse(json).RootElement.GetProperty("choices")[0];
        return (c.GetProperty("message").GetProperty("content").GetString()!, c.GetProperty("finish_reason").GetString());
    }

    public static (string Content, string? Finish) Collect(string sse)
    {
        Assert.EndsWith("data: [DONE]\n\n", sse);
        var text = new System.Text.StringBuilder();
        string? finish = null;
        foreach (var ev in sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.StartsWith("data: ", ev);
            string data = ev[6..];
            if (data == "[DONE]") break;
            var root = JsonDocument.Parse(data).RootElement;
            Assert.False(root.TryGetProperty("error", out var err), $"error event: {err}");
            Assert.Equal("chat.completion.chunk", root.GetProperty("object").GetString());
            foreach (var choice in root.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var c)) text.Append(c.GetString());
                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String) finish = choice.GetProperty("finish_reason").GetString();
            }
        }
        return (text.ToString(), finish);
    }
}
