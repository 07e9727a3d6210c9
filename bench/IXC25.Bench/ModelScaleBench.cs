using IXC25.Backends;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;
using IXC25.Tokenizer;

namespace IXC25.Bench;

/// <summary>
/// The 7B code path at real dimensions without a checkpoint: the 7B config with one decoder layer and
/// one ViT layer, random bf16 weights (bound through the spec like a checkpoint), run through the
/// generated graph. Times one ViT layer on a single-image batch (global view + 1 crop, 2 x 1601
/// tokens), one decoder layer over an 858-position single-image prompt (841 image positions, Partial
/// LoRA on them), one decode step at that context, and the output head; extrapolates to 24 ViT and 32
/// decoder layers. Prints one JSON object per measurement and a summary. With --weights q8_0|q4_0 the decoder layer
/// is timed as stored and quantized, alternately (<see cref="ModelScaleQuantBench"/>).
/// </summary>
internal static class ModelScaleBench
{
    public static void Run(BenchArgs a)
    {
        if (a.Get("weights", "") != "")
        {
            ModelScaleQuantBench.Run(a);
            return;
        }
        int runs = a.GetInt("runs", 3);
        int prompt = a.GetInt("prompt", 858);
        var sw = Stopwatch.StartNew();
        using var model = Build(a.GetInt("threads", 0));
        Console.Error.WriteLine($"model-scale: synthetic 7B-dimension weights ready in {sw.Elapsed.TotalSeconds:0.0} s ({(model.Options.Threads == 0 ? Environment.ProcessorCount : model.Options.Threads)} threads)");
        var graph = model.Graph();
        var d = model.Dims;

        // ViT: one layer on [2, 1601, 1024]
        var vitIn = HostAct.F32(2, d.NP + 1, d.CV);
        Fill(vitIn.Span, 1);
        double vit = BenchHost.Measure("model-scale vit layer (2 x 1601 tokens)", () => graph.VitLayer(0, vitIn).Release(), runs, 1);

        // decoder: one layer over the prompt, Partial LoRA on the image positions
        var x = HostAct.F32(prompt, d.C);
        Fill(x.Span, 2);
        var mask = new byte[prompt];
        Array.Fill(mask, (byte)1, 0, Math.Min(841, prompt));
        var positions = Enumerable.Range(0, prompt).Select(i => (long)i).ToArray();
        model.Rope.BeginPass(prompt);
        var cos = HostAct.F32(prompt, d.D);
        var sin = HostAct.F32(prompt, d.D);
        model.Rope.Gather(positions, cos.Span, sin.Span);
        var m = HostAct.Mask(mask);
        KvLayer? cache = null;
        double prefill = BenchHost.Measure($"model-scale decoder layer prefill ({prompt} positions)", () =>
        {
            cache?.Dispose();
            cache = new CpuKvLayer(d.HKV, d.D, DType.F32, prompt + 64, prompt + 64);
            graph.DecoderLayer(0, false, x, m, cos, sin, cache).Release();
        }, runs, 1);

        // decode: one token at that context
        var x1 = HostAct.F32(1, d.C);
        Fill(x1.Span, 3);
        var c1 = HostAct.F32(1, d.D);
        var s1 = HostAct.F32(1, d.D);
        model.Rope.Gather([prompt], c1.Span, s1.Span);
        var m1 = HostAct.Mask([0]);
        double decode = BenchHost.Measure($"model-scale decoder layer decode step (context {prompt})", () =>
        {
            graph.DecoderLayer(0, false, x1, m1, c1, s1, cache!).Release();
            cache!.Truncate(prompt);
        }, Math.Max(runs, 5), 1);
        double head = BenchHost.Measure("model-scale output head (1 row: norm + 92544 x 4096 logits)", () => graph.LlmHead(false, x1).Release(), Math.Max(runs, 5), 1);

        double prefill32 = prefill * 32 + head;
        double decode32 = decode * 32 + head;
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["bench"] = "model-scale summary (extrapolated to 24 ViT and 32 decoder layers)",
            ["vit_seconds_per_image_1x1"] = vit * 24,
            ["prefill_seconds"] = prefill32,
            ["prefill_tokens_per_s"] = prompt / prefill32,
            ["decode_seconds_per_token"] = decode32,
            ["decode_tokens_per_s"] = 1 / decode32,
            ["prompt_positions"] = prompt,
        }));
    }

    /// <summary>The 7B config with <paramref name="layers"/> decoder layers and one ViT layer, random bf16 weights (<see cref="SyntheticModel"/>).</summary>
    internal static Ixc25Model Build(int threads, int layers = 1, string? weights = null) =>
        SyntheticModel.Create(SyntheticModel.Config(layers), new ModelOptions(Threads: threads, Weights: weights));

    private static void Fill(Span<float> s, int seed)
    {
        var r = new Random(seed);
        for (int i = 0; i < s.Length; i++) s[i] = (float)(r.NextDouble() * 2 - 1);
    }
}
