using IXC25.Generation.Batching;
using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Runtime;
using Microsoft.Extensions.AI;

namespace IXC25.Generation.Tests;

/// <summary>
/// Batched decode (<see cref="BatchOptions"/>, <see cref="DecodeScheduler"/>): concurrent requests of every kind (greedy,
/// sampled with seeds, beam search, write mode, an image prompt, IChatClient and ChatSession callers, a cancelled one, a
/// refused one) run together on one engine; every completed request's tokens equal the same request run alone on a fresh
/// engine with MaxBatch 1; the cancelled one's are a prefix of its run alone; the refused one fails alone; batches never
/// exceed MaxBatch and do hold several requests; every KV cache is freed when its request ends.
/// </summary>
public sealed class BatchingTests
{
    private static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");
    private static MediaInput Cars => new(RepoLayout.Path("golden", "media", "cars1.jpg"));
    private static readonly ModelOptions Options = new(Threads: 2, MaxContext: 1200);

    private static Func<GenerationConfig, GenerationConfig> Greedy(int n) => g => g with { DoSample = false, NumBeams = 1, MaxNewTokens = n };
    private static Func<GenerationConfig, GenerationConfig> Sampled(int n, ulong seed) => g => g with { DoSample = true, NumBeams = 1, MaxNewTokens = n, Seed = seed };

    private static readonly ChatRequest[] Requests =
    [
        new() { Question = "Describe this image.", Media = [Cars], Customize = Greedy(12) },
        new() { Question = "Write a haiku.", Customize = Sampled(10, 1) },
        new() { Question = "Write a haiku.", Customize = Sampled(14, 2) },
        new() { Question = "Tell me a story.", Customize = g => g with { DoSample = false, NumBeams = 3, MaxNewTokens = 8 } },
        new() { Question = "An essay about rivers.", Mode = ChatMode.Write, Customize = Greedy(9) },
        new() { Question = "Why?", Customize = Greedy(20) },
        new() { Question = "Hello there, how are you today?", Customize = Sampled(16, 77) },
    ];

    /// <summary>Longer than the engines' MaxContext: refused at its prefill.</summary>
    private static readonly ChatRequest Refused = new() { Question = string.Join(" ", Enumerable.Repeat("river stone", 800)), Customize = Greedy(4) };

    /// <summary>Cancelled by its stream after 3 tokens.</summary>
    private static readonly ChatRequest Long = new() { Question = "Count to one hundred.", Customize = Greedy(60) };

    private static ChatReply Alone(ChatRequest r)
    {
        using var engine = ChatEngine.Load(Tiny, Options);
        return engine.Run(r, []);
    }

    [Fact]
    public async Task ConcurrentRequestsGiveTheTokensOfEachRequestAlone()
    {
        var expected = Requests.Select(Alone).ToArray();
        var expectedLong = Alone(Long);
        var clientOptions = new ChatOptions { Seed = 5, MaxOutputTokens = 7 };
        string expectedClient;
        using (var fresh = ChatEngine.Load(Tiny, Options))
            expectedClient = (await new Ixc25ChatClient(fresh).GetResponseAsync([new ChatMessage(ChatRole.User, "Name a colour.")], clientOptions)).Text;

        using var engine = ChatEngine.Load(Tiny, Options, new BatchOptions(MaxBatch: 3));
        var sizes = new List<int>();
        engine.Scheduler!.StepRan += s => { lock (sizes) sizes.Add(s.Size); };
        using var start = new Barrier(Requests.Length + 3);
        var tasks = Requests.Select(r => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return engine.NewSession().Ask(r);
        }, TaskCreationOptions.LongRunning)).ToList();
        using var cts = new CancellationTokenSource();
        var cancelled = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            int seen = 0;
            return engine.Run(Long, [], _ => { if (++seen == 3) cts.Cancel(); }, null, cts.Token);
        }, TaskCreationOptions.LongRunning);
        var refused = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return engine.Run(Refused, []);
        }, TaskCreationOptions.LongRunning);
        IChatClient client = new Ixc25ChatClient(engine);
        var viaClient = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return client.GetResponseAsync([new ChatMessage(ChatRole.User, "Name a colour.")], clientOptions);
        }, TaskCreationOptions.LongRunning).Unwrap();

        var all = Task.WhenAll([.. tasks, cancelled, refused, viaClient]);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(5))));
        for (int i = 0; i < Requests.Length; i++)
        {
            var got = await tasks[i];
            Assert.Equal(expected[i].Generation.Tokens, got.Generation.Tokens);
            Assert.Equal(expected[i].Generation.Finish, got.Generation.Finish);
            Assert.Equal(expected[i].Text, got.Text);
        }
        var c = await cancelled;
        Assert.True(c.Cancelled);
        Assert.True(c.Generation.Tokens.Count >= 3 && c.Generation.Tokens.Count < expectedLong.Generation.Tokens.Count);
        Assert.Equal(expectedLong.Generation.Tokens.Take(c.Generation.Tokens.Count), c.Generation.Tokens);
        var e = await Assert.ThrowsAsync<IxcException>(() => refused);
        Assert.Contains("exceeds the maximum", e.Message);
        Assert.Equal(expectedClient, (await viaClient).Text);

        lock (sizes)
        {
            Assert.NotEmpty(sizes);
            Assert.All(sizes, s => Assert.InRange(s, 1, 3));
            Assert.Contains(sizes, s => s >= 2);
        }
        Assert.Equal(0, engine.Scheduler.Caches);
        Assert.Equal((0, 0, 0), engine.Scheduler.Load);
    }

    /// <summary>Logits, not only tokens: the scheduler's sequences return, step after step, the bits of the sequence alone.</summary>
    [Fact]
    public async Task ConcurrentSequencesReturnTheLogitsOfEachSequenceAlone()
    {
        string[] questions = ["Hi.", "Describe a cat sitting on a mat.", "Why?", "List three colours.", "Go on."];
        const int Steps = 6;
        List<float[]> Decode(IDecoderModel decoder)
        {
            var rows = new List<float[]>();
            var logits = new float[decoder.VocabSize];
            var seq = decoder.Prefill(logits);
            rows.Add([.. logits]);
            for (int s = 0; s < Steps; s++)
            {
                int next = 0;
                for (int j = 1; j < logits.Length; j++) if (logits[j] > logits[next]) next = j;
                seq.Step(next, logits);
                rows.Add([.. logits]);
            }
            return rows;
        }
        var expected = questions.Select(q =>
        {
            using var fresh = ChatEngine.Load(Tiny, Options);
            return Decode(new Ixc25Decoder(fresh.Model, PreparedPrompt.Chat(fresh.Model.Tokenizer, q, [])));
        }).ToArray();

        using var engine = ChatEngine.Load(Tiny, Options, new BatchOptions(MaxBatch: 4));
        var sizes = new List<int>();
        engine.Scheduler!.StepRan += s => { lock (sizes) sizes.Add(s.Size); };
        using var start = new Barrier(questions.Length);
        var tasks = questions.Select(q => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            using var d = new BatchedDecoder(engine.Scheduler, engine.Model, PreparedPrompt.Chat(engine.Model.Tokenizer, q, []), IXC25.Model.Ixc25Modes.Chat, null, default);
            return Decode(d);
        }, TaskCreationOptions.LongRunning)).ToArray();
        var got = await Task.WhenAll(tasks);
        for (int i = 0; i < questions.Length; i++)
            for (int s = 0; s <= Steps; s++)
                Assert.True(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected[i][s].AsSpan()).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(got[i][s].AsSpan())), $"request {i}, step {s}: logits differ from the request alone");
        lock (sizes) Assert.Contains(sizes, n => n >= 2);
        Assert.Equal(0, engine.Scheduler.Caches);
    }

    [Fact]
    public void MaxBatchOneKeepsTheSerializedEngine()
    {
        using var engine = ChatEngine.Load(Tiny, Options, new BatchOptions(MaxBatch: 1));
        Assert.Null(engine.Scheduler);
        Assert.Throws<IxcException>(() => ChatEngine.FromModel(engine.Model, new BatchOptions(MaxBatch: 0)));
    }

    [Fact]
    public void ARequestCancelledBeforeItsPrefillEndsHoldsNothing()
    {
        using var engine = ChatEngine.Load(Tiny, Options, new BatchOptions(MaxBatch: 4));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var reply = engine.Run(new ChatRequest { Question = "Describe this image.", Media = [Cars], Customize = Greedy(5) }, [], cancellationToken: cts.Token);
        Assert.True(reply.Cancelled);
        Assert.Empty(reply.Generation.Tokens);
        Assert.Equal(0, engine.Scheduler!.Caches);
        // the engine goes on
        var next = engine.Run(new ChatRequest { Question = "Why?", Customize = Greedy(4) }, []);
        Assert.Equal(Alone(new ChatRequest { Question = "Why?", Customize = Greedy(4) }).Generation.Tokens, next.Generation.Tokens);
    }
}
