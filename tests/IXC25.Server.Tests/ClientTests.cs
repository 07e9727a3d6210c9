using System.ClientModel;
using IXC25.Model.Inference;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;
using OaChatMessage = OpenAI.Chat.ChatMessage;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace IXC25.Server.Tests;

/// <summary>
/// Real clients against the server: the official OpenAI .NET SDK and Microsoft.Extensions.AI's OpenAI IChatClient.
/// Every answer must be the engine's own answer to the same request (greedy: temperature 0).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ClientTests(ServerFixture f)
{
    private const string Question = "Describe this image.";
    private const int Tokens = 8;

    private ChatClient Sdk(string? key = ServerFixture.Key, string? model = null) =>
        new(model ?? f.Main.ModelId, new ApiKeyCredential(key ?? "none"), new OpenAIClientOptions { Endpoint = new Uri(f.Main.BaseAddress, "v1") });

    private ChatReplyExpectation Expected() => new(f.RunAlone(Question, [MediaInput.FromBytes(ServerFixture.Cars, "cars")], g => ServerFixture.Greedy(g, Tokens)));

    private sealed record ChatReplyExpectation(IXC25.Generation.Chat.ChatReply Reply)
    {
        public string Text => Reply.Text;
    }

    private static List<OaChatMessage> ImageQuestion() =>
    [
        new UserChatMessage(ChatMessageContentPart.CreateTextPart(Question), ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(ServerFixture.Cars), "image/jpeg")),
    ];

    [Fact]
    public async Task OpenAiSdkNonStreamedChatWithAnImageIsTheEngineAnswer()
    {
        var expected = Expected();
        ChatCompletion c = await Sdk().CompleteChatAsync(ImageQuestion(), new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = Tokens });
        Assert.Equal(expected.Text, c.Content[0].Text);
        Assert.Equal(ChatFinishReason.Length, c.FinishReason);
        Assert.Equal(expected.Reply.Prompt.TotalLength, c.Usage.InputTokenCount);
        Assert.Equal(Tokens, c.Usage.OutputTokenCount);
        Assert.Equal(f.Main.ModelId, c.Model);
        Assert.StartsWith("chatcmpl-", c.Id);
    }

    [Fact]
    public async Task OpenAiSdkStreamedChatWithAnImageIsTheEngineAnswer()
    {
        var expected = Expected();
        var text = new System.Text.StringBuilder();
        int updates = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var u in Sdk().CompleteChatStreamingAsync(ImageQuestion(), new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = Tokens }))
        {
            foreach (var part in u.ContentUpdate) { text.Append(part.Text); updates++; }
            finish ??= u.FinishReason;
            usage ??= u.Usage;
        }
        Assert.Equal(expected.Text, text.ToString());
        Assert.True(updates >= 2, "the answer arrives in several chunks");
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(Tokens, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task ExtensionsAiClientNonStreamedAndStreamedAreTheEngineAnswer()
    {
        var expected = Expected();
        IChatClient client = Sdk().AsIChatClient();
        AiChatMessage[] messages = [new(AiChatRole.User, [new TextContent(Question), new DataContent(ServerFixture.Cars, "image/jpeg")])];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = Tokens };
        var response = await client.GetResponseAsync(messages, options);
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, response.FinishReason);

        var streamed = new System.Text.StringBuilder();
        await foreach (var u in client.GetStreamingResponseAsync(messages, options)) streamed.Append(u.Text);
        Assert.Equal(expected.Text, streamed.ToString());
    }

    [Fact]
    public async Task MultiTurnMessagesAndTheSystemMessageBecomeTheHistoryAndTheMetaInstruction()
    {
        var alone = f.Engine.Run(new IXC25.Generation.Chat.ChatRequest
        {
            Question = "And the colours?", UseMeta = true, MetaInstruction = "Be brief.",
            Customize = g => ServerFixture.Greedy(g, 6),
        }, [new IXC25.Tokenizer.Prompt.ChatTurn("What is this?", "A car.")]);
        List<OaChatMessage> messages = [new SystemChatMessage("Be brief."), new UserChatMessage("What is this?"), new AssistantChatMessage("A car."), new UserChatMessage("And the colours?")];
        ChatCompletion c = await Sdk().CompleteChatAsync(messages, new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 6 });
        Assert.Equal(alone.Text, c.Content[0].Text);
        Assert.Equal(alone.Prompt.TotalLength, c.Usage.InputTokenCount);
    }

    [Fact]
    public async Task SeededSamplingIsTheEngineAnswerForThatSeed()
    {
        var alone = f.RunAlone("Write a haiku.", null, g => g with { MaxNewTokens = 6, Seed = 77 });
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 6, Seed = 77 };
#pragma warning restore OPENAI001
        ChatCompletion c = await Sdk().CompleteChatAsync([new UserChatMessage("Write a haiku.")], options);
        Assert.Equal(alone.Text, c.Content[0].Text);
    }

    [Fact]
    public async Task UnknownModelAndWrongKeyAreClientErrorsThroughTheSdk()
    {
        var e1 = await Assert.ThrowsAsync<ClientResultException>(() => Sdk(model: "gpt-4o").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, e1.Status);
        Assert.Contains("gpt-4o", e1.Message);
        var e2 = await Assert.ThrowsAsync<ClientResultException>(() => Sdk(key: "wrong").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, e2.Status);
    }
}
