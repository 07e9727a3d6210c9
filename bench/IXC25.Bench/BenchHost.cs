using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace IXC25.Bench;

/// <summary>
/// Benchmark entry point: `dotnet run -c Release --project bench/IXC25.Bench -- NAME [--key value]...`.
/// Each benchmark warms up, then times repeated runs and prints one JSON object per measurement on
/// stdout (median, min, max seconds and derived rates), so that bench/*.py side-by-side scripts can
/// compute ratios against PyTorch measured in the same session.
/// </summary>
public static class BenchHost
{
    private static readonly Dictionary<string, (string Doc, Action<BenchArgs> Run)> Registry = new(StringComparer.Ordinal)
    {
        ["memread"] = ("memory read bandwidth: sum of a large float32 array (--gib 2)", MemoryBandwidth.Run),
        ["model-scale"] = ("7B dimensions without a checkpoint: one ViT and one decoder layer of random bf16 weights through the generated graph, extrapolated to 24 + 32 layers (--runs 3 --prompt 858); --weights q8_0|q4_0[,..] times the decoder layer as stored and quantized, alternated (--rounds 5)", ModelScaleBench.Run),
        ["attention"] = ("attention drivers: InternLM2 prefill (--tokens 512), decode at 1024/16384 cached tokens, CLIP mha at 1601 tokens (--runs 7)", AttentionBench.Run),
        ["rows-ratio"] = ("row-exact product of B rows vs one row, as back-to-back pairs: time ratio wall/CPU (--shapes IN:OUT,... --rows 8 --pairs 15 --dtype bf16 --threads 0)", RowsRatioBench.Run),
        ["gemm"] = ("CpuOps.Linear GFLOP/s and weight GB/s on 7B layer shapes (--shapes T:IN:OUT,... --dtypes bf16,f32 --threads 0 --runs 7)", GemmBench.Run),
        ["quant-gemv"] = ("y = x W^T on the 7B decode shapes: bf16 vs q8_0 and q4_0 (integer dots) vs q8_0 with f32 activations, rounds alternated, wall and CPU seconds; --rows 858 times the prefill GEMM (--shapes IN:OUT,... --rows 1 --rounds 9 --threads 0)", QuantBench.Run),
        ["gemv-bw"] = ("one-row bf16 products on the 7B decode shapes as a fraction of the read bandwidth measured alternately (--pairs 15 --gib 1)", GemmBench.Bandwidth),
        ["layer-prefill"] = ("InternLM2-7B-shaped decoder layer with Partial LoRA, bf16 weights, prefill (--tokens 512 --mask all|none|both --runs 5)", LayerBench.Prefill),
        ["batch-decode"] = ("batched decode (Ixc25Model.ForwardStep) at 7B dimensions, synthetic bf16 weights: tokens/s for batch 1..16, aggregate and per request, extrapolated to 32 layers (--batches 1,2,4,8,16 --layers 4 --context 512 --runs 5)", BatchDecodeBench.Run),
        ["decode-stream"] = ("the bf16 weight stream of decode (5 one-row products per layer, --layers 4) over anonymous / huge-page / memory-mapped weights and driver prefetch variants, alternated in one process (--sources anon,huge,file,file-huge --prefetch 0,1 --rounds 9 --model DIR)", DecodeStreamBench.Run),
        ["layer-decode"] = ("the same layer, one decode step against a KV cache (--context 1024 --runs 9)", LayerBench.Decode),
        ["tokenize"] = ("SentencePiece-BPE encode throughput on the tokenizer golden corpus, one thread (--runs 7)", TokenizerBench.Run),
    };

    public static void Register(string name, string doc, Action<BenchArgs> run) => Registry[name] = (doc, run);

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "list")
        {
            Console.WriteLine("usage: IXC25.Bench NAME [--key value]...\nbenchmarks:");
            foreach (var kv in Registry.OrderBy(k => k.Key)) Console.WriteLine($"  {kv.Key,-24} {kv.Value.Doc}");
            return args.Length == 0 ? 2 : 0;
        }
        if (!Registry.TryGetValue(args[0], out var b))
        {
            Console.Error.WriteLine($"unknown benchmark '{args[0]}' (see 'list')");
            return 2;
        }
        b.Run(new BenchArgs(args.Skip(1).ToArray()));
        return 0;
    }

    /// <summary>Runs <paramref name="body"/> <paramref name="warmup"/> times, then <paramref name="runs"/> timed times; prints and returns the median seconds.</summary>
    public static double Measure(string name, Action body, int runs = 7, int warmup = 2, IDictionary<string, double>? perSecond = null) =>
        MeasureRange(name, body, runs, warmup, perSecond).Median;

    /// <summary>As <see cref="Measure"/>, returning the median, fastest and slowest run in seconds.</summary>
    /// <summary>The median of a sample (the upper middle value for an even count), as every bench here reports it.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var l = values.Order().ToList();
        return l[l.Count / 2];
    }

    public static (double Median, double Min, double Max) MeasureRange(string name, Action body, int runs = 7, int warmup = 2, IDictionary<string, double>? perSecond = null)
    {
        for (int i = 0; i < warmup; i++) body();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            body();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        double median = times[runs / 2];
        var result = new Dictionary<string, object>
        {
            ["bench"] = name,
            ["median_s"] = median,
            ["min_s"] = times[0],
            ["max_s"] = times[^1],
            ["runs"] = runs,
            ["threads"] = Environment.ProcessorCount,
        };
        if (perSecond is not null)
            foreach (var kv in perSecond) result[kv.Key + "_per_s"] = kv.Value / median;
        Console.WriteLine(JsonSerializer.Serialize(result));
        return (median, times[0], times[^1]);
    }
}

/// <summary>`--key value` pairs after the benchmark name.</summary>
public sealed class BenchArgs(string[] args)
{
    public string Get(string key, string fallback)
    {
        int i = Array.IndexOf(args, "--" + key);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    public int GetInt(string key, int fallback) => int.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
    public double GetDouble(string key, double fallback) => double.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
}
