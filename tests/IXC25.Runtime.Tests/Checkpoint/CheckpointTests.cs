using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Runtime.Checkpoints;

namespace IXC25.Runtime.Tests;

public sealed class CheckpointTests
{
    private static readonly string[] StShards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    private static readonly string[] BinShards = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"];

    [Fact]
    public void ShardedSafetensorsAndShardedBinGiveTheSameTensorsAsTorch()
    {
        var expected = Fixtures.Expected("sharded");
        string dir = Fixtures.Path("sharded");
        using var st = Checkpoint.Open(dir);
        using var bin = Checkpoint.Open(dir, CheckpointFormat.TorchBin);
        Assert.Equal(CheckpointFormat.Safetensors, st.Format);   // both present: safetensors wins
        Assert.Equal(CheckpointFormat.TorchBin, bin.Format);
        Assert.Equal(StShards, st.Files);
        Assert.Equal(BinShards, bin.Files);
        var names = expected.GetProperty("names_sorted").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(names, st.Names);
        Assert.Equal(names, bin.Names);
        Assert.Equal(expected.GetProperty("total_size").GetInt64(), st.TotalSize);
        Assert.Equal(expected.GetProperty("total_size").GetInt64(), bin.TotalSize);
        Assert.Equal(st.Infos.Select(i => (i.Name, i.DType, string.Join(",", i.Shape))), bin.Infos.Select(i => (i.Name, i.DType, string.Join(",", i.Shape))));
        Assert.Equal(st.Infos.Sum(i => i.ByteLength), st.TotalSize);
        foreach (var name in names)
        {
            var a = st.Get(name);
            var b = bin.Get(name);
            Assert.True(a.Data.Bytes.SequenceEqual(b.Data.Bytes), name);
            Fixtures.AssertMatches(expected.GetProperty("tensors").GetProperty(name), b);
            Assert.Equal(st.Index!.WeightMap[name], st.GetInfo(name).File);
            Assert.Equal(bin.Index!.WeightMap[name], bin.GetInfo(name).File);
        }
    }

    [Fact]
    public void NamesComeFromTheIndexWithoutOpeningShards()
    {
        using var d = new Fixtures.TempDir().CopyFrom("sharded");
        // damage the second shard: names are still listed; only touching it fails
        File.WriteAllBytes(d.File(StShards[1]), [1, 2, 3]);
        using var ck = Checkpoint.Open(d.Dir);
        Assert.Equal(Fixtures.Expected("sharded").GetProperty("names_sorted").GetArrayLength(), ck.Names.Count);
        string inFirst = ck.Index!.NamesInShard(StShards[0])[0], inSecond = ck.Index.NamesInShard(StShards[1])[0];
        Assert.Equal(StShards[0], ck.GetInfo(inFirst).File);
        var e = Assert.Throws<IxcException>(() => ck.Get(inSecond));
        Assert.Contains(StShards[1], e.Message);
        Assert.Throws<IxcException>(() => ck.Infos);
    }

    [Fact]
    public void AnIndexLoadsWhenTheShardsAreAbsent()
    {
        string dir = Fixtures.Path("index_only");
        Assert.False(File.Exists(Path.Combine(dir, StShards[0])));
        var names = Fixtures.Expected("sharded").GetProperty("names_sorted").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var st = CheckpointIndex.Load(dir);
        Assert.Equal(CheckpointFormat.Safetensors, st.Format);
        Assert.Equal(names, st.Names);
        Assert.Equal(StShards, st.ShardFiles);
        Assert.Equal(Fixtures.Expected("sharded").GetProperty("total_size").GetInt64(), st.TotalSize);
        Assert.Equal(names.Length, st.NamesInShard(StShards[0]).Count + st.NamesInShard(StShards[1]).Count);
        var bin = CheckpointIndex.Load(dir, CheckpointFormat.TorchBin);
        Assert.Equal(CheckpointFormat.TorchBin, bin.Format);
        Assert.Equal(names, bin.Names);
        Assert.Equal(BinShards, bin.ShardFiles);
        // opening the checkpoint itself needs the shards: the error names the file and a tensor in it
        var e = Assert.Throws<IxcException>(() => Checkpoint.Open(dir));
        Assert.Contains(StShards[0], e.Message);
        Assert.Contains($"tensor '{st.NamesInShard(StShards[0])[0]}'", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void SingleFilesPreferSafetensorsUnlessTorchIsAskedFor()
    {
        string dir = Fixtures.Path("single_both");
        var expected = Fixtures.Expected("single_both");
        using var st = Checkpoint.Open(dir);
        using var bin = Checkpoint.Open(dir, CheckpointFormat.TorchBin);
        using var stFile = Checkpoint.Open(Path.Combine(dir, "model.safetensors"));
        using var binFile = Checkpoint.Open(Path.Combine(dir, "pytorch_model.bin"));
        Assert.Equal(CheckpointFormat.Safetensors, st.Format);
        Assert.Equal(CheckpointFormat.TorchBin, bin.Format);
        Assert.Equal(CheckpointFormat.Safetensors, stFile.Format);
        Assert.Equal(CheckpointFormat.TorchBin, binFile.Format);
        Assert.Null(st.Index);
        Assert.Null(st.TotalSize);
        Assert.Equal(["model.safetensors"], st.Files);
        Assert.Equal(["pytorch_model.bin"], bin.Files);
        var names = expected.GetProperty("names").EnumerateArray().Select(e => e.GetString()!).ToArray();
        foreach (var ck in new[] { st, bin, stFile, binFile })
        {
            Assert.Equal(names, ck.Names);
            foreach (var n in names) Fixtures.AssertMatches(expected.GetProperty("tensors").GetProperty(n), ck.Get(n));
        }
        Assert.Throws<IxcException>(() => Checkpoint.Open(Path.Combine(dir, "model.safetensors"), CheckpointFormat.TorchBin));
    }

    [Fact]
    public void ShardedIndexFileCanBeOpenedDirectly()
    {
        using var ck = Checkpoint.Open(Fixtures.Path("sharded", "pytorch_model.bin.index.json"));
        Assert.Equal(CheckpointFormat.TorchBin, ck.Format);
        Assert.Equal(BinShards, ck.Files);
    }

    [Fact]
    public void UnknownNamesAndMissingCheckpoints()
    {
        using var ck = Checkpoint.Open(Fixtures.Path("sharded"));
        Assert.False(ck.TryGet("nope", out _));
        Assert.False(ck.Contains("nope"));
        Assert.Contains("no tensor named 'nope'", Assert.Throws<IxcException>(() => ck.Get("nope")).Message);
        Assert.Contains("no tensor named 'nope'", Assert.Throws<IxcException>(() => ck.GetInfo("nope")).Message);
        using var empty = new Fixtures.TempDir();
        var e = Assert.Throws<IxcException>(() => Checkpoint.Open(empty.Dir));
        Assert.Contains("no checkpoint found", e.Message);
        Assert.Contains("pytorch_model.bin.index.json", e.Message);
        Assert.Contains("no such", Assert.Throws<IxcException>(() => Checkpoint.Open(empty.File("absent"))).Message);
        Assert.Contains("no checkpoint index", Assert.Throws<IxcException>(() => CheckpointIndex.Load(empty.Dir)).Message);
    }

    [Fact]
    public void AMissingShardIsAnErrorNamingTheFileAndATensorThatNeedsIt()
    {
        using var d = new Fixtures.TempDir().CopyFrom("sharded");
        File.Delete(d.File(BinShards[1]));
        var index = CheckpointIndex.Load(d.Dir, CheckpointFormat.TorchBin);
        var e = Assert.Throws<IxcException>(() => Checkpoint.Open(d.Dir, CheckpointFormat.TorchBin));
        Assert.Contains(BinShards[1], e.Message);
        Assert.Contains($"tensor '{index.NamesInShard(BinShards[1])[0]}'", e.Message);
        Assert.Contains(CheckpointIndex.TorchIndexName, e.Message);
    }

    [Theory]
    [InlineData(CheckpointFormat.Safetensors)]
    [InlineData(CheckpointFormat.TorchBin)]
    public void ShardsMustAgreeWithTheIndex(CheckpointFormat format)
    {
        string indexName = format == CheckpointFormat.Safetensors ? CheckpointIndex.SafetensorsIndexName : CheckpointIndex.TorchIndexName;
        string[] shards = format == CheckpointFormat.Safetensors ? StShards : BinShards;

        // a tensor listed in the index but absent from its shard
        using (var d = EditedIndex(indexName, map => map["ghost.weight"] = shards[0]))
        {
            using var ck = Checkpoint.Open(d.Dir, format);
            Assert.Contains("ghost.weight", ck.Names);
            var e = Assert.Throws<IxcException>(() => ck.Get("ghost.weight"));
            Assert.Contains("tensor 'ghost.weight' is missing from this shard", e.Message);
            Assert.Contains(shards[0], e.Message);
        }
        // a shard holding a tensor the index does not list
        using (var d = EditedIndex(indexName, map => map.Remove("output.weight")))
        {
            using var ck = Checkpoint.Open(d.Dir, format);
            var e = Assert.Throws<IxcException>(() => ck.Infos);
            Assert.Contains("holds tensor 'output.weight', which", e.Message);
            Assert.Contains("does not list", e.Message);
        }
        // the same tensor in two shards: the index assigns it to one, the other shard holds it too
        using (var d = EditedIndex(indexName, map => map["model.norm.weight"] = shards[0]))
        {
            using var ck = Checkpoint.Open(d.Dir, format);
            var e = Assert.Throws<IxcException>(() => ck.Infos);
            Assert.Contains("'model.norm.weight'", e.Message);
        }
    }

    [Fact]
    public void ATensorStoredInTwoShardsIsAnError()
    {
        using var d = new Fixtures.TempDir().CopyFrom("sharded");
        // rewrite shard 1 with an extra copy of a tensor that the index (and shard 2) hold
        var extra = "model.norm.weight";
        using (var ck = Checkpoint.Open(Fixtures.Path("sharded")))
        {
            Assert.Equal(StShards[1], ck.Index!.WeightMap[extra]);
            var first = ck.Index.NamesInShard(StShards[0]).Select(ck.Get).Append(ck.Get(extra)).ToList();
            IXC25.Runtime.IO.SafetensorsWriter.Write(d.File(StShards[0]), first);
        }
        using var dup = Checkpoint.Open(d.Dir);
        var e = Assert.Throws<IxcException>(() => dup.Infos);
        Assert.Contains($"holds tensor '{extra}', which", e.Message);
        Assert.Contains($"assigns to '{StShards[1]}'", e.Message);
        Assert.Contains(StShards[0], e.Message);
    }

    [Theory]
    [InlineData("{\"weight_map\": {\"a\": ", "not valid JSON")]
    [InlineData("[1, 2]", "not a JSON object")]
    [InlineData("{\"metadata\": {}}", "no \"weight_map\" object")]
    [InlineData("{\"weight_map\": {}}", "empty weight_map")]
    [InlineData("{\"weight_map\": {\"a\": 3}}", "weight_map['a'] is Number")]
    [InlineData("{\"weight_map\": {\"a\": \"x.bin\", \"a\": \"y.bin\"}}", "tensor 'a' is listed twice")]
    [InlineData("{\"weight_map\": {\"a\": \"../x.bin\"}}", "not a relative file path")]
    [InlineData("{\"weight_map\": {\"a\": \"/etc/passwd\"}}", "not a relative file path")]
    [InlineData("{\"metadata\": {\"total_size\": -5}, \"weight_map\": {\"a\": \"x.bin\"}}", "total_size is -5")]
    [InlineData("{\"metadata\": {\"total_size\": \"big\"}, \"weight_map\": {\"a\": \"x.bin\"}}", "total_size is \"big\"")]
    public void MalformedIndexesAreClearErrors(string json, string message)
    {
        using var d = new Fixtures.TempDir();
        File.WriteAllText(d.File(CheckpointIndex.TorchIndexName), json);
        var e = Assert.Throws<IxcException>(() => CheckpointIndex.Load(d.Dir));
        Assert.Contains(message, e.Message);
        Assert.Contains(CheckpointIndex.TorchIndexName, e.Message);
    }

    [Fact]
    public void IndexMetadataIsExposed()
    {
        using var d = new Fixtures.TempDir();
        File.WriteAllText(d.File(CheckpointIndex.SafetensorsIndexName),
            "{\"metadata\": {\"total_size\": 1.5e3, \"format\": \"pt\"}, \"weight_map\": {\"b\": \"s1.safetensors\", \"a\": \"s2.safetensors\", \"c\": \"s1.safetensors\"}}");
        var ix = CheckpointIndex.Load(d.Dir);
        Assert.Equal(1500, ix.TotalSize);
        Assert.Equal("pt", ix.Metadata["format"]);
        Assert.Equal(["b", "a", "c"], ix.Names);
        Assert.Equal(["s1.safetensors", "s2.safetensors"], ix.ShardFiles);
        Assert.Equal(["b", "c"], ix.NamesInShard("s1.safetensors"));
    }

    [Fact]
    public void TensorsFromEveryShardStayReadableUntilDispose()
    {
        var ck = Checkpoint.Open(Fixtures.Path("sharded"), CheckpointFormat.TorchBin);
        var tensors = ck.Names.Select(ck.Get).ToList();
        Assert.All(tensors, t => Assert.Equal(t.Data.ByteLength, t.Data.Bytes.Length));
        ck.Dispose();
        Assert.All(tensors, t => Assert.Throws<ObjectDisposedException>(() => t.Data.Bytes.Length));
    }

    private static Fixtures.TempDir EditedIndex(string indexName, Action<JsonObject> edit)
    {
        var d = new Fixtures.TempDir().CopyFrom("sharded");
        var root = JsonNode.Parse(File.ReadAllText(d.File(indexName)))!.AsObject();
        edit(root["weight_map"]!.AsObject());
        File.WriteAllText(d.File(indexName), root.ToJsonString());
        return d;
    }
}
