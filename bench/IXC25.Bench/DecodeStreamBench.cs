using System.Diagnostics;
using System.Runtime.InteropServices;
using IXC25.Backends.Cpu;
using IXC25.Backends.Cpu.Gemm;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Tensors;

namespace IXC25.Bench;

/// <summary>
/// `decode-stream`: the weight stream of a bf16 decode step without the rest of the model: the five one-row products of
/// --layers decoder layers (wqkv, wo, w1, w3, w2 at 7B dimensions) in sequence, as the decode step runs them, over
/// weights placed in one of several ways, with variants of the dot driver, all alternated in one process so that a
/// change is measured against the same memory, load and page placement:
/// <list type="bullet">
/// <item>sources (--sources): <c>anon</c> (malloc'd, 4 KiB pages unless THP is "always"), <c>huge</c> (anonymous,
/// 2 MiB aligned, madvise(MADV_HUGEPAGE)), <c>file</c> (the first --layers layers of the bf16 checkpoint --model, memory
/// mapped as `chat` maps it), <c>file-huge</c> (the same mapping after madvise(MADV_HUGEPAGE) on its ranges).</item>
/// <item>prefetch distances (--prefetch 0,1,2: passes of 4 weight rows read ahead by software prefetch).</item>
/// </list>
/// Every round runs the read probe, then each (source, prefetch) variant once; per variant: the median over rounds of
/// the weight bytes per wall second, its ratio to the probe of the same round, and the process CPU seconds per GB.
/// </summary>
internal static unsafe class DecodeStreamBench
{
    private static readonly (string Name, int Out, int In)[] Shapes =
        [("wqkv", 6144, 4096), ("wo", 4096, 4096), ("w1", 14336, 4096), ("w3", 14336, 4096), ("w2", 4096, 14336)];

    private const int MadvHugepage = 14;

    [DllImport("libc", SetLastError = true)]
    private static extern int madvise(void* addr, nuint length, int advice);

    public static void Run(BenchArgs a)
    {
        int layers = a.GetInt("layers", 4), rounds = a.GetInt("rounds", 9);
        string[] sources = a.Get("sources", "anon,huge").Split(',');
        int[] prefetch = a.Get("prefetch", "0,1").Split(',').Select(int.Parse).ToArray();
        var ops = new CpuOps(a.GetInt("threads", 0));
        using var probe = new ReadBandwidth(a.GetDouble("gib", 1));
        var weights = new Dictionary<string, NamedTensor[]>();
        var frees = new List<nint>();
        ICheckpoint? ckpt = null;
        try
        {
            foreach (var s in sources)
                weights[s] = s switch
                {
                    "anon" => Alloc(layers, huge: false, frees),
                    "huge" => Alloc(layers, huge: true, frees),
                    "file" or "file-huge" => Mapped(ckpt ??= Checkpoint.Open(a.Get("model", "/work/sbs-data/rand7b")), layers, s == "file-huge"),
                    _ => throw new ArgumentException($"source {s}: anon, huge, file or file-huge"),
                };
            long bytes = weights[sources[0]].Sum(t => t.Numel * 2);
            var x = new float[14336];
            for (int i = 0; i < x.Length; i++) x[i] = (i % 13) * 0.1f - 0.6f;
            var y = new float[14336];
            void Step(NamedTensor[] ws)
            {
                foreach (var w in ws) ops.Linear(x.AsSpan(0, (int)w.Shape[1]), 1, w, null, y.AsSpan(0, (int)w.Shape[0]));
            }
            var variants = sources.SelectMany(s => prefetch.Select(p => (s, p))).ToArray();
            foreach (var (s, p) in variants) { GemmDriver.PrefetchGroups = p; Step(weights[s]); }
            var gbs = variants.ToDictionary(v => v, _ => new List<double>());
            var ratio = variants.ToDictionary(v => v, _ => new List<double>());
            var cpu = variants.ToDictionary(v => v, _ => new List<double>());
            var proc = Process.GetCurrentProcess();
            for (int r = 0; r < rounds; r++)
            {
                double read = probe.Bytes / probe.Measure(ops.Threads);
                // the order of the variants rotates every round
                for (int i = 0; i < variants.Length; i++)
                {
                    var v = variants[(i + r) % variants.Length];
                    GemmDriver.PrefetchGroups = v.p;
                    proc.Refresh();
                    var c0 = proc.TotalProcessorTime;
                    long t0 = Stopwatch.GetTimestamp();
                    Step(weights[v.s]);
                    double sec = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    proc.Refresh();
                    gbs[v].Add(bytes / sec / 1e9);
                    ratio[v].Add(bytes / sec / read);
                    cpu[v].Add((proc.TotalProcessorTime - c0).TotalSeconds / (bytes / 1e9));
                }
            }
            GemmDriver.PrefetchGroups = 0;
            foreach (var v in variants)
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["bench"] = $"decode-stream-{v.s}-prefetch{v.p}",
                    ["gb_per_s"] = Math.Round(BenchHost.Median(gbs[v]), 2),
                    ["gb_per_s_min"] = Math.Round(gbs[v].Min(), 2),
                    ["gb_per_s_max"] = Math.Round(gbs[v].Max(), 2),
                    ["ratio_to_probe"] = Math.Round(BenchHost.Median(ratio[v]), 3),
                    ["cpu_s_per_gb"] = Math.Round(BenchHost.Median(cpu[v]), 4),
                    ["bytes"] = bytes,
                    ["rounds"] = rounds,
                    ["threads"] = ops.Threads,
                    ["load"] = File.ReadAllText("/proc/loadavg").Split(' ')[0],
                }));
        }
        finally
        {
            foreach (var p in frees) NativeMemory.AlignedFree((void*)p);
            ckpt?.Dispose();
        }
    }

    private static NamedTensor[] Alloc(int layers, bool huge, List<nint> frees)
    {
        var list = new List<NamedTensor>();
        uint st = 12345;
        for (int l = 0; l < layers; l++)
            foreach (var (name, o, i) in Shapes)
            {
                long n = (long)o * i, bytes = n * 2;
                byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, huge ? 1u << 21 : 64u);
                frees.Add((nint)w);
                if (huge && madvise(w, (nuint)bytes, MadvHugepage) != 0) throw new InvalidOperationException($"madvise: errno {Marshal.GetLastPInvokeError()}");
                for (long k = 0; k < n; k++)
                {
                    st ^= st << 13; st ^= st >> 17; st ^= st << 5;
                    ((ushort*)w)[k] = (ushort)(0x3C00 + (st & 0x3FF) - 0x200);
                }
                list.Add(new NamedTensor($"{name}.{l}", DType.BF16, [o, i], new PointerBuffer(w, bytes, null)));
            }
        return [.. list];
    }

    private static NamedTensor[] Mapped(ICheckpoint c, int layers, bool huge)
    {
        string[] names = ["attention.wqkv", "attention.wo", "feed_forward.w1", "feed_forward.w3", "feed_forward.w2"];
        var list = new List<NamedTensor>();
        for (int l = 0; l < layers; l++)
            foreach (var n in names)
            {
                var t = c.Get($"model.layers.{l}.{n}.weight");
                if (huge)
                {
                    fixed (byte* p = t.Data.Bytes)
                    {
                        nint start = (nint)p & ~(nint)4095, end = ((nint)p + (nint)t.Numel * 2 + 4095) & ~(nint)4095;
                        if (madvise((void*)start, (nuint)(end - start), MadvHugepage) != 0)
                            Console.Error.WriteLine($"madvise(MADV_HUGEPAGE) on the mapping: errno {Marshal.GetLastPInvokeError()}");
                    }
                }
                list.Add(t);
            }
        return [.. list];
    }
}
