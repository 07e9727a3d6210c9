using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using IXC25.Backends;
using IXC25.Graph;
using IXC25.Model.Inference;
using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.IO;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Model.Tests;

/// <summary>
/// Quantized checkpoints (ixc25 quantize, spec/quant.json "checkpoint"): what is written is the quantize step's bytes
/// (and the PyTorch golden's), loading hands the mapped blocks to the quantized path, a bad checkpoint is one clear
/// error naming the tensor, and a failed or killed run leaves no half checkpoint.
/// </summary>
public sealed class QuantizedCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-qckpt-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Quantize(string format, string? from = null, string name = "q")
    {
        string output = Path.Combine(_dir, name);
        ModelQuantizer.Run(from ?? TinyCheckpoint.Safetensors, output, QuantFormat.Parse(format), force: false, CheckpointFormat.Auto, TextWriter.Null);
        return output;
    }

    private static uint[] Bits(float[] x) => [.. x.Select(BitConverter.SingleToUInt32Bits)];

    [Theory]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    public void QuantizeStoresTheQuantizerBytesMappedAndCopiesEveryOtherTensorAsStored(string format)
    {
        var f = QuantFormat.Parse(format);
        string q = Quantize(format);
        using var orig = ModelDirectory.Open(TinyCheckpoint.Safetensors);
        using var quant = ModelDirectory.Open(q);
        Assert.Equal(f, quant.Quantization);
        var wo = orig.BindWeights();
        var wq = quant.BindWeights();
        var quantized = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (a, b) in wo.LinearWeights().Zip(wq.LinearWeights()))
        {
            Assert.Equal(a.Name, b.Name);
            if (!QuantLayout.Quantizable(a.Name, a.Shape)) continue;
            var stored = Assert.IsType<QuantizedWeight>(b.Data).Matrix;
            var expected = Quantizer.Quantize(f, a.ToFloat32(), (int)a.Shape[0], (int)a.Shape[1], a.Name);
            Assert.True(stored.Qs.IsMapped && stored.Scales.IsMapped, $"{a.Name} is read from the mapped file");
            Assert.Equal(expected.Qs.ToArray(), stored.Qs.ToArray());
            Assert.Equal(expected.Scales.ToArray(), stored.Scales.ToArray());
            Assert.Equal(Bits(Quantizer.Dequantize(expected)), Bits(Quantizer.Dequantize(stored)));
            Assert.Same(stored, Quantizer.Quantize(f, b));   // the quantized path takes the stored blocks, not a requantization
            quantized.Add(a.Name);
        }
        // wqkv, wo, w1, w3 of both layers, the output head and the projector's two linears; w2 (F = 88) and the ViT (CV = 16) as stored
        Assert.Equal(11, quantized.Count);
        foreach (var p in Ixc25Weights.Catalog(wo.Dims).Where(p => !quantized.Contains(p.Key)))
        {
            var a = orig.Checkpoint.Get(p.Key);
            var b = quant.Checkpoint.Get(p.Key);
            Assert.Equal(a.DType, b.DType);
            Assert.True(a.Data.Bytes.SequenceEqual(b.Data.Bytes), p.Key);
        }
        Assert.Equal(File.ReadAllBytes(Path.Combine(TinyCheckpoint.Safetensors, "tokenizer.model")), File.ReadAllBytes(Path.Combine(q, "tokenizer.model")));
        var entry = JsonNode.Parse(File.ReadAllText(Path.Combine(q, "config.json")))![QuantLayout.ConfigKey]!;
        Assert.Equal(format, (string)entry["format"]!);
        Assert.Equal(32, (int)entry["block"]!);
        // the stored blocks' weights read as floats are refused, naming the tensor
        var e = Assert.Throws<IxcException>(() => wq.Llm.Output.Weight.ToFloat32());
        Assert.Contains("'output.weight' is stored " + format, e.Message);
    }

    public static TheoryData<string, string> GoldenCaseFormats()
    {
        var d = new TheoryData<string, string>();
        foreach (var c in new[] { "edge", "rand", "outlier", "long" })
            foreach (var f in QuantFormat.All) d.Add(c, f.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(GoldenCaseFormats))]
    public void AQuantizedCheckpointOfTheGoldenWeightsHoldsThePyTorchBytes(string c, string format)
    {
        var f = QuantFormat.Parse(format);
        using var golden = new SafetensorsFile(RepoLayout.Path("golden", "quant", "data", "quant.safetensors"));
        string src = Directory.CreateDirectory(Path.Combine(_dir, "src")).FullName, dst = Directory.CreateDirectory(Path.Combine(_dir, "dst")).FullName;
        SafetensorsWriter.Write(Path.Combine(src, Checkpoint.SafetensorsFileName), [golden[$"{c}.w"], golden[$"{c}.x"]]);
        using (var ckpt = Checkpoint.Open(src))
            CheckpointQuantizer.Write(ckpt, dst, f, new HashSet<string> { $"{c}.w" }, TextWriter.Null);
        using var written = Checkpoint.Open(dst);
        Assert.Equal([QuantLayout.QsName($"{c}.w"), QuantLayout.ScalesName($"{c}.w"), $"{c}.x"], written.Names.Order(StringComparer.Ordinal));
        var source = new QuantizedWeightSource(new CheckpointWeightSource(written), f);
        var m = Assert.IsType<QuantizedWeight>(source.Get($"{c}.w").Data).Matrix;
        Assert.Equal(golden[$"{c}.{format}.qs"].Data.Bytes.ToArray(), m.Qs.ToArray());
        Assert.Equal(golden[$"{c}.{format}.scales"].AsSpan<ushort>().ToArray(), m.Scales.ToArray());
        Assert.Equal(Bits(golden[$"{c}.{format}.deq"].ToFloat32()), Bits(Quantizer.Dequantize(m)));
        Assert.True(golden[$"{c}.x"].Data.Bytes.SequenceEqual(source.Get($"{c}.x").Data.Bytes));   // the other tensor byte for byte
    }

    private const string Wqkv = "model.layers.0.attention.wqkv.weight";

    private static NamedTensor Replace(NamedTensor t, string name, DType dtype, long[] shape, byte[] bytes) => new(name, dtype, shape, TensorBuffer.FromArray(bytes));

    /// <summary>A copy of a q8_0 tiny checkpoint with one thing broken.</summary>
    public static TheoryData<string, string> Broken() => new()
    {
        { "truncated qs", $"tensor '{Wqkv}.qs' has shape [64, 31], expected [OUT, IN * 8 / 8] with whole q8_0 blocks of 32 bytes per row (truncated?)" },
        { "qs rows cut", $"tensor '{Wqkv}.scales' has shape [64, 1], expected [63, 1] (one scale per 32 values of '{Wqkv}.qs' [63, 32])" },
        { "wrong scales shape", $"tensor '{Wqkv}.scales' has shape [64, 2], expected [64, 1]" },
        { "nan scale", $"{Wqkv} (q8_0): the scale of row 3 block 0 is not finite (f16 bits 0x7E00)" },
        { "missing scales", $"tensor '{Wqkv}.qs' has no '{Wqkv}.scales'" },
        { "qs dtype", $"tensor '{Wqkv}.qs' has dtype u8, expected i8 (the q8_0 values)" },
        { "scales dtype", $"tensor '{Wqkv}.scales' has dtype bf16, expected f16" },
        { "both ways", $"weight '{Wqkv}' is stored both as is and quantized" },
        { "rows against config", $"tensor '{Wqkv}' has shape [63, 32], expected [64, 32]" },
        { "lora quantized", "stores 'model.layers.0.attention.wqkv.Plora_A.weight' [256, 32] quantized, which the layout never quantizes (a LoRA factor)" },
        { "embedding quantized", "'model.tok_embeddings.weight' is stored q8_0-quantized, but it is not the weight of a linear" },
        { "unknown format", "\"quantization\": format 'q5_1' is not a known weight format (known: q8_0, q4_0)" },
        { "layout 2", "\"quantization\": layout 2 is not one this build reads (layout 1)" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void ABadQuantizedCheckpointIsOneErrorNamingTheProblem(string what, string expected)
    {
        string good = Quantize("q8_0");
        string bad = Directory.CreateDirectory(Path.Combine(_dir, "bad")).FullName;
        var original = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        using (var o = Checkpoint.Open(TinyCheckpoint.Safetensors))
            foreach (var n in new[] { Wqkv, "model.layers.0.attention.wqkv.Plora_A.weight", "model.tok_embeddings.weight" })
            {
                var t = o.Get(n);
                original[n] = new NamedTensor(n, t.DType, t.Shape, TensorBuffer.FromArray(t.Data.Bytes.ToArray()));
            }
        IEnumerable<NamedTensor> Transform(NamedTensor t)
        {
            byte[] b = t.Data.Bytes.ToArray();
            switch (what, t.Name)
            {
                case ("truncated qs", Wqkv + ".qs"): yield return TinyCheckpoint.Narrowed(t); yield break;
                case ("qs rows cut", Wqkv + ".qs"): yield return Replace(t, t.Name, t.DType, [63, 32], b[..(63 * 32)]); yield break;
                case ("rows against config", Wqkv + ".qs"): yield return Replace(t, t.Name, t.DType, [63, 32], b[..(63 * 32)]); yield break;
                case ("rows against config", Wqkv + ".scales"): yield return Replace(t, t.Name, t.DType, [63, 1], b[..(63 * 2)]); yield break;
                case ("wrong scales shape", Wqkv + ".scales"): yield return Replace(t, t.Name, t.DType, [64, 2], [.. b, .. b]); yield break;
                case ("nan scale", Wqkv + ".scales"): b[6] = 0x00; b[7] = 0x7E; yield return Replace(t, t.Name, t.DType, t.Shape, b); yield break;
                case ("missing scales", Wqkv + ".scales"): yield break;
                case ("qs dtype", Wqkv + ".qs"): yield return Replace(t, t.Name, DType.U8, t.Shape, b); yield break;
                case ("scales dtype", Wqkv + ".scales"): yield return Replace(t, t.Name, DType.BF16, t.Shape, b); yield break;
                case ("both ways", Wqkv + ".qs"): yield return t; yield return original[Wqkv]; yield break;
                case ("lora quantized", "model.layers.0.attention.wqkv.Plora_A.weight"):
                case ("embedding quantized", "model.tok_embeddings.weight"):
                    {
                        var m = Quantizer.Quantize(QuantFormat.Q8_0, original[t.Name]);
                        yield return Replace(t, QuantLayout.QsName(t.Name), DType.I8, t.Shape, m.Qs.ToArray());
                        yield return Replace(t, QuantLayout.ScalesName(t.Name), DType.F16, [t.Shape[0], t.Shape[1] / 32], MemoryMarshal.AsBytes(m.Scales.ToArray().AsSpan()).ToArray());
                        yield break;
                    }
                default: yield return t; yield break;
            }
        }
        CopyMany(bad, good, Transform, c =>
        {
            if (what == "unknown format") c[QuantLayout.ConfigKey]!["format"] = "q5_1";
            if (what == "layout 2") c[QuantLayout.ConfigKey]!["layout"] = 2;
        });
        var e = Assert.Throws<IxcException>(() => Ixc25Model.Open(bad, new ModelOptions(Threads: 1, IgnoreMemoryCheck: true)).Dispose());
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary><see cref="TinyCheckpoint.CopyWith"/> where one tensor may become several (or none).</summary>
    private static void CopyMany(string dir, string from, Func<NamedTensor, IEnumerable<NamedTensor>> transform, Action<JsonObject> editConfig)
    {
        // CopyWith maps one tensor to at most one: split the extra ones into a queue keyed by the shard's next tensor
        var pending = new List<NamedTensor>();
        TinyCheckpoint.CopyWith(dir, t =>
        {
            var all = transform(t).ToList();
            pending.AddRange(all.Skip(1));
            return all.FirstOrDefault();
        }, editConfig, from);
        if (pending.Count == 0) return;
        // the extra tensors go into a third shard listed in the index
        string shard = "model-extra.safetensors";
        SafetensorsWriter.Write(Path.Combine(dir, shard), pending);
        var indexPath = Path.Combine(dir, CheckpointIndex.SafetensorsIndexName);
        var index = JsonNode.Parse(File.ReadAllText(indexPath))!.AsObject();
        foreach (var t in pending) index["weight_map"]![t.Name] = shard;
        File.WriteAllText(indexPath, index.ToJsonString());
    }

    [Fact]
    public void AFailureHalfWayLeavesNoCheckpointAndKeepsWhatWasThere()
    {
        // a NaN in the output head (the second shard's): the run fails after the first shard is written
        string nan = Directory.CreateDirectory(Path.Combine(_dir, "nan")).FullName;
        TinyCheckpoint.CopyWith(nan, t =>
        {
            if (t.Name != "output.weight") return t;
            var v = t.AsSpan<ushort>().ToArray();
            v[5 * 32 + 7] = 0x7FC0; // bf16 NaN, row 5
            return new NamedTensor(t.Name, t.DType, t.Shape, TensorBuffer.FromArray(v));
        });
        string output = Path.Combine(_dir, "out");
        var e = Assert.Throws<IxcException>(() => Quantize("q4_0", nan, "out"));
        Assert.Contains("output.weight: row 5 holds a non-finite value", e.Message);
        Assert.False(Directory.Exists(output));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_dir), p => Path.GetFileName(p).StartsWith(".out.", StringComparison.Ordinal));
        // with --force over an existing checkpoint: the failure keeps the old one as it was
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "old");
        Assert.Throws<IxcException>(() => ModelQuantizer.Run(nan, output, QuantFormat.Q4_0, force: true, CheckpointFormat.Auto, TextWriter.Null));
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName));
        // a non-empty --out without --force is refused before any work; with it, replaced once complete
        e = Assert.Throws<IxcException>(() => Quantize("q4_0", name: "out"));
        Assert.Contains("exists and is not empty (--force replaces it)", e.Message);
        ModelQuantizer.Run(TinyCheckpoint.Safetensors, output, QuantFormat.Q4_0, force: true, CheckpointFormat.Auto, TextWriter.Null);
        Assert.False(File.Exists(Path.Combine(output, "keep.txt")));
        Assert.True(File.Exists(Path.Combine(output, CheckpointIndex.SafetensorsIndexName)));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_dir), p => Path.GetFileName(p).StartsWith(".out.", StringComparison.Ordinal));
    }

    [Fact]
    public void AKilledRunsTemporaryFolderIsRemovedByTheNextRunAndTheSourceIsNeverTheDestination()
    {
        // what a kill -9 leaves: the hidden temporary folder of a process that is gone
        string stale = Directory.CreateDirectory(Path.Combine(_dir, $".q.quantize-{int.MaxValue}-0123.tmp")).FullName;
        File.WriteAllText(Path.Combine(stale, "model-00001-of-00002.safetensors"), "half");
        Quantize("q8_0");
        Assert.False(Directory.Exists(stale));
        var e = Assert.Throws<IxcException>(() => ModelQuantizer.Run(TinyCheckpoint.Safetensors, Path.GetDirectoryName(TinyCheckpoint.Safetensors)!, QuantFormat.Q8_0, true, CheckpointFormat.Auto, TextWriter.Null));
        Assert.Contains("--out is the model folder or holds it", e.Message);
        e = Assert.Throws<IxcException>(() => Quantize("q4_0", Path.Combine(_dir, "q"), "q2"));
        Assert.Contains("is already a q8_0-quantized checkpoint", e.Message);
    }

    /// <summary>Records the weights the forward pass hands to linear and plora_linear.</summary>
    private sealed class LinearSpy(IGraphOps inner) : DelegatingGraphOps(inner)
    {
        public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

        public override Act Linear(Act x, NamedTensor weight, NamedTensor? bias, LinearAttrs attrs)
        {
            Seen.Add(weight.Name);
            return base.Linear(x, weight, bias, attrs);
        }

        public override Act PloraLinear(Act x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, Act imMask, PloraLinearAttrs attrs)
        {
            Seen.Add(weight.Name);
            return base.PloraLinear(x, weight, loraA, loraB, imMask, attrs);
        }
    }

    [Fact]
    public void LinearWeightsAreExactlyTheWeightsTheForwardPassMultiplies()
    {
        LinearSpy? spy = null;
        using var model = Ixc25Model.Open(TinyCheckpoint.Safetensors, o => spy = new LinearSpy(BackendFactory.Create(o)), new ModelOptions(Threads: 1));
        var prepared = PreparedPrompt.Chat(model.Tokenizer, "Describe this image.", [new MediaInput(RepoLayout.Path("golden", "media", "cars1.jpg"))], [], hdNum: 1);
        model.Ops.Release(model.Prefill(prepared, model.NewCache()));
        Assert.Equal(spy!.Seen.Order(StringComparer.Ordinal), model.Weights.LinearWeights().Select(t => t.Name).Order(StringComparer.Ordinal));
    }
}
