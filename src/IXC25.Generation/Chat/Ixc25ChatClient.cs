using System.Globalization;
using System.Runtime.CompilerServices;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;
using Microsoft.Extensions.AI;

namespace IXC25.Generation.Chat;

/// <summary>
/// <see cref="IChatClient"/> (Microsoft.Extensions.AI) over a <see cref="ChatEngine"/>, so the engine plugs
/// into the .NET AI ecosystem. Messages map to upstream's prompt: a system message becomes the meta
/// instruction, earlier user/assistant pairs the history, the last user message the question; images
/// come as <see cref="DataContent"/> (image/*) or file <see cref="UriContent"/>. <see cref="ChatOptions"/>:
/// Temperature, TopP, TopK, MaxOutputTokens, Seed; AdditionalProperties "mode" (chat, write, web),
/// "num_beams", "do_sample", "repetition_penalty", "hd_num". Unset options keep upstream's chat defaults.
/// The client is stateless: the caller's message list is the conversation.
/// </summary>
public sealed class Ixc25ChatClient(ChatEngine engine, bool ownsEngine = false) : IChatClient
{
    public ChatEngine Engine { get; } = engine;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.Run(() =>
        {
            var (request, history) = Map(messages, options);
            var reply = Engine.Run(request, history, cancellationToken: cancellationToken);
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, reply.Text))
            {
                FinishReason = reply.Generation.Finish == FinishReason.MaxNewTokens ? ChatFinishReason.Length : ChatFinishReason.Stop,
                Usage = new UsageDetails { InputTokenCount = reply.Prompt.TotalLength, OutputTokenCount = reply.Generation.Tokens.Count },
                ModelId = Engine.Model.Name,
                CreatedAt = DateTimeOffset.UtcNow,
            };
        }, CancellationToken.None);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (request, history) = Map(messages, options);
        var session = Engine.NewSession();
        session.AddHistory(history);
        await foreach (var text in session.StreamAsync(request, cancellationToken).ConfigureAwait(false))
            yield return new ChatResponseUpdate(ChatRole.Assistant, text) { ModelId = Engine.Model.Name };
        var reply = session.LastReply!;
        yield return new ChatResponseUpdate(ChatRole.Assistant, (string?)null)
        {
            FinishReason = reply.Generation.Finish == FinishReason.MaxNewTokens ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = reply.Prompt.TotalLength, OutputTokenCount = reply.Generation.Tokens.Count })],
            ModelId = Engine.Model.Name,
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("IXC25.Reference", null, Engine.Model.Name)
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(Engine) ? Engine
        : null;

    /// <summary>Maps a message list and options to a request plus history (exposed for tests).</summary>
    public static (ChatRequest Request, IReadOnlyList<ChatTurn> History) Map(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var list = messages.ToList();
        if (list.Count == 0 || list[^1].Role != ChatRole.User) throw new IxcException("the last message must be the user's question");
        string? meta = string.Join("\n", list.Where(m => m.Role == ChatRole.System).Select(m => m.Text).Where(t => t.Length > 0));
        if (options?.Instructions is { Length: > 0 } instructions) meta = string.IsNullOrEmpty(meta) ? instructions : meta + "\n" + instructions;
        var turns = list.Where(m => m.Role != ChatRole.System).ToList();
        var history = new List<ChatTurn>();
        for (int i = 0; i + 1 < turns.Count; i += 2)
        {
            if (turns[i].Role != ChatRole.User || turns[i + 1].Role != ChatRole.Assistant)
                throw new IxcException("earlier messages must alternate user, assistant (upstream's history is question/answer pairs)");
            history.Add(new ChatTurn(turns[i].Text, turns[i + 1].Text));
        }
        if (turns.Count % 2 == 0) throw new IxcException("earlier messages must alternate user, assistant, ending with the user's question");
        var last = turns[^1];
        var media = new List<MediaInput>();
        int n = 0;
        foreach (var c in last.Contents)
        {
            switch (c)
            {
                case DataContent d when d.HasTopLevelMediaType("image"):
                    media.Add(MediaInput.FromBytes(d.Data.ToArray(), d.Name ?? $"image {n}"));
                    n++;
                    break;
                case UriContent u when u.Uri.IsFile:
                    media.Add(MediaInput.FromPath(u.Uri.LocalPath));
                    n++;
                    break;
                case DataContent d:
                    throw new IxcException($"content of media type '{d.MediaType}' is not supported (images only; videos as file URIs)");
                case UriContent u:
                    throw new IxcException($"'{u.Uri}': only file URIs are supported (this engine works offline)");
            }
        }
        var mode = Property(options, "mode") switch
        {
            null or "chat" => ChatMode.Chat,
            "write" => ChatMode.Write,
            "web" => ChatMode.Web,
            var m => throw new IxcException($"mode '{m}' is not one of chat, write, web"),
        };
        Func<GenerationConfig, GenerationConfig>? customize = null;
        if (options is not null && HasGenerationOptions(options))
            customize = g =>
            {
                if (options.Temperature is { } t) g = g with { Temperature = t };
                if (options.TopP is { } p) g = g with { TopP = p };
                if (options.TopK is { } k) g = g with { TopK = k };
                if (options.MaxOutputTokens is { } m) g = g with { MaxNewTokens = m };
                if (options.Seed is { } s) g = g with { Seed = unchecked((ulong)s) };
                if (Property(options, "num_beams") is { } beams) g = g with { NumBeams = ParseInt(beams, "num_beams") };
                if (Property(options, "do_sample") is { } sample) g = g with { DoSample = sample is "true" or "True" or "1" ? true : sample is "false" or "False" or "0" ? false : throw new IxcException($"do_sample '{sample}' is not true or false") };
                if (Property(options, "repetition_penalty") is { } rp) g = g with { RepetitionPenalty = double.TryParse(rp, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? r : throw new IxcException($"repetition_penalty '{rp}' is not a number") };
                return g;
            };
        var request = new ChatRequest
        {
            Question = last.Text,
            Media = media,
            Mode = mode,
            Customize = customize,
            HdNum = Property(options, "hd_num") is { } hd ? ParseInt(hd, "hd_num") : 24,
            UseMeta = !string.IsNullOrEmpty(meta),
            MetaInstruction = string.IsNullOrEmpty(meta) ? null : meta,
        };
        return (request, history);
    }

    private static int ParseInt(string s, string name) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new IxcException($"{name} '{s}' is not an integer");

    private static bool HasGenerationOptions(ChatOptions o) =>
        o.Temperature is not null || o.TopP is not null || o.TopK is not null || o.MaxOutputTokens is not null || o.Seed is not null
        || Property(o, "num_beams") is not null || Property(o, "do_sample") is not null || Property(o, "repetition_penalty") is not null;

    private static string? Property(ChatOptions? o, string key) =>
        o?.AdditionalProperties is { } p && p.TryGetValue(key, out var v) && v is not null ? Convert.ToString(v, CultureInfo.InvariantCulture) : null;

    public void Dispose()
    {
        if (ownsEngine) Engine.Dispose();
    }
}
