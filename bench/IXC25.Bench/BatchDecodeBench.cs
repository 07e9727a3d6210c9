using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IXC25.Graph;
using IXC25.Model.Inference;
using IXC25.Model.Rope;
using IXC25.Runtime.Tensors;

namespace IXC25.Bench;

/// <summary>
/// Batched decode at 7B dimensions (issue 13): the 7B config with a few decoder layers of random bf16 weights (bound
/// through the spec), B sequences each with a KV cache of --context random rows, one <see cref="Ixc25Model.ForwardStep"/>
/// per measurement (embedding, every layer with row-exact linears and attention per sequence, the output head over B
/// rows). The head is timed alone (graph.LlmHead over B rows) so that the per-layer time is (step - head) / layers, and the
/// whole model's step is 32 layers + head. Prints one JSON line per measurement and a markdown table: seconds per step,
/// aggregate tokens/s (B per step), per-request tokens/s (one per step, as lmdeploy reports), and the speed-up over B = 1.
/// </summary>
internal static class BatchDecodeBench
{
    public static void Run(BenchArgs a)
    {
        int runs = a.GetInt("runs", 5), layers = a.GetInt("layers", 4), context = a.GetInt("context", 512);
        var batches = a.Get("batches", "1,2,4,8,16").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var sw = Stopwatch.StartNew();
        using var model = ModelScaleBench.Build(a.GetInt("threads", 0), layers);
        var d = model.Dims;
        Console.Error.WriteLine($"batch-decode: synthetic 7B-dimension weights ({layers} decoder layers) ready in {sw.Elapsed.TotalSeconds:0.0} s; context {context}");
        var k = new float[(long)d.HKV * context * d.D];
        var r = new Random(5);
        for (int i = 0; i < k.Length; i++) k[i] = (float)(r.NextDouble() * 2 - 1);
        var rows = new List<string>();
        double perToken1 = double.NaN, cpu1 = double.NaN;
        foreach (int B in batches)
        {
            var caches = new SequenceKv[B];
            var ropes = new RotaryEmbedding[B];
            for (int b = 0; b < B; b++)
            {
                caches[b] = model.NewCache();
                foreach (var kv in caches[b].Layers) kv.Append(k, k, context);
                ropes[b] = new RotaryEmbedding(model.Rope.Config, model.Rope.Mode);
            }
            var ids = Enumerable.Range(0, B).Select(b => (long)(1000 + 37 * b)).ToArray();
            var proc = Process.GetCurrentProcess();
            var cpu = new List<double>();
            var (step, stepMin, stepMax) = BenchHost.MeasureRange($"batch-decode step B={B} ({layers} layers + head, context {context})", () =>
            {
                proc.Refresh();
                var c0 = proc.TotalProcessorTime;
                model.ForwardStep(ids, caches, ropes).Release();
                proc.Refresh();
                cpu.Add((proc.TotalProcessorTime - c0).TotalSeconds);
                foreach (var c in caches) c.Truncate(context);
            }, runs, 1);
            // CPU seconds per step (all threads): on a shared machine a steadier measure of the work than wall time
            double cpuStep = cpu.Skip(1).Order().ElementAt((cpu.Count - 1) / 2);
            var x = HostAct.F32(B, d.C);
            for (int i = 0; i < x.Span.Length; i++) x.Span[i] = (float)(r.NextDouble() * 2 - 1);
            var graph = model.Graph();
            var (head, _, _) = BenchHost.MeasureRange($"batch-decode head B={B}", () => graph.LlmHead(true, x).Release(), runs, 1);
            foreach (var c in caches) c.Dispose();
            double layer = (step - head) / layers;
            double step32 = 32 * layer + head, min32 = 32 * (stepMin - head) / layers + head, max32 = 32 * (stepMax - head) / layers + head;
            if (B == 1) perToken1 = step32;
            double speedup = perToken1 / step32 * B;
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["bench"] = $"batch-decode summary B={B} (extrapolated to 32 layers)",
                ["layer_s"] = layer,
                ["head_s"] = head,
                ["step_s"] = step32,
                ["tokens_per_s"] = B / step32,
                ["per_request_tokens_per_s"] = 1 / step32,
                ["speedup_vs_batch_1"] = speedup,
                ["cpu_s_per_measured_step"] = cpuStep,
                ["load_average"] = LoadAverage(),
            }));
            if (B == 1) cpu1 = cpuStep;
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {B} | {layer * 1000:0.0} ms | {head * 1000:0.0} ms | {step32:0.000} s ({min32:0.000}-{max32:0.000}) | {B / step32:0.00} ({B / max32:0.00}-{B / min32:0.00}) | {1 / step32:0.00} | {speedup:0.00}x | {cpuStep:0.000} s ({cpu1 / cpuStep * B:0.00}x) | {LoadAverage()} |"));
        }
        Console.WriteLine();
        Console.WriteLine($"| batch | per layer | head | step, 32 layers + head (range) | tokens/s aggregate (range) | tokens/s per request | vs batch 1 | CPU s per measured step ({layers} layers + head; tokens per CPU s vs batch 1) | load |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows) Console.WriteLine(row);
    }

    /// <summary>The 1-minute load average (Linux), or "?".</summary>
    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}
