using System.Diagnostics;
using System.Text.Json.Nodes;
using IXC25.Bench;
using IXC25.Backends;
using IXC25.Graph;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.GpuCheck.Bench;

/// <summary>
/// <c>bench</c>: one InternLM2 decoder layer, one CLIP ViT layer and the output head with synthetic bf16 weights at the
/// preset's dimensions (<see cref="Workloads"/>; 7b: InternLM2-7B and ViT-L/14 at 560 px), run through the generated
/// graph (Ixc25Graph.DecoderLayer, VitLayer, LlmHead) on the backend --backend names: prefill of each prefill length
/// from an empty KV cache, one decode step after each context length (the cache filled with random keys and values
/// first, truncated back after every step), one ViT layer over one image's tokens, the head on one row. Text tokens
/// (no Partial LoRA). Each case: one warm-up call (kernels compile, weights reach the device), then up to --runs timed
/// calls within --budget seconds; a call ends when one element of its output has been read back (so work still queued
/// on a device is inside the time). Prints a table (<see cref="BenchReport"/>) and, with --json, one JSON line per case.
/// </summary>
internal static class BenchCommand
{
    public const string Help =
        "bench [--backend gpu|gpu-sim|cpu|reference] [--dims 7b|small] [--runs 5 (1..100)] [--budget 30 (1..600 s per case)]\n" +
        "      [--kv f32|bf16|f16] [--threads 0 (0..1024)] [--device NAME] [--peak-bw TB/s (0..100]] [--json FILE]\n" +
        "    one decoder layer (prefill, decode), one ViT layer and the output head with synthetic bf16 weights at the\n" +
        "    dimensions of bench/gpu/dims.json: median time, tokens/s, TFLOP/s, bytes moved and the fraction of the device's\n" +
        "    memory bandwidth (peaks from the device table of dims.json by --device, else the backend's device name; or --peak-bw)";

    public static int Run(CheckArgs a)
    {
        string backend = a.Text("backend", "gpu", [.. BackendFactory.Names]);
        string preset = a.Text("dims", "7b");
        int runs = a.Int("runs", 5, 1, 100);
        int budget = a.Int("budget", 30, 1, 600);
        var kv = a.Text("kv", "f32", "f32", "bf16", "f16") switch { "bf16" => DType.BF16, "f16" => DType.F16, _ => DType.F32 };
        int threads = a.Int("threads", 0, 0, 1024);
        string? device = a.TextOrNull("device");
        double? peakBw = a.PositiveOrNull("peak-bw", 0, 100);
        string? json = a.TextOrNull("json");
        a.Done("bench");

        var w = Workloads.Load(preset);
        var clock = Stopwatch.StartNew();
        var config = SyntheticModel.Config(1,
            new Dictionary<string, JsonNode?>
            {
                ["hidden_size"] = w.C, ["intermediate_size"] = w.F, ["num_attention_heads"] = w.H,
                ["num_key_value_heads"] = w.HKV, ["vocab_size"] = w.V,
            },
            new Dictionary<string, JsonNode?> { ["hidden_size"] = w.CV, ["intermediate_size"] = w.FV, ["num_attention_heads"] = w.HV });
        int maxContext = Math.Max(w.Prefill.Max(), w.Decode.Max() + 1);
        using var model = SyntheticModel.Create(config, new ModelOptions(Threads: threads, KvDType: kv, Backend: backend, MaxContext: maxContext));
        Console.Error.WriteLine($"bench: synthetic bf16 weights at {preset} dimensions ready in {clock.Elapsed.TotalSeconds:0.0} s");

        DevicePeaks? peaks = peakBw is { } bw ? new DevicePeaks("--peak-bw", bw * 1e12, null) : DevicePeaks.Lookup(device ?? model.BackendName);
        var report = new BenchReport("ixc25", model.BackendName, device ?? model.BackendName, preset, peaks, json);
        report.Header($"kv cache {kv.SpecName()}, weights bf16, activations f32; {runs} runs or {budget} s per case, median");
        foreach (var c in BenchCase.Of(w))
        {
            var (median, n) = Time(model, w, c, kv, runs, budget);
            report.Row(c, median, n, WorkCounts.Flops(w, c), WorkCounts.Bytes(w, c, weightBytes: 2, kvBytes: kv.Size(), actBytes: 4));
        }
        report.Close();
        return 0;
    }

    /// <summary>One warm-up call, then timed calls until <paramref name="runs"/> or <paramref name="budget"/> seconds; the median seconds.</summary>
    private static (double Median, int Runs) Time(Ixc25Model model, Workloads w, BenchCase c, DType kv, int runs, int budget)
    {
        var ops = model.Ops;
        var graph = model.Graph();
        var rng = new Random(c.Tokens * 31 + c.Past);
        Act Random(params long[] shape)
        {
            var data = new float[Shape.Numel(shape)];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
            return ops.Upload<float>(data, shape);
        }
        var inputs = new List<Act>();
        KvLayer? cache = null;
        Func<Act> call;
        switch (c.Kind)
        {
            case CaseKind.Prefill or CaseKind.Decode:
            {
                int T = c.Tokens, past = c.Past;
                var x = Random(T, w.C);
                var mask = ops.Upload<byte>(new byte[T], T);
                model.Rope.BeginPass(past + T);
                var cos = new float[T * w.D];
                var sin = new float[T * w.D];
                model.Rope.Gather(Enumerable.Range(past, T).Select(p => (long)p).ToArray(), cos, sin);
                var cosA = ops.Upload<float>(cos, T, w.D);
                var sinA = ops.Upload<float>(sin, T, w.D);
                inputs.AddRange([x, mask, cosA, sinA]);
                cache = ops.NewKvLayer(w.HKV, w.D, kv, past + T);
                if (past > 0)
                {
                    var k = new float[(long)w.HKV * past * w.D];
                    var v = new float[k.Length];
                    for (int i = 0; i < k.Length; i++) { k[i] = (float)(rng.NextDouble() * 2 - 1); v[i] = (float)(rng.NextDouble() * 2 - 1); }
                    cache.Append(k, v, past);
                }
                var kvLayer = cache;
                call = () =>
                {
                    kvLayer.Truncate(past);
                    return graph.DecoderLayer(0, false, x, mask, cosA, sinA, kvLayer);
                };
                break;
            }
            case CaseKind.Vit:
            {
                var x = Random(1, c.Tokens, w.CV);
                inputs.Add(x);
                call = () => graph.VitLayer(0, x);
                break;
            }
            default:
            {
                var x = Random(c.Tokens, w.C);
                inputs.Add(x);
                call = () => graph.LlmHead(false, x);
                break;
            }
        }
        var one = new float[1];
        void Once()
        {
            var y = call();
            y.Read<float>(y.Numel - 1, one); // waits for the device
            ops.Release(y);
        }
        try
        {
            Once();
            var times = new List<double>();
            var total = Stopwatch.StartNew();
            while (times.Count < runs && (times.Count == 0 || total.Elapsed.TotalSeconds < budget))
            {
                long t0 = Stopwatch.GetTimestamp();
                Once();
                times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
            times.Sort();
            return (times[times.Count / 2], times.Count);
        }
        finally
        {
            foreach (var i in inputs) ops.Release(i);
            cache?.Dispose();
        }
    }
}
