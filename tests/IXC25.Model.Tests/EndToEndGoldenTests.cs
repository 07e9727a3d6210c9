using IXC25.Backends;
using System.Text.Json;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Model.Tests;

/// <summary>
/// The whole model against the PyTorch reference on the tiny checkpoint (golden/model/traces, made by
/// golden/model/make_trace_goldens.py): every golden tap within its tolerance class, and 32 greedy tokens identical.
/// </summary>
public class EndToEndGoldenTests
{
    public static readonly string[] Names = ["single_image", "two_images", "text_only", "long_ntk", "write_mode", "web_mode"];

    /// <summary>Every golden on every backend this machine runs without hardware: the fast CPU path, the scalar reference, the ILGPU simulator.</summary>
    public static readonly string[] Backends = ["cpu", "reference", "gpu-sim"];

    public static TheoryData<string, string> Cases()
    {
        var d = new TheoryData<string, string>();
        foreach (var b in Backends)
            foreach (var n in Names) d.Add(n, b);
        return d;
    }

    /// <summary>The tolerance class as it applies to a backend (spec/tolerances.json overrides for "gpu").</summary>
    public static Runtime.Spec.ToleranceInfo Tolerance(string cls, string backend) =>
        ToleranceTable.Set.Get(cls, backend: backend.StartsWith("gpu", StringComparison.Ordinal) ? "gpu" : null);

    private static (PreparedPrompt Prompt, SafetensorsFile Golden) Load(Ixc25Model model, string name)
    {
        var golden = new SafetensorsFile(RepoLayout.Path("golden", "model", "traces", name + ".safetensors"));
        var md = golden.Metadata;
        var images = JsonSerializer.Deserialize<string[]>(md["images"])!.Select(f => new MediaInput(RepoLayout.Path("golden", "media", f))).ToList();
        var history = JsonSerializer.Deserialize<string[][]>(md["history"])!.Select(h => new ChatTurn(h[0], h[1])).ToList();
        model.SetMode(md["mode"]);
        return (PreparedPrompt.Chat(model.Tokenizer, md["query"], images, history), golden);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TraceMatchesPyTorchTapByTap(string name, string backend)
    {
        using var model = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(Backend: backend));
        var (prompt, golden) = Load(model, name);
        using var _ = golden;
        Assert.Equal(int.Parse(golden.Metadata["sequence_length"]), prompt.Layout.TotalLength);
        var taps = new MemoryTapSink();
        using var cache = model.NewCache();
        model.Ops.Release(model.Prefill(prompt, cache, taps: taps));
        var failures = new List<string>();
        foreach (var g in golden.Tensors)
        {
            Assert.True(taps.TryGet(g.Name, out var ours), $"{name}: the engine did not record tap '{g.Name}'");
            Assert.Equal(g.Shape, ours.Shape);
            var info = Ixc25Taps.Find(g.Name) ?? throw new InvalidOperationException($"'{g.Name}' is not a spec tap");
            if (g.DType != Runtime.Tensors.DType.F32)
            {
                Assert.True(g.Data.Bytes.SequenceEqual(ours.Data.Bytes), $"{name}: {g.Name} differs");
                continue;
            }
            var r = TensorComparer.Compare(ours.AsSpan<float>(), g.AsSpan<float>(), Tolerance(info.Tolerance, backend));
            if (!r.Pass) failures.Add($"{g.Name}: {r}");
        }
        Assert.True(failures.Count == 0, $"{name} on {backend}:\n" + string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyDecodingGivesTheSameTokens(string name, string backend)
    {
        using var model = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(Backend: backend));
        var (prompt, golden) = Load(model, name);
        using var _ = golden;
        var expected = JsonSerializer.Deserialize<int[]>(golden.Metadata["tokens"])!;
        using var cache = model.NewCache();
        var logits = model.Prefill(prompt, cache);
        var ids = new List<int>();
        while (true)
        {
            int next = ArgMax(logits.ToArray<float>());
            model.Ops.Release(logits);
            ids.Add(next);
            if (ids.Count == expected.Length || next is 2 or 92542) break;
            logits = model.ForwardTokens([next], cache);
        }
        Assert.Equal(expected, ids);
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    [Fact]
    public void TaskModesNeedTheirLoraGroups()
    {
        string dir = Directory.CreateTempSubdirectory("ixc25-nolora-").FullName;
        try
        {
            TinyCheckpoint.CopyWith(dir, t => t.Name.Contains(".lora_web_") ? null : t);
            using var model = Ixc25Model.Open(dir);
            model.SetMode("write");
            var e = Assert.Throws<IxcException>(() => model.SetMode("web"));
            Assert.Contains("mode 'web' needs the task LoRA group(s) lora_web", e.Message);
            Assert.Equal("write", model.Mode);
            Assert.Throws<IxcException>(() => model.SetMode("poetry"));
        }
        finally { Directory.Delete(dir, true); }
    }
}

public class ChunkedPrefillTests
{
    [Fact]
    public void ChunkedPrefillGivesTheSameLogitsAndCache()
    {
        using var whole = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(PrefillChunk: 1 << 20));
        using var chunked = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(PrefillChunk: 100));
        var media = new[] { new MediaInput(RepoLayout.Path("golden", "media", "cars1.jpg")) };
        var p1 = PreparedPrompt.Chat(whole.Tokenizer, "Describe this image.", media);
        var c1 = whole.NewCache();
        var c2 = chunked.NewCache();
        var l1 = whole.Prefill(p1, c1);
        var l2 = chunked.Prefill(PreparedPrompt.Chat(chunked.Tokenizer, "Describe this image.", media), c2);
        Assert.Equal(c1.Length, c2.Length);
        var r = TensorComparer.Compare(l2.ToArray<float>(), l1.ToArray<float>(), ToleranceTable.Find("logits")!);
        Assert.True(r.Pass, r.ToString());
        // the next step reads the chunk-built cache
        var n1 = whole.ForwardTokens([42], c1);
        var n2 = chunked.ForwardTokens([42], c2);
        Assert.True(TensorComparer.Compare(n2.ToArray<float>(), n1.ToArray<float>(), ToleranceTable.Find("logits")!).Pass);
    }
}

/// <summary>The graph with the ILGPU backend (its CPU accelerator here: CUDA is exercised on GPU machines).</summary>
public class GpuBackendEndToEndTests
{
    [Fact]
    public void TextPromptOnTheGpuSimulatorMatchesPyTorch()
    {
        using var model = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(Backend: "gpu-sim"));
        Assert.StartsWith("gpu-sim (ilgpu ", model.BackendName);
        using var golden = new SafetensorsFile(RepoLayout.Path("golden", "model", "traces", "text_only.safetensors"));
        var prompt = PreparedPrompt.Chat(model.Tokenizer, golden.Metadata["query"], []);
        var taps = new MemoryTapSink();
        var logits = model.Prefill(prompt, model.NewCache(), taps: taps);
        model.Ops.Release(logits);
        var gpuOps = (IXC25.Backends.Gpu.GpuGraphOps)model.Backend;
        Assert.True(gpuOps.GpuCalls["rms_norm"] >= 2 * model.Dims.L + 1, "rms_norm ran on the accelerator");
        Assert.True(gpuOps.GpuCalls["silu_gate"] >= model.Dims.L);
        foreach (var g in golden.Tensors.Where(t => t.DType == IXC25.Runtime.Tensors.DType.F32))
        {
            var tol = ToleranceTable.Set.Get(Ixc25Taps.Find(g.Name)!.Tolerance, backend: "gpu");
            var r = TensorComparer.Compare(taps[g.Name].AsSpan<float>(), g.AsSpan<float>(), tol);
            Assert.True(r.Pass, $"{g.Name}: {r}");
        }
    }

    [Fact]
    public void GpuBackendSaysWhichDeviceItPicked()
    {
        // --backend gpu takes CUDA, else an OpenCL device ILGPU accepts, else the CPU accelerator (DeviceSelection)
        var expected = IXC25.Backends.Gpu.DeviceSelection.Choose(IXC25.Backends.Gpu.GpuDevice.Auto, 0, IXC25.Backends.Gpu.DeviceSelection.Inventory);
        using var model = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(Backend: "gpu"));
        Assert.Equal($"gpu (ilgpu {expected.Description} + cpu)", model.BackendName);
        Assert.StartsWith("gpu (ilgpu auto: ", model.BackendName);
        var e = Assert.Throws<IxcException>(() => Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(Backend: "gpu", Device: expected.Count)));
        Assert.StartsWith($"--device {expected.Count} is out of range: ", e.Message);
    }
}
