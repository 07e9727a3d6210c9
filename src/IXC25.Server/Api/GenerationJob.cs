using System.Threading.Channels;
using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;

namespace IXC25.Server.Api;

/// <summary>What a generation reports, in order: text deltas, then one <see cref="Done"/> or <see cref="Failed"/>.</summary>
internal abstract record JobEvent
{
    public sealed record Text(string Delta) : JobEvent;
    /// <param name="Content">The answer (stop sequences applied).</param>
    /// <param name="Finish">OpenAI's finish_reason (stop, length), or "cancelled" when the token stopped it.</param>
    public sealed record Done(ChatReply Reply, string Content, string Finish) : JobEvent;
    public sealed record Failed(Exception Error) : JobEvent;
}

/// <summary>
/// One <see cref="ChatEngine.Run"/> on a thread of its own (it is synchronous and may wait for the engine), its text
/// passed through the stop sequences and out as events. Cancelling the token (client gone, shutdown) stops it between
/// decode steps; the engine then frees the request's KV cache.
/// </summary>
internal sealed class GenerationJob
{
    private readonly Channel<JobEvent> _events = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private GenerationJob() { }

    public ChannelReader<JobEvent> Events => _events.Reader;

    /// <summary>Completes when the engine has returned (and freed the request's KV cache); never faults.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public static GenerationJob Start(ChatEngine engine, ParsedCompletion request, CancellationToken cancellationToken)
    {
        var job = new GenerationJob();
        job.Completion = Task.Factory.StartNew(() => job.Run(engine, request, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return job;
    }

    private void Run(ChatEngine engine, ParsedCompletion request, CancellationToken cancellationToken)
    {
        var w = _events.Writer;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var matcher = new StopMatcher(request.Stop);
        try
        {
            var reply = engine.Run(request.Request, request.History, delta =>
            {
                string text = matcher.Add(delta);
                if (text.Length > 0) w.TryWrite(new JobEvent.Text(text));
                if (matcher.Stopped) stop.Cancel();
            }, null, stop.Token);
            string rest = matcher.Finish();
            if (rest.Length > 0) w.TryWrite(new JobEvent.Text(rest));
            string finish = matcher.Stopped ? "stop" : reply.Generation.Finish switch
            {
                FinishReason.MaxNewTokens => "length",
                FinishReason.Cancelled => "cancelled",
                _ => "stop",
            };
            // web mode rewrites image URLs in the finished text (upstream's last step); stop sequences cut the streamed text
            string content = request.Stop.Count == 0 && finish != "cancelled" ? reply.Text : matcher.Text;
            w.TryWrite(new JobEvent.Done(reply, content, finish));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            w.TryWrite(new JobEvent.Failed(new OperationCanceledException(stop.Token)));
        }
        catch (Exception e)
        {
            w.TryWrite(new JobEvent.Failed(e));
        }
        finally
        {
            w.TryComplete();
        }
    }
}
