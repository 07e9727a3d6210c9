using System.Collections.Concurrent;
using System.Net;

using Xunit.Abstractions;

namespace IXC25.Server.Tests;

/// <summary>
/// A bounded load test on loopback: 16 concurrent clients send 200 short requests (10 prompts x 2 seeds x 10 repeats,
/// sampled with fixed seeds, half of them streamed) to the server with 4 slots and a 64-deep queue. No request may be
/// lost, refused or failed, and every answer must equal the same request run alone on the engine. It stops by itself
/// (a time limit on the whole test, far above its few seconds on an idle 2-core machine; speed targets live in bench/).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class LoadTests(ServerFixture f, ITestOutputHelper output)
{
    private const int Clients = 16, Requests = 200, Tokens = 4;

    [Fact]
    public async Task SixteenClientsTwoHundredRequestsAllAnsweredAsAlone()
    {
        var prompts = Enumerable.Range(0, 10).Select(i => $"Question number {i}: what do you see?").ToArray();
        ulong[] seeds = [11, 12345];
        var expected = new Dictionary<(int, ulong), string>();
        foreach (var (p, pi) in prompts.Select((p, i) => (p, i)))
            foreach (var s in seeds)
                expected[(pi, s)] = f.RunAlone(p, null, g => g with { MaxNewTokens = Tokens, Seed = s }).Text;

        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var failures = new ConcurrentBag<string>();
        int next = -1, answered = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        async Task Client()
        {
            int k;
            while ((k = Interlocked.Increment(ref next)) < Requests)
            {
                int pi = k % prompts.Length;
                ulong seed = seeds[k / prompts.Length % seeds.Length];
                bool stream = k % 2 == 0;
                var body = new { model = f.Main.ModelId, messages = new[] { new { role = "user", content = prompts[pi] } }, max_tokens = Tokens, seed, stream };
                using var r = await f.Post(f.Main, body, ct: limit.Token);
                string text = await r.Content.ReadAsStringAsync(limit.Token);
                if (r.StatusCode != HttpStatusCode.OK) { failures.Add($"request {k}: {(int)r.StatusCode} {text}"); continue; }
                var (content, _) = stream ? Sse.Collect(text) : Sse.Whole(text);
                if (content != expected[(pi, seed)]) failures.Add($"request {k}: '{content}' != '{expected[(pi, seed)]}'");
                Interlocked.Increment(ref answered);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => Task.Run(Client)));
        Assert.Empty(failures);
        Assert.Equal(Requests, answered);
        Assert.Equal((0, 0), f.Main.Load);
        Assert.Equal(0, await f.Metric(f.Main, "ixc25_http_requests_total{status=\"429\"}"));
        // the answers above came from batched decode steps: some step held more than one sequence
        double steps = await f.Metric(f.Main, "ixc25_decode_batch_size_count"), sequences = await f.Metric(f.Main, "ixc25_decode_batch_size_sum");
        Assert.True(steps > 0 && sequences > steps, $"{steps} decode steps for {sequences} sequence-steps: no step was batched");
        output.WriteLine($"{Requests} requests from {Clients} clients in {sw.Elapsed.TotalSeconds:0.0} s");
    }
}
