using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using IXC25.Backends.Cpu;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;

namespace IXC25.Bench;

/// <summary>
/// `quant-gemv`: y = x W^T on the InternLM2-7B decode shapes (--shapes IN:OUT,..., --rows T, default 1) with the same
/// random N(0, 0.02) weights as bf16 (CpuOps.Linear, the exact path), q8_0 and q4_0 (CpuOps.QuantLinear: q8
/// activations, integer dots), and q8_0 with float32 activations (this file's kernel: int8 widened to float, one
/// fused chain per block, times the block scale: the alternative the issue asks to measure). Rounds alternate the
/// four (three for --rows above 1: the f32-activation kernel is one-row only); prints per shape and variant the median,
/// min and max wall seconds and process CPU seconds over --rounds, and the weight GB/s. With --rows 858 (a prompt) the
/// bf16 variant is our f32 prefill GEMM (bf16 weights widened, f32 arithmetic) and the quantized ones the integer GEMM.
/// </summary>
internal static unsafe class QuantBench
{
    public static void Run(BenchArgs a)
    {
        string shapes = a.Get("shapes", "4096:6144,4096:4096,4096:14336,14336:4096");
        int rounds = a.GetInt("rounds", 9), T = a.GetInt("rows", 1);
        var ops = new CpuOps(a.GetInt("threads", 0));
        var rng = new Random(7);
        foreach (var s in shapes.Split(','))
        {
            var p = s.Split(':').Select(int.Parse).ToArray();
            int IN = p[0], OUT = p[1];
            var wf = new float[(long)OUT * IN];
            for (long i = 0; i < wf.LongLength; i++) wf[i] = (float)(0.02 * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
            var bf = new ushort[wf.LongLength];
            for (long i = 0; i < wf.LongLength; i++) bf[i] = BFloat16.FromSingle(wf[i]);
            var wb = NamedTensor.BF16("w", [OUT, IN], bf);
            var q8 = Quantizer.Quantize(QuantFormat.Q8_0, wf, OUT, IN, "w");
            var q4 = Quantizer.Quantize(QuantFormat.Q4_0, wf, OUT, IN, "w");
            wf = null!;
            var x = new float[T * IN];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
            var y = new float[T * OUT];
            var q8Scales = q8.Scales.ToArray().Select(h => (float)BitConverter.UInt16BitsToHalf(h)).ToArray(); // widened once, as a loader would
            var variants = new (string Name, long Bytes, Action Run)[]
            {
                ("bf16", 2L * OUT * IN, () => ops.Linear(x, T, wb, null, y)),
                ("q8_0", q8.Bytes, () => ops.QuantLinear(x, T, q8, null, y)),
                ("q4_0", q4.Bytes, () => ops.QuantLinear(x, T, q4, null, y)),
                ("q8_0-f32act", q8.Bytes, () => F32Activations(x, T, q8, q8Scales, y, ops.Threads)),
            };
            if (T > 1) variants = variants[..3]; // the f32-activation kernel is a one-row alternative: prompts take hours
            var proc = System.Diagnostics.Process.GetCurrentProcess();
            var cpu = variants.Select(_ => new List<double>()).ToArray();
            var times = variants.Select(_ => new List<double>()).ToArray();
            foreach (var v in variants) { v.Run(); v.Run(); }
            for (int r = 0; r < rounds; r++)
                for (int i = 0; i < variants.Length; i++)
                {
                    proc.Refresh();
                    var c0 = proc.TotalProcessorTime;
                    long t0 = Stopwatch.GetTimestamp();
                    variants[i].Run();
                    times[i].Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                    proc.Refresh();
                    cpu[i].Add((proc.TotalProcessorTime - c0).TotalSeconds);
                }
            double bfMed = BenchHost.Median(times[0]);
            for (int i = 0; i < variants.Length; i++)
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["bench"] = $"quant-gemv-{variants[i].Name}-{T}x{IN}x{OUT}",
                    ["median_s"] = BenchHost.Median(times[i]),
                    ["min_s"] = times[i].Min(),
                    ["max_s"] = times[i].Max(),
                    ["weight_gb_per_s"] = variants[i].Bytes / BenchHost.Median(times[i]) / 1e9,
                    ["speedup_vs_bf16"] = bfMed / BenchHost.Median(times[i]),
                    ["cpu_median_s"] = BenchHost.Median(cpu[i]),
                    ["cpu_min_s"] = cpu[i].Min(),
                    ["cpu_max_s"] = cpu[i].Max(),
                    ["cpu_speedup_vs_bf16"] = BenchHost.Median(cpu[0]) / BenchHost.Median(cpu[i]),
                    ["tier"] = i == 0 ? "gemm " + IXC25.Backends.Cpu.Simd.KernelTiers.Best : i == 3 ? "Avx2+Fma" : CpuOps.QuantTier,
                    ["threads"] = ops.Threads,
                    ["rounds"] = rounds,
                }));
        }
    }


    /// <summary>The float32-activation alternative for q8_0: per block, 32 int8 widened to float and multiplied with x
    /// in one fused chain (AVX2 + FMA), times the block scale (widened to float32 beforehand), accumulated; threads over rows.</summary>
    private static void F32Activations(float[] x, int T, QuantizedMatrix m, float[] scales, float[] y, int threads)
    {
        if (!Avx2.IsSupported || !Fma.IsSupported) throw new PlatformNotSupportedException("the f32-activation bench kernel needs AVX2 + FMA");
        int K = m.Cols, nb = m.Blocks;
        var qs = m.Qs;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            int r0 = (int)((long)m.Rows * part / threads), r1 = (int)((long)m.Rows * (part + 1) / threads);
            fixed (byte* wq = qs)
            fixed (float* xp = x, sp = scales, yp = y)
                for (int t = 0; t < T; t++)
                    for (int r = r0; r < r1; r++)
                    {
                        sbyte* w = (sbyte*)wq + (nint)r * K;
                        float* xr = xp + (nint)t * K;
                        var acc = Vector256<float>.Zero;
                        for (int b = 0; b < nb; b++)
                        {
                            var s = Vector256<float>.Zero;
                            for (int i = 0; i < 32; i += 8)
                                s = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w + b * 32 + i)), Avx.LoadVector256(xr + b * 32 + i), s);
                            acc = Fma.MultiplyAdd(s, Vector256.Create(sp[(nint)r * nb + b]), acc);
                        }
                        yp[(nint)t * m.Rows + r] = Vector256.Sum(acc);
                    }
        });
    }
}
