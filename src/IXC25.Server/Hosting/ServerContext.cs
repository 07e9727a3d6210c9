using IXC25.Generation.Chat;

namespace IXC25.Server.Hosting;

/// <summary>What every handler of one server shares.</summary>
internal sealed class ServerContext : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _cancelling = new();

    public ServerContext(ChatEngine engine, ServeOptions options, string modelId)
    {
        Engine = engine;
        Options = options;
        ModelId = modelId;
        Admission = new Admission(options.MaxBatch, options.MaxQueue);
        Metrics = new ServerMetrics(Admission, options.MaxBatch, engine.Scheduler);
    }

    public ChatEngine Engine { get; }
    public ServeOptions Options { get; }
    public string ModelId { get; }
    public Admission Admission { get; }
    public ServerMetrics Metrics { get; }

    /// <summary>Fires when shutdown begins: new requests are answered 503.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Fires when the shutdown grace period is over: running generations are cancelled.</summary>
    public CancellationToken Cancelling => _cancelling.Token;

    public void BeginShutdown()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        if (Options.ShutdownGrace == TimeSpan.Zero) _cancelling.Cancel();
        else _cancelling.CancelAfter(Options.ShutdownGrace);
    }

    public void Dispose()
    {
        Admission.Dispose();
        _stopping.Dispose();
        _cancelling.Dispose();
    }
}
