using System.Diagnostics;
using System.Text.Json;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Model.Inference;
using IXC25.Runtime.Tensors;

namespace IXC25.Bench;

/// <summary>
/// `model-scale --weights q8_0|q4_0[,...]`: one InternLM2-7B decoder layer of the same random bf16 weights, as stored
/// (bf16 widened, f32 arithmetic: the exact path) and block-quantized (integer dots, QuantizedGraphOps), in one process,
/// rounds alternating the variants: the prefill of --prompt positions (841 with Partial LoRA), a decode step at that
/// context and the output head. Prints per variant and measurement the median, min and max of wall seconds and of
/// process CPU seconds (steadier than wall time on a shared machine), and the ratio of bf16's median to the variant's.
/// The first call of each quantized variant quantizes its weights (scalar code) and is not timed.
/// </summary>
internal static class ModelScaleQuantBench
{
    public static void Run(BenchArgs a)
    {
        int rounds = a.GetInt("rounds", 5), prompt = a.GetInt("prompt", 858), threads = a.GetInt("threads", 0);
        var names = new List<string> { "bf16" };
        names.AddRange(a.Get("weights", "q8_0").Split(','));
        var models = names.Select(n => ModelScaleBench.Build(threads, weights: n == "bf16" ? null : n)).ToArray();
        var d = models[0].Dims;
        var x = HostAct.F32(prompt, d.C);
        Fill(x.Span, 2);
        var mask = new byte[prompt];
        Array.Fill(mask, (byte)1, 0, Math.Min(841, prompt));
        var positions = Enumerable.Range(0, prompt).Select(i => (long)i).ToArray();
        var x1 = HostAct.F32(1, d.C);
        Fill(x1.Span, 3);
        var m = HostAct.Mask(mask);
        var m1 = HostAct.Mask([0]);
        var steps = new List<(string Name, Action[] Run)>();
        var caches = new KvLayer?[models.Length];
        var rope = models.Select(md =>
        {
            md.Rope.BeginPass(prompt);
            var cos = HostAct.F32(prompt, d.D);
            var sin = HostAct.F32(prompt, d.D);
            md.Rope.Gather(positions, cos.Span, sin.Span);
            var c1 = HostAct.F32(1, d.D);
            var s1 = HostAct.F32(1, d.D);
            md.Rope.Gather([prompt], c1.Span, s1.Span);
            return (cos, sin, c1, s1);
        }).ToArray();
        var graphs = models.Select(md => md.Graph()).ToArray();
        steps.Add(($"decoder layer prefill ({prompt} positions)", models.Select((md, i) => (Action)(() =>
        {
            caches[i]?.Dispose();
            caches[i] = new CpuKvLayer(d.HKV, d.D, DType.F32, prompt + 64, prompt + 64);
            graphs[i].DecoderLayer(0, false, x, m, rope[i].cos, rope[i].sin, caches[i]!).Release();
        })).ToArray()));
        steps.Add(($"decoder layer decode step (context {prompt})", models.Select((md, i) => (Action)(() =>
        {
            graphs[i].DecoderLayer(0, false, x1, m1, rope[i].c1, rope[i].s1, caches[i]!).Release();
            caches[i]!.Truncate(prompt);
        })).ToArray()));
        steps.Add(("output head (1 row)", models.Select((md, i) => (Action)(() => graphs[i].LlmHead(false, x1).Release())).ToArray()));
        var proc = Process.GetCurrentProcess();
        foreach (var (name, run) in steps)
        {
            int reps = name.StartsWith("decoder layer prefill", StringComparison.Ordinal) ? 1 : 5; // calls per timed sample
            foreach (var r in run) { r(); r(); } // warm up (and quantize)
            var wall = names.Select(_ => new List<double>()).ToArray();
            var cpu = names.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < rounds; round++)
                for (int i = 0; i < run.Length; i++)
                {
                    proc.Refresh();
                    var c0 = proc.TotalProcessorTime;
                    long t0 = Stopwatch.GetTimestamp();
                    for (int k = 0; k < reps; k++) run[i]();
                    wall[i].Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / reps);
                    proc.Refresh();
                    cpu[i].Add((proc.TotalProcessorTime - c0).TotalSeconds / reps);
                }
            for (int i = 0; i < names.Count; i++)
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["bench"] = $"model-scale {name} {names[i]}",
                    ["median_s"] = BenchHost.Median(wall[i]), ["min_s"] = wall[i].Min(), ["max_s"] = wall[i].Max(),
                    ["cpu_median_s"] = BenchHost.Median(cpu[i]), ["cpu_min_s"] = cpu[i].Min(), ["cpu_max_s"] = cpu[i].Max(),
                    ["speedup_vs_bf16_wall"] = BenchHost.Median(wall[0]) / BenchHost.Median(wall[i]),
                    ["speedup_vs_bf16_cpu"] = BenchHost.Median(cpu[0]) / BenchHost.Median(cpu[i]),
                    ["quant_tier"] = CpuOps.QuantTier,
                    ["rounds"] = rounds,
                }));
        }
        foreach (var c in caches) c?.Dispose();
        foreach (var md in models) md.Dispose();
    }


    private static void Fill(Span<float> s, int seed)
    {
        var r = new Random(seed);
        for (int i = 0; i < s.Length; i++) s[i] = (float)(r.NextDouble() * 2 - 1);
    }
}
