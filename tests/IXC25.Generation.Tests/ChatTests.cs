using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer;
using Microsoft.Extensions.AI;

namespace IXC25.Generation.Tests;

/// <summary>The library API: sessions, streaming, cancellation, task modes, the IChatClient adapter.</summary>
public sealed class ChatTests : IClassFixture<ChatTests.EngineFixture>
{
    public sealed class EngineFixture : IDisposable
    {
        public ChatEngine Engine { get; } = ChatEngine.Load(RepoLayout.Path("golden", "model", "tiny", "safetensors"));
        public void Dispose() => Engine.Dispose();
    }

    private readonly ChatEngine _engine;
    public ChatTests(EngineFixture f) => _engine = f.Engine;

    private static MediaInput Cars => new(RepoLayout.Path("golden", "media", "cars1.jpg"));
    private static GenerationConfig Greedy(GenerationConfig g) => g with { DoSample = false, MaxNewTokens = 8 };

    [Fact]
    public void StreamedTextIsTheDecodedAnswerAndJoinsTheHistory()
    {
        var session = _engine.NewSession();
        var streamed = new System.Text.StringBuilder();
        var reply = session.Ask(new ChatRequest { Question = "Describe this image.", Media = [Cars], Customize = Greedy }, t => streamed.Append(t));
        Assert.Equal(8, reply.Generation.Tokens.Count);
        Assert.Equal(_engine.Model.Tokenizer.DecodeResponse([.. reply.Generation.Tokens]), reply.Text);
        Assert.Equal(reply.Text, streamed.ToString());
        Assert.Single(session.History);
        Assert.Equal(("Describe this image.", reply.Text), (session.History[0].User, session.History[0].Assistant));

        // the second turn's prompt carries the first exchange as text (upstream's history)
        var second = session.Ask(new ChatRequest { Question = "And the colours?", Customize = Greedy });
        var textIds = second.Prompt.Segments.OfType<IXC25.Tokenizer.Prompt.TextSegment>().SelectMany(s => s.Ids).ToArray();
        Assert.Contains("Describe this image.", _engine.Model.Tokenizer.Decode(textIds));
        Assert.Equal(2, session.History.Count);
    }

    [Fact]
    public async Task StreamAsyncYieldsTheSameTextAsAsk()
    {
        var expected = _engine.NewSession().Ask(new ChatRequest { Question = "Hello there", Customize = Greedy }).Text;
        var session = _engine.NewSession();
        var parts = new List<string>();
        await foreach (var t in session.StreamAsync(new ChatRequest { Question = "Hello there", Customize = Greedy })) parts.Add(t);
        Assert.Equal(expected, string.Concat(parts));
        Assert.True(parts.Count >= 2, "tokens are streamed one by one");
    }

    [Fact]
    public void CancellationStopsCleanlyAndKeepsTheSession()
    {
        var session = _engine.NewSession();
        using var cts = new CancellationTokenSource();
        int seen = 0;
        var reply = session.Ask(new ChatRequest { Question = "Tell me a story.", Customize = g => g with { DoSample = false, MaxNewTokens = 50 } },
            _ => { if (++seen == 3) cts.Cancel(); }, null, cts.Token);
        Assert.True(reply.Cancelled);
        Assert.InRange(reply.Generation.Tokens.Count, 3, 6);
        Assert.Single(session.History);
        // the session goes on
        var next = session.Ask(new ChatRequest { Question = "Go on.", Customize = Greedy });
        Assert.False(next.Cancelled);
        Assert.Equal(2, session.History.Count);
    }

    [Fact]
    public void SamplingIsReproducibleForASeed()
    {
        GenerationConfig Seeded(GenerationConfig g) => g with { MaxNewTokens = 6, Seed = 1234 };
        var a = _engine.NewSession().Ask(new ChatRequest { Question = "Write a haiku.", Customize = Seeded });
        var b = _engine.NewSession().Ask(new ChatRequest { Question = "Write a haiku.", Customize = Seeded });
        Assert.Equal(a.Generation.Tokens, b.Generation.Tokens);
        Assert.Equal(1234UL, a.Generation.Seed);
    }

    [Theory]
    [InlineData(ChatMode.Write)]
    [InlineData(ChatMode.Web)]
    public void TaskModesRunWithTheirLorasAndIgnoreHistory(ChatMode mode)
    {
        var session = _engine.NewSession();
        session.AddHistory([new("earlier", "answer")]);
        var reply = session.Ask(new ChatRequest { Question = "A page about bread.", Mode = mode, Customize = g => g with { MaxNewTokens = 3, Seed = 7 } });
        Assert.Equal(mode == ChatMode.Write ? "write" : "web", _engine.Model.Mode);
        Assert.DoesNotContain(reply.Prompt.Segments.OfType<IXC25.Tokenizer.Prompt.TextSegment>(), s => s.Text.Contains("earlier"));
        Assert.Single(session.History); // task modes do not add turns
        _engine.NewSession().Ask(new ChatRequest { Question = "x", Customize = Greedy });
        Assert.Equal("chat", _engine.Model.Mode);
    }

    [Fact]
    public async Task ChatClientMapsMessagesImagesAndOptions()
    {
        IChatClient client = new Ixc25ChatClient(_engine);
        var image = await File.ReadAllBytesAsync(Cars.Path);
        var messages = new List<ChatMessage>
        {
            new(ChatRole.User, [new TextContent("Describe this image."), new DataContent(image, "image/jpeg")]),
        };
        var options = new ChatOptions { MaxOutputTokens = 8, AdditionalProperties = new() { ["do_sample"] = false } };
        var response = await client.GetResponseAsync(messages, options);
        var direct = _engine.NewSession().Ask(new ChatRequest { Question = "Describe this image.", Media = [Cars], Customize = Greedy });
        Assert.Equal(direct.Text, response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(direct.Prompt.TotalLength, response.Usage!.InputTokenCount);

        var streamed = new System.Text.StringBuilder();
        await foreach (var u in client.GetStreamingResponseAsync(messages, options)) streamed.Append(u.Text);
        Assert.Equal(direct.Text, streamed.ToString());
        Assert.NotNull(client.GetService(typeof(ChatClientMetadata)));
    }

    [Fact]
    public void ChatClientMapsSystemAndHistoryAndRejectsBadSequences()
    {
        var (req, history) = Ixc25ChatClient.Map([
            new(ChatRole.System, "Be brief."), new(ChatRole.User, "Hi"), new(ChatRole.Assistant, "Hello"), new(ChatRole.User, "How are you?")],
            new ChatOptions { Temperature = 0.5f, TopK = 5, Seed = 3, AdditionalProperties = new() { ["mode"] = "chat", ["num_beams"] = 2 } });
        Assert.Equal("How are you?", req.Question);
        Assert.True(req.UseMeta);
        Assert.Equal("Be brief.", req.MetaInstruction);
        Assert.Single(history);
        var g = req.Customize!(GenerationConfig.Chat);
        Assert.Equal((0.5, 5, 3UL, 2), (Math.Round(g.Temperature, 3), g.TopK, g.Seed!.Value, g.NumBeams));
        Assert.Throws<IxcException>(() => Ixc25ChatClient.Map([new(ChatRole.Assistant, "x")], null));
        Assert.Throws<IxcException>(() => Ixc25ChatClient.Map([new(ChatRole.User, "a"), new(ChatRole.User, "b")], null));
        Assert.Throws<IxcException>(() => Ixc25ChatClient.Map([new(ChatRole.User, [new DataContent(new byte[] { 1 }, "audio/wav")])], null));
        Assert.Throws<IxcException>(() => Ixc25ChatClient.Map([new(ChatRole.User, "a")], new ChatOptions { AdditionalProperties = new() { ["mode"] = "poem" } }));
    }

    [Fact]
    public void TextStreamHoldsBackWhatTheCleanUpMayStillChange()
    {
        var tok = InternLM2Tokenizer.Load(InternLM2Tokenizer.BundledModelPath);
        var ids = tok.Encode("It is done . Really ?");
        var stream = new TextStream(tok, (t, x) => t.DecodeResponse(x));
        var sb = new System.Text.StringBuilder();
        foreach (var id in ids)
        {
            sb.Append(stream.Add(id));
            Assert.True(tok.DecodeResponse(ids).StartsWith(sb.ToString(), StringComparison.Ordinal), $"emitted '{sb}' is not a prefix of the final text");
        }
        sb.Append(stream.Finish(ids));
        Assert.Equal(tok.DecodeResponse(ids), sb.ToString());
    }
}
