using IXC25.Backends;
using System.Text.RegularExpressions;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Generation.Chat;

/// <summary>
/// The library entry point: load a model once, run many chats. Requests are serialized (the model
/// runs one forward pass at a time). <see cref="NewSession"/> gives multi-turn conversations;
/// <see cref="ChatSession.StreamAsync"/> streams text as it is generated.
/// <code>
/// using var engine = ChatEngine.Load("/models/internlm-xcomposer2d5-7b");
/// var session = engine.NewSession();
/// await foreach (var text in session.StreamAsync(new ChatRequest { Question = "Describe the image.", Media = [new MediaInput("photo.jpg")] }))
///     Console.Write(text);
/// </code>
/// </summary>
public sealed class ChatEngine : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    private ChatEngine(Ixc25Model model) => Model = model;

    public Ixc25Model Model { get; }

    public static ChatEngine Load(string modelDirectory, ModelOptions? options = null) => new(Ixc25Model.Open(modelDirectory, options));

    /// <summary>Wraps an already loaded model (the engine then owns it).</summary>
    public static ChatEngine FromModel(Ixc25Model model) => new(model);

    public ChatSession NewSession() => new(this);

    /// <summary>
    /// Runs one request synchronously: mode, prompt, vision tower, prefill, decoding. <paramref name="onText"/>
    /// receives text deltas as they become stable (greedy and sampling stream token by token; beam
    /// search delivers its text at the end); <paramref name="progress"/> receives phase lines.
    /// Cancellation stops between decode steps and returns what was generated.
    /// </summary>
    public ChatReply Run(ChatRequest request, IReadOnlyList<ChatTurn> history, Action<string>? onText = null,
        Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        _gate.Wait(cancellationToken);
        try
        {
            var tok = Model.Tokenizer;
            string? meta = request.UseMeta ? request.MetaInstruction ?? DefaultMeta(request.Mode) : null;
            var useHistory = request.Mode == ChatMode.Chat ? history : [];
            if (request.Mode != ChatMode.Chat && history.Count > 0)
                progress?.Invoke("note: only chat mode uses the conversation history (as upstream); this turn ignores it");
            int maxLength = request.Mode == ChatMode.Write ? 8192 : ChatPrompt.DefaultMaxLength;
            Model.SetMode(request.Mode switch { ChatMode.Write => IXC25.Model.Ixc25Modes.Write, ChatMode.Web => IXC25.Model.Ixc25Modes.Web, _ => IXC25.Model.Ixc25Modes.Chat });
            var prompt = PreparedPrompt.Chat(tok, request.Question, request.Media, useHistory, meta, request.HdNum, maxLength, request.Decode);
            if (prompt.Layout.Truncated && request.StrictLength)
                throw new IxcException($"the prompt has {prompt.Layout.UntruncatedLength} positions, more than max_length {maxLength}");
            if (prompt.Layout.Truncated)
                progress?.Invoke(PromptCut.Warning(prompt.Layout)!);
            var config = request.Generation ?? request.Mode switch
            {
                ChatMode.Write => GenerationConfig.Write(Math.Max(1, GenerationConfig.WriteMaxNewTokens(prompt.Layout.UntruncatedLength))),
                ChatMode.Web => GenerationConfig.Web,
                _ => GenerationConfig.Chat,
            };
            if (request.Mode == ChatMode.Write && request.Generation is null && GenerationConfig.WriteMaxNewTokens(prompt.Layout.UntruncatedLength) < 1)
                progress?.Invoke($"warning: write mode generates 8192 minus the prompt's {prompt.Layout.UntruncatedLength} positions, which leaves none: one token is generated (max_new_tokens must be at least 1, docs/DEVIATIONS.md)");
            if (request.Customize is not null) config = request.Customize(config);
            if (request.StrictLength && (long)prompt.Layout.TotalLength + config.MaxNewTokens > Model.Options.MaxContext)
                throw new IxcException($"the prompt ({prompt.Layout.TotalLength} positions) plus max_new_tokens ({config.MaxNewTokens}) exceeds the context of {Model.Options.MaxContext} positions");
            MemoryCheck.Ensure(Model, prompt.Layout.TotalLength + config.MaxNewTokens);
            using var decoder = new Ixc25Decoder(Model, prompt, PromptInput.Embeddings, progress);
            Func<InternLM2Tokenizer, int[], string> decode = request.Mode == ChatMode.Chat ? (t, ids) => t.DecodeResponse(ids) : DecodeTask;
            var stream = new TextStream(tok, decode);
            var result = Generator.Generate(decoder, config, id =>
            {
                string delta = stream.Add(id);
                if (delta.Length > 0) onText?.Invoke(delta);
            }, cancellationToken);
            string rest = stream.Finish(result.Tokens);
            if (rest.Length > 0) onText?.Invoke(rest);
            string text = stream.Emitted;
            if (request.Mode == ChatMode.Web) text = PicsumUrls(text);
            return new ChatReply(text, result, prompt.Layout, decoder.ImageEncodingTime, decoder.LanguageModelPrefillTime);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>write_artical / write_webpage: decode, then remove the turn markers (they do not cut at them).</summary>
    private static string DecodeTask(InternLM2Tokenizer t, int[] ids) =>
        t.Decode(ids).Replace(InternLM2Tokenizer.EndOfTurn, "").Replace(InternLM2Tokenizer.StartOfTurn, "");

    /// <summary>write_webpage's last step: source.unsplash.com image URLs become picsum.photos ones.</summary>
    private static string PicsumUrls(string html) =>
        Regex.Replace(html, @"https://source\.unsplash\.com/random/(\d+)x(\d+)/\?([^'""]+)", "https://picsum.photos/$1/$2");

    private static string DefaultMeta(ChatMode mode) => mode == ChatMode.Write ? WriteMetaInstruction : ChatPrompt.DefaultMetaInstruction;

    /// <summary>write_artical's meta instruction (used with use_meta).</summary>
    public const string WriteMetaInstruction =
        "You are an AI assistant whose name is InternLM-XComposer (\u6d66\u8bed\u00b7\u7075\u7b14).\n" +
        "- InternLM-XComposer (\u6d66\u8bed\u00b7\u7075\u7b14) is a conversational language model that is developed by Shanghai AI Laboratory (\u4e0a\u6d77\u4eba\u5de5\u667a\u80fd\u5b9e\u9a8c\u5ba4). It is designed to be helpful, honest, and harmless.\n" +
        "- InternLM-XComposer (\u6d66\u8bed\u00b7\u7075\u7b14) can understand and communicate fluently in the language chosen by the user such as English and \u4e2d\u6587.\n";

    public void Dispose()
    {
        Model.Dispose();
        _gate.Dispose();
    }
}
