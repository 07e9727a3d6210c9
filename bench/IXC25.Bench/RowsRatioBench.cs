using System.Diagnostics;
using System.Text.Json;
using IXC25.Backends.Cpu;
using IXC25.Runtime.Tensors;

namespace IXC25.Bench;

/// <summary>
/// The cost of the row-exact product for B rows relative to one row (batched decode: B sequences share one pass over the
/// weights), measured as pairs run back to back — one row, then B rows — so that both members of a pair see the same load
/// on a shared machine. Prints per shape the median, min and max over pairs of time(B) / time(1), in wall and in CPU time.
/// Batch B gives B / ratio times the tokens/s of batch 1 on that product (the 5x target at B = 8 needs ratio &lt;= 1.6).
/// --shapes IN:OUT,... (default the 7B decoder's four and the head), --rows 8, --pairs 15, --dtype bf16, --threads 0.
/// </summary>
internal static unsafe class RowsRatioBench
{
    public static void Run(BenchArgs a)
    {
        string shapes = a.Get("shapes", "4096:6144,4096:4096,4096:14336,14336:4096,4096:92544");
        int rows = a.GetInt("rows", 8), pairs = a.GetInt("pairs", 15);
        var dtype = a.Get("dtype", "bf16") switch { "bf16" => DType.BF16, "f16" => DType.F16, "f32" => DType.F32, var d => throw new ArgumentException($"dtype {d}") };
        var ops = new CpuOps(a.GetInt("threads", 0));
        var proc = Process.GetCurrentProcess();
        foreach (var s in shapes.Split(','))
        {
            var p = s.Split(':').Select(int.Parse).ToArray();
            int IN = p[0], OUT = p[1];
            var (weight, mem) = GemmBench.RandomWeight(dtype, OUT, IN);
            try
            {
                var x = new float[rows * IN];
                for (int i = 0; i < x.Length; i++) x[i] = (i % 13) * 0.1f - 0.6f;
                var y = new float[rows * OUT];
                (double Wall, double Cpu) Time(int m)
                {
                    proc.Refresh();
                    var c0 = proc.TotalProcessorTime;
                    long t0 = Stopwatch.GetTimestamp();
                    ops.Linear(x.AsSpan(0, m * IN), m, weight, null, y.AsSpan(0, m * OUT), rowExact: true);
                    double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    proc.Refresh();
                    return (wall, (proc.TotalProcessorTime - c0).TotalSeconds);
                }
                for (int i = 0; i < 2; i++) { Time(1); Time(rows); }
                var one = new List<(double Wall, double Cpu)>();
                var many = new List<(double Wall, double Cpu)>();
                for (int i = 0; i < pairs; i++) { one.Add(Time(1)); many.Add(Time(rows)); }
                var wall = one.Zip(many, (o, m) => m.Wall / o.Wall).Order().ToList();
                var cpu = one.Zip(many, (o, m) => m.Cpu / Math.Max(o.Cpu, 1e-6)).Order().ToList();
                double flop = 2.0 * rows * IN * OUT;
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["bench"] = $"rows-ratio {dtype} {IN}->{OUT} B={rows}",
                    ["one_row_ms"] = BenchHost.Median(one.Select(o => o.Wall)) * 1e3,
                    ["rows_ms"] = BenchHost.Median(many.Select(o => o.Wall)) * 1e3,
                    ["ratio_wall"] = wall[wall.Count / 2], ["ratio_wall_min"] = wall[0], ["ratio_wall_max"] = wall[^1],
                    ["ratio_cpu"] = cpu[cpu.Count / 2], ["ratio_cpu_min"] = cpu[0], ["ratio_cpu_max"] = cpu[^1],
                    ["rows_gflop_per_s"] = flop / BenchHost.Median(many.Select(o => o.Wall)) / 1e9,
                    ["speedup_tokens"] = rows / wall[wall.Count / 2],
                    ["load_average"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?",
                }));
            }
            finally { System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)mem); }
        }
    }
}
