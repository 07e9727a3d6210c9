using System.Diagnostics;
using System.Text.Json;
using IXC25.Backends;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;
using IXC25.Tokenizer.Prompt;

namespace IXC25.GpuCheck.SelfTest;

/// <summary>
/// The whole model on the bundled tiny checkpoint (golden/model/tiny) against the PyTorch goldens of
/// golden/model/traces, as EndToEndGoldenTests runs them: every golden tap within its tolerance class (the "gpu"
/// override for the ILGPU backends), 32 greedy tokens identical, and two prefills of one prompt bit-identical.
/// Reads the goldens from the repository checkout (the device check runs from its root).
/// </summary>
internal static class GoldenCheck
{
    public static readonly string[] Names = ["single_image", "two_images", "text_only", "long_ntk", "write_mode", "web_mode"];

    private static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");

    private static (PreparedPrompt Prompt, SafetensorsFile Golden) Load(Ixc25Model model, string name)
    {
        var golden = new SafetensorsFile(RepoLayout.Path("golden", "model", "traces", name + ".safetensors"));
        var md = golden.Metadata;
        var images = Array(md["images"], e => new MediaInput(RepoLayout.Path("golden", "media", e.GetString()!)));
        var history = Array(md["history"], e => new ChatTurn(e[0].GetString()!, e[1].GetString()!));
        model.SetMode(md["mode"]);
        return (PreparedPrompt.Chat(model.Tokenizer, md["query"], images, history), golden);
    }

    /// <summary>A JSON array of the golden's metadata, element by element (JsonDocument: no reflection, trim-safe).</summary>
    private static List<T> Array<T>(string json, Func<JsonElement, T> element)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(element).ToList();
    }

    /// <summary>Prefill of the golden's prompt with every tap recorded, compared tap by tap.</summary>
    public static CheckResult Trace(string backend, string name) => Timed($"golden trace {name}", () =>
    {
        using var model = Ixc25Model.Open(Tiny, new ModelOptions(Backend: backend));
        var (prompt, golden) = Load(model, name);
        using var _ = golden;
        if (int.Parse(golden.Metadata["sequence_length"], System.Globalization.CultureInfo.InvariantCulture) != prompt.Layout.TotalLength)
            return (false, $"prompt of {prompt.Layout.TotalLength} positions, the golden has {golden.Metadata["sequence_length"]}");
        var taps = new MemoryTapSink();
        using var cache = model.NewCache();
        model.Ops.Release(model.Prefill(prompt, cache, taps: taps));
        var failures = new List<string>();
        int compared = 0;
        foreach (var g in golden.Tensors)
        {
            if (!taps.TryGet(g.Name, out var ours)) { failures.Add($"tap '{g.Name}' not recorded"); continue; }
            compared++;
            if (!ours.Shape.AsSpan().SequenceEqual(g.Shape)) { failures.Add($"{g.Name}: shape {Shape.Format(ours.Shape)}, golden {Shape.Format(g.Shape)}"); continue; }
            if (g.DType != DType.F32)
            {
                if (!g.Data.Bytes.SequenceEqual(ours.Data.Bytes)) failures.Add($"{g.Name}: differs from the golden");
                continue;
            }
            var info = Ixc25Taps.Find(g.Name);
            if (info is null) { failures.Add($"'{g.Name}' is not a tap of the spec"); continue; }
            var r = TensorComparer.Compare(ours.AsSpan<float>(), g.AsSpan<float>(), CheckResult.Tolerance(backend, info.Tolerance));
            if (!r.Pass) failures.Add($"{g.Name}: {r}");
        }
        return failures.Count == 0
            ? (true, $"{compared} taps of {prompt.Layout.TotalLength} positions within tolerance of PyTorch")
            : (false, $"{failures.Count} of {golden.Tensors.Count} taps: {string.Join(" | ", failures.Take(3))}");
    });

    /// <summary>Greedy decoding of the golden's prompt gives the golden's tokens.</summary>
    public static CheckResult Greedy(string backend, string name) => Timed($"golden greedy {name}", () =>
    {
        using var model = Ixc25Model.Open(Tiny, new ModelOptions(Backend: backend));
        var (prompt, golden) = Load(model, name);
        using var _ = golden;
        var expected = Array(golden.Metadata["tokens"], e => e.GetInt32()).ToArray();
        var ids = Greedy(model, prompt, expected.Length);
        int first = Enumerable.Range(0, Math.Min(ids.Count, expected.Length)).FirstOrDefault(i => ids[i] != expected[i], -1);
        return ids.SequenceEqual(expected)
            ? (true, $"{ids.Count} greedy tokens identical to PyTorch's")
            : (false, $"tokens differ{(first >= 0 ? $" first at step {first}: {ids[first]} vs {expected[first]}" : $": {ids.Count} tokens, the golden has {expected.Length}")}");
    });

    /// <summary>Two prefills of one prompt (fresh caches, one model) give bit-identical logits.</summary>
    public static CheckResult Determinism(string backend, string name) => Timed($"determinism {name}", () =>
    {
        using var model = Ixc25Model.Open(Tiny, new ModelOptions(Backend: backend));
        var (prompt, golden) = Load(model, name);
        golden.Dispose();
        float[] Logits()
        {
            using var cache = model.NewCache();
            var l = model.Prefill(prompt, cache);
            var a = l.ToArray<float>();
            model.Ops.Release(l);
            return a;
        }
        var first = Logits();
        var second = Logits();
        int diff = 0;
        for (int i = 0; i < first.Length; i++)
            if (BitConverter.SingleToInt32Bits(first[i]) != BitConverter.SingleToInt32Bits(second[i])) diff++;
        return diff == 0 ? (true, $"two prefills of {prompt.Layout.TotalLength} positions: {first.Length} logits bit-identical")
            : (false, $"{diff} of {first.Length} logits differ between two prefills");
    });

    private static List<int> Greedy(Ixc25Model model, PreparedPrompt prompt, int max)
    {
        using var cache = model.NewCache();
        var logits = model.Prefill(prompt, cache);
        var ids = new List<int>();
        while (true)
        {
            var v = logits.ToArray<float>();
            model.Ops.Release(logits);
            int next = 0;
            for (int i = 1; i < v.Length; i++) if (v[i] > v[next]) next = i;
            ids.Add(next);
            if (ids.Count == max || next is 2 or 92542) return ids;
            logits = model.ForwardTokens([next], cache);
        }
    }

    private static CheckResult Timed(string name, Func<(bool Pass, string Detail)> check)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var (pass, detail) = check();
            return new CheckResult(name, pass, detail, clock.Elapsed.TotalSeconds);
        }
        catch (Exception e)
        {
            return new CheckResult(name, false, $"{e.GetType().Name}: {e.Message}", clock.Elapsed.TotalSeconds);
        }
    }
}
