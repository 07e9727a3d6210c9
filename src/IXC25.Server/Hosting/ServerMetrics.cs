using Prometheus;

namespace IXC25.Server.Hosting;

/// <summary>
/// /metrics (Prometheus text format) through prometheus-net, on a registry of this server's own (several servers in one
/// process, e.g. tests, do not share counters). Tokens/s is <c>rate(ixc25_completion_tokens_total[1m])</c>, or per request
/// <c>ixc25_completion_tokens_total / ixc25_decode_seconds_total</c>.
/// </summary>
internal sealed class ServerMetrics
{
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    public ServerMetrics(Admission admission, int maxBatch, IXC25.Generation.Batching.DecodeScheduler? scheduler)
    {
        Registry = Metrics.NewCustomRegistry();
        var f = Metrics.WithCustomRegistry(Registry);
        var queue = f.CreateGauge("ixc25_queue_depth", "Requests waiting for a generation slot.");
        var running = f.CreateGauge("ixc25_requests_running", "Requests holding a generation slot (prefill or decode).");
        f.CreateGauge("ixc25_max_batch", "Configured generation slots (--max-batch).").Set(maxBatch);
        Registry.AddBeforeCollectCallback(() =>
        {
            queue.Set(admission.Waiting);
            running.Set(admission.Running);
        });
        if (scheduler is not null)
        {
            // sequences per batched decode step, as the engine's scheduler ran them (absent with --max-batch 1: one per step)
            var batch = f.CreateHistogram("ixc25_decode_batch_size", "Sequences decoded together per step.", new HistogramConfiguration { Buckets = BatchBuckets });
            var stepSeconds = f.CreateHistogram("ixc25_decode_step_seconds", "Duration of one batched decode step.", new HistogramConfiguration { Buckets = LatencyBuckets });
            scheduler.StepRan += step =>
            {
                batch.Observe(step.Size);
                stepSeconds.Observe(step.Elapsed.TotalSeconds);
            };
        }
        Requests = f.CreateCounter("ixc25_http_requests_total", "Chat completion requests by HTTP status.", "status");
        Finished = f.CreateCounter("ixc25_generations_total", "Generations by how they ended (stop, length, cancelled, error).", "reason");
        PromptTokens = f.CreateCounter("ixc25_prompt_tokens_total", "Prompt positions prefilled (image tokens included).");
        CompletionTokens = f.CreateCounter("ixc25_completion_tokens_total", "Tokens generated.");
        DecodeSeconds = f.CreateCounter("ixc25_decode_seconds_total", "Time spent decoding.");
        PrefillSeconds = f.CreateCounter("ixc25_prefill_seconds_total", "Time spent in the vision tower and the decoder prefill.");
        Latency = f.CreateHistogram("ixc25_request_duration_seconds", "Chat completion latency, arrival to last byte.", new HistogramConfiguration { Buckets = LatencyBuckets });
        QueueWait = f.CreateHistogram("ixc25_queue_wait_seconds", "Time a request waited for a generation slot.", new HistogramConfiguration { Buckets = LatencyBuckets });
    }

    public CollectorRegistry Registry { get; }
    public Counter Requests { get; }
    public Counter Finished { get; }
    public Counter PromptTokens { get; }
    public Counter CompletionTokens { get; }
    public Counter DecodeSeconds { get; }
    public Counter PrefillSeconds { get; }
    public Histogram Latency { get; }
    public Histogram QueueWait { get; }
}
