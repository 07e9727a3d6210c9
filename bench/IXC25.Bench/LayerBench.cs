using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Cpu.Attention;
using IXC25.Runtime.Tensors;

namespace IXC25.Bench;

/// <summary>
/// One InternLM2-7B-shaped decoder layer composed from CpuOps calls: hidden 4096, 32 query / 8 KV heads of
/// 128, FFN 14336, Partial LoRA of rank 256 on wqkv, wo, w1, w2, w3; random bf16 weights in native memory.
/// <c>layer-prefill</c>: 512 tokens (--tokens), all tokens image-masked and none (--mask all|none|both).
/// <c>layer-decode</c>: one token against a KV cache of --context tokens (1024); the token is not image-masked, so
/// upstream's B(A(x[0])) * 0 term applies, which PloraLinear proves to be a no-op here and skips: a step reads the
/// base weights (436 MB) plus the KV cache.
/// Prints the median of --runs timed runs per workload and, per workload, the median time of each op group
/// (linear = PloraLinear, attention, other = RmsNorm/SiluGate/Add, which may still be reference-speed).
/// bench/layer_side_by_side.py runs the same shapes in PyTorch.
/// </summary>
internal static unsafe class LayerBench
{
    public const int C = 4096, H = 32, HKV = 8, D = 128, F = 14336, R = 256;
    private const float Eps = 1e-5f;

    public static void Prefill(BenchArgs a)
    {
        int T = a.GetInt("tokens", 512), runs = a.GetInt("runs", 5), threads = a.GetInt("threads", 0);
        string mask = a.Get("mask", "both");
        using var layer = new Layer(seed: 1);
        var ops = new CpuOps(threads);
        var x = Rand(T * C, 2, 1f);
        var (cos, sin) = Rotary(0, T);
        foreach (var kind in mask == "both" ? new[] { "all", "none" } : [mask])
        {
            var im = new byte[T];
            if (kind == "all") im.AsSpan().Fill(1);
            var parts = new Parts();
            Run($"layer-prefill-mask-{kind}", runs, T, ops, layer, x, im, cos, sin, parts, cacheTokens: 0,
                perRun: layer.Flops(T, kind == "all") + AttentionFlops(T, 0), what: "flop");
        }
    }

    public static void Decode(BenchArgs a)
    {
        int context = a.GetInt("context", 1024), runs = a.GetInt("runs", 9), threads = a.GetInt("threads", 0);
        using var layer = new Layer(seed: 1);
        var ops = new CpuOps(threads);
        var x = Rand(C, 2, 1f);
        var (cos, sin) = Rotary(context, 1);
        Run("layer-decode", runs, 1, ops, layer, x, new byte[1], cos, sin, new Parts(), cacheTokens: context,
            perRun: layer.WeightBytes(lora: false), what: "weight_byte");

        // the same step alternating with a pass of the read probe: weight bandwidth as a fraction of the read
        // bandwidth measured next to it (robust to the drift of a shared machine)
        using var probe = new ReadBandwidth(a.GetDouble("gib", 1));
        using var cache = new KvPanels(HKV, D, context + 1);
        cache.Append(Rand(HKV * context * D, 5, 1f), Rand(HKV * context * D, 6, 1f), context);
        var buffers = new Buffers(1);
        var sw = new double[3];
        double bytes = layer.WeightBytes(lora: false);
        var fractions = new List<double>();
        var reads = new List<double>();
        var steps = new List<double>();
        for (int i = 0; i < runs + 2; i++)
        {
            double read = probe.Bytes / probe.Measure(ops.Threads);
            cache.Truncate(context);
            long t0 = Stopwatch.GetTimestamp();
            Forward(ops, layer, x, 1, new byte[1], cos, sin, cache, buffers, sw);
            double step = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (i < 2) continue;
            fractions.Add(bytes / step / read);
            reads.Add(read);
            steps.Add(step);
        }
        double Med(List<double> l) => l.Order().ElementAt(l.Count / 2);
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["bench"] = "layer-decode-vs-read",
            ["step_median_s"] = Med(steps),
            ["read_bytes_per_s"] = Med(reads),
            ["weight_bytes"] = bytes,
            ["fraction_of_read"] = Med(fractions),
            ["pairs"] = runs,
            ["threads"] = ops.Threads,
        }));
    }

    private sealed class Parts
    {
        public readonly List<double> Linear = [], Attention = [], Other = [];
    }

    private static void Run(string name, int runs, int T, CpuOps ops, Layer layer, float[] x, byte[] im, float[] cos, float[] sin, Parts parts,
        int cacheTokens, double perRun, string what)
    {
        using var cache = new KvPanels(HKV, D, cacheTokens + T);
        if (cacheTokens > 0) cache.Append(Rand(HKV * cacheTokens * D, 5, 1f), Rand(HKV * cacheTokens * D, 6, 1f), cacheTokens);
        var buffers = new Buffers(T);
        var sw = new double[3];
        void Once()
        {
            cache.Truncate(cacheTokens);
            Array.Clear(sw);
            Forward(ops, layer, x, T, im, cos, sin, cache, buffers, sw);
        }
        Once();
        double median = BenchHost.Measure(name, () =>
        {
            Once();
            parts.Linear.Add(sw[0]);
            parts.Attention.Add(sw[1]);
            parts.Other.Add(sw[2]);
        }, runs: runs, warmup: 1, perSecond: new Dictionary<string, double> { [what] = perRun, ["token"] = T });
        double Med(List<double> l) { var s = l.Skip(l.Count - runs).Order().ToArray(); return s[s.Length / 2]; }
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["bench"] = name + "-parts",
            ["linear_s"] = Med(parts.Linear),
            ["attention_s"] = Med(parts.Attention),
            ["other_s"] = Med(parts.Other),
            ["total_median_s"] = median,
            ["threads"] = ops.Threads,
        }));
    }

    private sealed class Buffers(int T)
    {
        public readonly float[] Norm = new float[T * C], Qkv = new float[T * (H + 2 * HKV) * D], Attn = new float[T * C], Proj = new float[T * C],
            Hidden = new float[T * C], Gate = new float[T * F], Up = new float[T * F], Act = new float[T * F], Down = new float[T * C], Out = new float[T * C];
    }

    /// <summary>InternLM2DecoderLayer: h = x + wo(attn(wqkv(norm(x)))); out = h + w2(silu(w1 n) * w3 n), n = ffn_norm(h).</summary>
    private static void Forward(CpuOps ops, Layer l, float[] x, int T, byte[] im, float[] cos, float[] sin, KvPanels cache, Buffers b, double[] sw)
    {
        long t0 = Stopwatch.GetTimestamp();
        void Lap(int part) { long now = Stopwatch.GetTimestamp(); sw[part] += Stopwatch.GetElapsedTime(t0, now).TotalSeconds; t0 = now; }
        ops.RmsNorm(x, T, C, l.AttentionNorm, Eps, b.Norm); Lap(2);
        ops.PloraLinear(b.Norm, T, l.Wqkv.W, l.Wqkv.A, l.Wqkv.B, im, 1f, b.Qkv); Lap(0);
        ops.Attention(b.Qkv, T, H, HKV, D, cos, sin, cache, b.Attn); Lap(1);
        ops.PloraLinear(b.Attn, T, l.Wo.W, l.Wo.A, l.Wo.B, im, 1f, b.Proj); Lap(0);
        ops.Add(x, b.Proj, b.Hidden);
        ops.RmsNorm(b.Hidden, T, C, l.FfnNorm, Eps, b.Norm); Lap(2);
        ops.PloraLinear(b.Norm, T, l.W1.W, l.W1.A, l.W1.B, im, 1f, b.Gate);
        ops.PloraLinear(b.Norm, T, l.W3.W, l.W3.A, l.W3.B, im, 1f, b.Up); Lap(0);
        ops.SiluGate(b.Gate, b.Up, b.Act); Lap(2);
        ops.PloraLinear(b.Act, T, l.W2.W, l.W2.A, l.W2.B, im, 1f, b.Down); Lap(0);
        ops.Add(b.Hidden, b.Down, b.Out); Lap(2);
    }

    /// <summary>Causal attention flops: QK^T and PV over the visible keys.</summary>
    private static double AttentionFlops(int T, int past) => 4.0 * H * D * ((double)T * past + (double)T * (T + 1) / 2);

    private static (float[] Cos, float[] Sin) Rotary(int p0, int T)
    {
        var cos = new float[T * D];
        var sin = new float[T * D];
        for (int t = 0; t < T; t++)
            for (int i = 0; i < D / 2; i++)
            {
                double angle = (p0 + t) / Math.Pow(1e6, 2.0 * i / D);
                cos[t * D + i] = cos[t * D + i + D / 2] = (float)Math.Cos(angle);
                sin[t * D + i] = sin[t * D + i + D / 2] = (float)Math.Sin(angle);
            }
        return (cos, sin);
    }

    /// <summary>Uniform values in [-scale, scale) from a fixed seed.</summary>
    private static float[] Rand(int n, int seed, float scale)
    {
        var a = new float[n];
        uint s = (uint)seed * 2654435761u + 1;
        for (int i = 0; i < n; i++)
        {
            s ^= s << 13; s ^= s >> 17; s ^= s << 5;
            a[i] = ((s >> 8) * (1f / (1 << 24)) * 2 - 1) * scale;
        }
        return a;
    }

    /// <summary>A Partial LoRA linear: W [OUT, IN], A [R, IN], B [OUT, R], bf16 in native memory.</summary>
    private sealed record PLora(NamedTensor W, NamedTensor A, NamedTensor B);

    private sealed class Layer : IDisposable
    {
        private readonly List<nint> _blocks = [];
        private uint _state;

        public Layer(int seed)
        {
            _state = (uint)seed * 2654435761u + 7;
            Wqkv = Make("wqkv", (H + 2 * HKV) * D, C);
            Wo = Make("wo", C, H * D);
            W1 = Make("w1", F, C);
            W3 = Make("w3", F, C);
            W2 = Make("w2", C, F);
            AttentionNorm = Enumerable.Repeat(1f, C).ToArray();
            FfnNorm = Enumerable.Repeat(1f, C).ToArray();
        }

        public PLora Wqkv { get; }
        public PLora Wo { get; }
        public PLora W1 { get; }
        public PLora W2 { get; }
        public PLora W3 { get; }
        public float[] AttentionNorm { get; }
        public float[] FfnNorm { get; }

        private IEnumerable<PLora> All => [Wqkv, Wo, W1, W2, W3];

        public double Flops(int T, bool lora) =>
            All.Sum(p => 2.0 * T * p.W.Numel + (lora ? 2.0 * T * (p.A.Numel + p.B.Numel) : 0));

        public double WeightBytes(bool lora) => All.Sum(p => 2.0 * (p.W.Numel + (lora ? p.A.Numel + p.B.Numel : 0)));

        private PLora Make(string name, int outF, int inF) =>
            new(Bf16(name, outF, inF, 1 / MathF.Sqrt(inF)), Bf16(name + ".A", R, inF, 1 / MathF.Sqrt(inF)), Bf16(name + ".B", outF, R, 1 / MathF.Sqrt(R)));

        private NamedTensor Bf16(string name, int rows, int cols, float scale)
        {
            long n = (long)rows * cols;
            var p = (ushort*)NativeMemory.AlignedAlloc((nuint)(n * 2), 64);
            _blocks.Add((nint)p);
            uint s = _state;
            for (long i = 0; i < n; i++)
            {
                s ^= s << 13; s ^= s >> 17; s ^= s << 5;
                p[i] = BFloat16.FromSingle(((s >> 8) * (1f / (1 << 24)) * 2 - 1) * scale * 1.7320508f);
            }
            _state = s;
            return new NamedTensor(name, DType.BF16, [rows, cols], new PointerBuffer((byte*)p, n * 2, null));
        }

        public void Dispose()
        {
            foreach (var p in _blocks) NativeMemory.AlignedFree((void*)p);
            _blocks.Clear();
        }
    }
}
