using System.Runtime.InteropServices;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Bench;

/// <summary>
/// GEMM micro-benchmarks of CpuOps.Linear (y = x W^T) on InternLM2-7B shapes: prefill (512 rows) and decode
/// (1 row) against weights in native memory. --shapes T:IN:OUT,... (default: the layer's shapes at 512 and 1 rows),
/// --dtypes bf16,f32,f16 (default bf16,f32), --threads N (0: all), --runs 7, --row-exact 1 (the batched decode entry,
/// GemmDriver.LinearRows). Reports GFLOP/s and weight GB/s.
/// </summary>
internal static unsafe class GemmBench
{
    /// <summary>
    /// `gemv-bw`: one-row products over the 7B decode shapes (bf16), each timed right after a pass of the read
    /// probe (<see cref="ReadBandwidth"/>); prints per shape the median of (weight bytes / GEMV time) / (probe bytes /
    /// probe time) over --pairs pairs.
    /// </summary>
    public static void Bandwidth(BenchArgs a)
    {
        string shapes = a.Get("shapes", "4096:6144,4096:4096,4096:14336,14336:4096");
        int pairs = a.GetInt("pairs", 15), threads = a.GetInt("threads", 0);
        var ops = new CpuOps(threads);
        using var probe = new ReadBandwidth(a.GetDouble("gib", 1));
        int nt = ops.Threads;
        foreach (var s in shapes.Split(','))
        {
            var p = s.Split(':').Select(int.Parse).ToArray();
            int IN = p[0], OUT = p[1];
            long bytes = (long)OUT * IN * 2;
            byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            try
            {
                for (long i = 0; i < (long)OUT * IN; i++) ((ushort*)w)[i] = (ushort)(0x3C00 + (i % 61));
                var weight = new NamedTensor("w", DType.BF16, [OUT, IN], new PointerBuffer(w, bytes, null));
                var x = new float[IN];
                for (int i = 0; i < IN; i++) x[i] = (i % 13) * 0.1f - 0.6f;
                var y = new float[OUT];
                for (int i = 0; i < 3; i++) { ops.Linear(x, 1, weight, null, y); probe.Measure(nt); }
                var ratios = new List<double>();
                var gemv = new List<double>();
                var read = new List<double>();
                for (int i = 0; i < pairs; i++)
                {
                    double r = probe.Bytes / probe.Measure(nt);
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    ops.Linear(x, 1, weight, null, y);
                    double g = bytes / System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    ratios.Add(g / r);
                    gemv.Add(g);
                    read.Add(r);
                }
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["bench"] = $"gemv-bw-bf16-1x{IN}x{OUT}",
                    ["gemv_bytes_per_s"] = BenchHost.Median(gemv),
                    ["read_bytes_per_s"] = BenchHost.Median(read),
                    ["ratio"] = BenchHost.Median(ratios),
                    ["pairs"] = pairs,
                    ["threads"] = nt,
                }));
            }
            finally { NativeMemory.AlignedFree(w); }
        }
    }

    /// <summary>A [OUT, IN] weight of uniform random values scaled by 1/sqrt(IN) in aligned native memory (free the pointer).</summary>
    internal static (NamedTensor Weight, nint Memory) RandomWeight(DType dtype, int OUT, int IN)
    {
        long bytes = (long)OUT * IN * dtype.Size();
        byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        uint st = 12345;
        for (long i = 0; i < (long)OUT * IN; i++)
        {
            st ^= st << 13; st ^= st >> 17; st ^= st << 5;
            float v = ((st >> 8) * (1f / (1 << 24)) * 2 - 1) / MathF.Sqrt(IN);
            if (dtype == DType.BF16) ((ushort*)w)[i] = BFloat16.FromSingle(v);
            else if (dtype == DType.F16) ((Half*)w)[i] = (Half)v;
            else ((float*)w)[i] = v;
        }
        return (new NamedTensor("w", dtype, [OUT, IN], new PointerBuffer(w, bytes, null)), (nint)w);
    }

    public static void Run(BenchArgs a)
    {
        string shapes = a.Get("shapes", "512:4096:6144,512:4096:4096,512:4096:14336,512:14336:4096,1:4096:6144,1:4096:14336,1:14336:4096");
        string[] dtypes = a.Get("dtypes", "bf16,f32").Split(',');
        int runs = a.GetInt("runs", 7);
        bool rowExact = a.GetInt("row-exact", 0) != 0; // the batched decode path (GemmDriver.LinearRows)
        var ops = new CpuOps(a.GetInt("threads", 0));
        foreach (var dt in dtypes)
            foreach (var s in shapes.Split(','))
            {
                var p = s.Split(':').Select(int.Parse).ToArray();
                int T = p[0], IN = p[1], OUT = p[2];
                var dtype = dt switch { "bf16" => DType.BF16, "f16" => DType.F16, "f32" => DType.F32, _ => throw new ArgumentException($"dtype {dt}") };
                long bytes = (long)OUT * IN * dtype.Size();
                var (weight, w) = RandomWeight(dtype, OUT, IN);
                try
                {
                    var x = new float[T * IN];
                    for (int i = 0; i < x.Length; i++) x[i] = (i % 13) * 0.1f - 0.6f;
                    var y = new float[T * OUT];
                    var cpu = new List<double>();
                    var proc = System.Diagnostics.Process.GetCurrentProcess();
                    string name = $"gemm-{dt}-{T}x{IN}x{OUT}{(rowExact ? "-rows" : "")}";
                    BenchHost.Measure(name, () =>
                    {
                        proc.Refresh();
                        var c0 = proc.TotalProcessorTime;
                        ops.Linear(x, T, weight, null, y, rowExact);
                        proc.Refresh();
                        cpu.Add((proc.TotalProcessorTime - c0).TotalSeconds);
                    }, runs: runs, warmup: 2, perSecond: new Dictionary<string, double> { ["flop"] = 2.0 * T * IN * OUT, ["weight_byte"] = bytes });
                    // CPU seconds per run (all threads): on a shared machine, a steadier measure of the work than wall time
                    Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["bench"] = name + "-cpu",
                        ["min_cpu_s"] = cpu.Skip(2).Min(),
                        ["median_cpu_s"] = cpu.Skip(2).Order().ElementAt((cpu.Count - 2) / 2),
                    }));
                }
                finally { NativeMemory.AlignedFree((void*)w); }
            }
    }
}
