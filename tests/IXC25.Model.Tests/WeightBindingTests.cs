using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Runtime.Checkpoints;

namespace IXC25.Model.Tests;

public sealed class WeightBindingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-bind-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("safetensors")]
    [InlineData("bin")]
    public void TinyCheckpointBindsInBothForms(string form)
    {
        using var dir = ModelDirectory.Open(form == "bin" ? TinyCheckpoint.Bin : TinyCheckpoint.Safetensors);
        Assert.Equal(form == "bin" ? CheckpointFormat.TorchBin : CheckpointFormat.Safetensors, dir.Format);
        var w = dir.BindWeights();
        Assert.Equal(2, w.Llm.Layers.Length);
        Assert.Equal(new long[] { 92544, 32 }, w.Llm.TokEmbeddings.Weight.Shape);
        Assert.Equal(new long[] { (4 + 2 * 2) * 8, 32 }, w.Llm.Layers[1].Wqkv.Weight.Shape);
        Assert.Equal(new long[] { 1, 1, 1, 64 }, w.Projector.SubGn.Shape);
        // task LoRA ranks are free symbols read from the shapes
        Assert.Equal((8, 8, 16), (w.Dims.RSFT, w.Dims.RDPO, w.Dims.RWEB));
        Assert.Equal(["lora_dpo", "lora_sft", "lora_web"], w.Groups.OrderBy(g => g));
        Assert.NotNull(w.Llm.Layers[0].W2.LoraWebB);
    }

    [Fact]
    public void BothFormsHoldTheSameBits()
    {
        using var a = ModelDirectory.Open(TinyCheckpoint.Bin);
        using var b = ModelDirectory.Open(TinyCheckpoint.Safetensors);
        var wa = a.BindWeights();
        var wb = b.BindWeights();
        foreach (var p in Ixc25Weights.Catalog(wa.Dims))
            Assert.True(a.Checkpoint.Get(p.Key).Data.Bytes.SequenceEqual(b.Checkpoint.Get(p.Key).Data.Bytes), p.Key);
    }

    [Fact]
    public void RenamedTensorIsRejectedByName()
    {
        TinyCheckpoint.CopyWith(_dir, t => t.Name == "model.layers.1.feed_forward.w3.weight" ? TinyCheckpoint.Renamed(t, "model.layers.1.feed_forward.w4.weight") : t);
        using var dir = ModelDirectory.Open(_dir);
        var e = Assert.Throws<IxcException>(() => dir.BindWeights());
        Assert.Contains("unexpected tensor 'model.layers.1.feed_forward.w4.weight'", e.Message);
    }

    [Fact]
    public void MissingTensorIsRejectedByName()
    {
        TinyCheckpoint.CopyWith(_dir, t => t.Name == "model.layers.0.attention.wo.Plora_B.weight" ? null : t);
        using var dir = ModelDirectory.Open(_dir);
        var e = Assert.Throws<IxcException>(() => dir.BindWeights());
        Assert.Contains("missing tensor 'model.layers.0.attention.wo.Plora_B.weight'", e.Message);
        Assert.Contains("expected [32, 256]", e.Message);
    }

    [Fact]
    public void MisShapedTensorIsRejectedWithBothShapes()
    {
        TinyCheckpoint.CopyWith(_dir, t => t.Name == "vision_proj.0.weight" ? TinyCheckpoint.Narrowed(t) : t);
        using var dir = ModelDirectory.Open(_dir);
        var e = Assert.Throws<IxcException>(() => dir.BindWeights());
        Assert.Contains("tensor 'vision_proj.0.weight' has shape [32, 63], expected [32, 64] ([C, CM])", e.Message);
    }

    [Fact]
    public void IncompleteTaskLoraGroupIsRejected()
    {
        TinyCheckpoint.CopyWith(_dir, t => t.Name == "model.layers.1.attention.wo.lora_sft_B.weight" ? null : t);
        using var dir = ModelDirectory.Open(_dir);
        var e = Assert.Throws<IxcException>(() => dir.BindWeights());
        Assert.Contains("optional group 'lora_sft' is incomplete", e.Message);
        Assert.Contains("model.layers.1.attention.wo.lora_sft_B.weight", e.Message);
    }

    [Fact]
    public void InconsistentTaskLoraRankIsRejected()
    {
        TinyCheckpoint.CopyWith(_dir, t => t.Name == "model.layers.1.attention.wo.lora_web_A.weight" ? TinyCheckpoint.Narrowed(new(t.Name, t.DType, [t.Shape[1], t.Shape[0]], t.Data)) : t);
        using var dir = ModelDirectory.Open(_dir);
        var e = Assert.Throws<IxcException>(() => dir.BindWeights());
        Assert.Contains("model.layers.1.attention.wo.lora_web_A.weight", e.Message);
    }

    [Fact]
    public void CheckpointWithoutTaskLorasBindsWithoutGroups()
    {
        TinyCheckpoint.CopyWith(_dir, t => t.Name.Contains(".lora_") ? null : t);
        using var dir = ModelDirectory.Open(_dir);
        var w = dir.BindWeights();
        Assert.Empty(w.Groups);
        Assert.Null(w.Dims.RSFT);
        Assert.Null(w.Llm.Layers[0].Wqkv.LoraSftA);
    }

    [Theory]
    [InlineData("bias", "true", "'bias' = true is not supported")]
    [InlineData("num_attention_heads", "5", "divisible")]
    [InlineData("hidden_size", "\"big\"", "'hidden_size' must be an integer")]
    [InlineData("rope_scaling", "{\"type\":\"yarn\",\"factor\":2.0}", "'rope_scaling.type' = \"yarn\" is not supported")]
    // spec/model.json's range: a config alone must not make the catalog of 100,000 layers (7 GB; the config fuzz target's allocation clause)
    [InlineData("num_hidden_layers", "100000", "'num_hidden_layers' = 100000 is outside the supported range 1..256")]
    [InlineData("num_hidden_layers", "0", "'num_hidden_layers' = 0 is outside the supported range 1..256")]
    [InlineData("vision_config", "{\"num_hidden_layers\":2000000000}", "'vision_config.num_hidden_layers' = 2000000000 is outside the supported range 1..256")]
    public void InvalidConfigIsRejectedWithTheKey(string key, string json, string expected)
    {
        TinyCheckpoint.CopyWith(_dir, t => t, c => c[key] = System.Text.Json.Nodes.JsonNode.Parse(json));
        var e = Assert.Throws<IxcException>(() => ModelDirectory.Open(_dir));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void SevenBillionCountFromConfigAndIndexAlone()
    {
        using var dir = ModelDirectory.Open(TinyCheckpoint.Config7B);
        Assert.False(dir.HasWeights);
        var report = ModelReport.Build(dir, 8192, Runtime.Tensors.DType.F32);
        Assert.Equal(8_679_815_168L, report.BaseParams);
        Assert.Equal(8_679_815_168L * 2, report.Memory.WeightBytes);
        Assert.Equal(2L * 32 * 8 * 128 * 4 * 8192, report.Memory.KvBytes);
        Assert.Equal("not checked (shards absent)", report.Validation);
        // the spec's catalog names exactly the tensors of the 7B index (built independently by PyTorch)
        var spec = Ixc25Weights.Catalog(dir.Dims).Where(p => p.Group is null).Select(p => p.Key).OrderBy(k => k, StringComparer.Ordinal);
        Assert.Equal(spec, dir.Index!.Names.OrderBy(k => k, StringComparer.Ordinal));
    }
}
