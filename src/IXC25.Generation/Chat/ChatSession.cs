using System.Runtime.CompilerServices;
using System.Threading.Channels;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Generation.Chat;

/// <summary>
/// A conversation: each answer joins the history that the next question's prompt carries (upstream's
/// history: text turns; images belong to the turn that attached them). A cancelled answer is kept as
/// far as it got, so the conversation can go on.
/// </summary>
public sealed class ChatSession
{
    private readonly ChatEngine _engine;
    private readonly List<ChatTurn> _history = [];

    internal ChatSession(ChatEngine engine) => _engine = engine;

    public IReadOnlyList<ChatTurn> History => _history;

    /// <summary>The last reply (with its timings), or null.</summary>
    public ChatReply? LastReply { get; private set; }

    public void Reset()
    {
        _history.Clear();
        LastReply = null;
    }

    /// <summary>Adds earlier turns (e.g. a saved conversation).</summary>
    public void AddHistory(IEnumerable<ChatTurn> turns) => _history.AddRange(turns);

    /// <summary>Asks synchronously; text deltas go to <paramref name="onText"/>.</summary>
    public ChatReply Ask(ChatRequest request, Action<string>? onText = null, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var reply = _engine.Run(request, _history, onText, progress, cancellationToken);
        Record(request, reply);
        return reply;
    }

    public Task<ChatReply> AskAsync(ChatRequest request, CancellationToken cancellationToken = default) =>
        Task.Run(() => Ask(request, cancellationToken: cancellationToken), CancellationToken.None);

    /// <summary>
    /// Streams the answer's text as it is generated. Cancelling the token ends the stream after the
    /// current step (no exception); the partial answer joins the history.
    /// </summary>
    public async IAsyncEnumerable<string> StreamAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var worker = Task.Run(() =>
        {
            try { Ask(request, t => channel.Writer.TryWrite(t), null, cancellationToken); channel.Writer.TryComplete(); }
            catch (Exception e) { channel.Writer.TryComplete(e); }
        }, CancellationToken.None);
        await foreach (var text in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            yield return text;
        await worker.ConfigureAwait(false);
    }

    private void Record(ChatRequest request, ChatReply reply)
    {
        LastReply = reply;
        if (request.Mode == ChatMode.Chat) _history.Add(new ChatTurn(request.Question, reply.Text));
    }
}
