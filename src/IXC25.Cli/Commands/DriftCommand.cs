using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using IXC25.Backends;
using IXC25.Graph;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 drift --model DIR --format q8_0|q4_0 [--image P]... [--video V] --prompt T [--steps N] [--save DIR]`:
/// the reference (stored weights) and the quantized model on the same input: per tap NMSE and max error, and for
/// the logits of every prompt position and of N greedy steps teacher-forced on the reference's tokens the KL
/// divergence, top-1 agreement and rank of the reference token (metrics: <see cref="DriftMetrics"/>, docs/QUANT.md).
/// </summary>
internal static class DriftCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Hugging Face model folder (config.json, checkpoint, tokenizer.model)", Required = true };
        var format = new Option<string>("--format") { Description = "the quantized weight format to measure: q8_0 or q4_0", Required = true };
        var images = new Option<FileInfo[]>("--image") { Description = "image (repeatable, in prompt order)", AllowMultipleArgumentsPerToken = false };
        var video = new Option<FileInfo?>("--video") { Description = "video (sampled frames composed into one image, as upstream)" };
        var prompt = new Option<string>("--prompt") { Description = "the user's question", Required = true };
        var steps = new Option<int>("--steps") { Description = "greedy steps after the prompt, both models fed the reference's tokens", DefaultValueFactory = _ => 8 }.Within(0, OptionLimits.MaxDriftSteps);
        var threads = new Option<int>("--threads") { Description = "CPU threads (0: all; results do not depend on it)", DefaultValueFactory = _ => 0 }.Within(0, OptionLimits.MaxThreads);
        var backend = new Option<string>("--backend") { Description = "backend of both runs: cpu or reference (the scalar references, slow)", DefaultValueFactory = _ => "cpu" };
        var hdNum = new Option<int>("--hd-num") { Description = "crops per image for a single image (several images use 6 each)", DefaultValueFactory = _ => 24 }.Within(1, OptionLimits.MaxHdNum);
        var save = new Option<DirectoryInfo?>("--save") { Description = "also write both runs' taps and step logits to DIR/reference.safetensors and DIR/quantized.safetensors" };
        var cmd = new Command("drift", "Measure how far quantized weights drift from the reference on one input: per tap NMSE and max error; logits KL divergence, top-1 agreement and rank of the reference token over the prompt and N teacher-forced greedy steps.")
        {
            model, format, images, video, prompt, steps, threads, backend, hdNum, save,
        };
        cmd.SetAction(r =>
        {
            var err = r.InvocationConfiguration.Error;
            var output = r.InvocationConfiguration.Output;
            var fmt = QuantFormat.Parse(r.GetValue(format)!);
            int n = r.GetValue(steps);
            if (r.GetValue(threads) < 0) throw new IxcException($"--threads must be >= 0 (got {r.GetValue(threads)})");
            var media = (r.GetValue(images) ?? []).Select(f => new MediaInput(f.FullName)).ToList();
            if (r.GetValue(video) is { } v) media.Add(new MediaInput(v.FullName, IsVideo: true));
            string dir = r.GetValue(model)!.FullName;
            var options = new ModelOptions(r.GetValue(threads), Backend: r.GetValue(backend)!);
            if (options.Backend is not ("cpu" or "reference")) throw new IxcException($"--backend must be cpu or reference (got '{options.Backend}')");
            var sw = Stopwatch.StartNew();
            using var reference = Ixc25Model.Open(dir, options);
            if (reference.Directory?.Quantization is { } stored)
                throw new IxcException($"{dir}: is a {stored}-quantized checkpoint; drift measures quantized weights against the stored ones: give the original checkpoint");
            using var quantized = Ixc25Model.Open(dir, options with { Weights = fmt.Name });
            var prepared = PreparedPrompt.Chat(reference.Tokenizer, r.GetValue(prompt)!, media, [], hdNum: r.GetValue(hdNum));
            int T = prepared.Layout.TotalLength;
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"drift: {fmt} against the stored weights ({options.Backend}), {T} prompt positions, {n} steps"));

            var runs = new[] { (Model: reference, Taps: new MemoryTapSink(), Cache: reference.NewCache()), (Model: quantized, Taps: new MemoryTapSink(), Cache: quantized.NewCache()) };
            var last = new float[2][];
            for (int i = 0; i < 2; i++)
            {
                var logits = runs[i].Model.Prefill(prepared, runs[i].Cache, allLogits: true, runs[i].Taps);
                var all = logits.ToArray<float>();
                runs[i].Model.Ops.Release(logits);
                last[i] = all;
            }
            int V = reference.Dims.V;
            var prompt1 = new List<LogitsDrift>();
            for (int t = 0; t < T; t++) prompt1.Add(DriftMetrics.Logits(last[1].AsSpan(t * V, V), last[0].AsSpan(t * V, V)));

            // teacher-forced greedy steps: both models get the reference's argmax
            var stepDrift = new List<LogitsDrift>();
            var stepLogits = new List<float[]>[] { [], [] };
            int token = DriftMetrics.Argmax(last[0].AsSpan((T - 1) * V, V));
            for (int s = 0; s < n && token >= 0; s++)
            {
                var row = new float[2][];
                for (int i = 0; i < 2; i++)
                {
                    var l = runs[i].Model.ForwardTokens([token], runs[i].Cache);
                    row[i] = l.ToArray<float>();
                    runs[i].Model.Ops.Release(l);
                    stepLogits[i].Add(row[i]);
                }
                stepDrift.Add(DriftMetrics.Logits(row[1], row[0]));
                token = DriftMetrics.Argmax(row[0]);
            }
            foreach (var run in runs) run.Cache.Dispose();
            ModelOptionSet.ReportWeights(quantized, err);

            output.WriteLine($"drift of {fmt} against the stored weights ({quantized.Name}, {options.Backend})");
            output.WriteLine($"{"tap",-36} {"nmse",12} {"max_abs",12}");
            foreach (var name in runs[0].Taps.Names)
            {
                if (!runs[1].Taps.TryGet(name, out var qt)) continue;
                var rt = runs[0].Taps[name];
                if (!rt.DType.IsFloat()) continue;
                var d = DriftMetrics.Tensor(qt.ToFloat32(), rt.ToFloat32());
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} {d.Nmse,12:0.000e+00} {d.MaxAbs,12:0.000e+00}"));
            }
            output.WriteLine($"{"logits",-8} {"positions",9} {"mean_kl",12} {"max_kl",12} {"top1",8} {"mean_rank",10} {"max_rank",9}");
            Summary(output, "prompt", prompt1);
            Summary(output, "steps", stepDrift);
            if (r.GetValue(save) is { } sd) Save(sd.FullName, runs.Select(x => x.Taps).ToArray(), stepLogits, V, fmt);
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"drift: done in {sw.Elapsed.TotalSeconds:0.0} s"));
            return 0;
        });
        return cmd;
    }

    private static void Summary(TextWriter o, string what, List<LogitsDrift> rows)
    {
        if (rows.Count == 0) { o.WriteLine($"{what,-8} {0,9}"); return; }
        double meanKl = rows.Average(x => x.Kl), maxKl = rows.Max(x => x.Kl);
        double top1 = rows.Count(x => x.Top1) / (double)rows.Count;
        double meanRank = rows.Average(x => (double)x.Rank);
        long maxRank = rows.Max(x => x.Rank);
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-8} {rows.Count,9} {meanKl,12:0.000e+00} {maxKl,12:0.000e+00} {top1,8:0.0000} {meanRank,10:0.000} {maxRank,9}"));
    }

    private static void Save(string dir, MemoryTapSink[] taps, List<float[]>[] steps, int V, QuantFormat fmt)
    {
        Directory.CreateDirectory(dir);
        string[] files = ["reference.safetensors", "quantized.safetensors"];
        for (int i = 0; i < 2; i++)
        {
            using var w = new SafetensorsWriter(Path.Combine(dir, files[i]));
            foreach (var name in taps[i].Names) w.Add(taps[i][name]);
            if (steps[i].Count > 0)
                w.Add(NamedTensor.F32("steps.logits", [steps[i].Count, V], steps[i].SelectMany(x => x).ToArray()));
            w.Commit(new Dictionary<string, string> { ["producer"] = "ixc25 drift", ["weights"] = i == 0 ? "stored" : fmt.Name });
        }
    }
}
