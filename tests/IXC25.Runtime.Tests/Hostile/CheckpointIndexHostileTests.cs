using System.Text;
using IXC25.Runtime.Checkpoints;
using IXC25.Tests.Hostile;

namespace IXC25.Runtime.Tests.Hostile;

/// <summary>Hostile shard index files (model.safetensors.index.json / pytorch_model.bin.index.json): plain
/// reproductions, then a property over mutations of the tiny checkpoint's real indexes.</summary>
public sealed class CheckpointIndexHostileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-hostile-index-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(byte[] bytes, string name = CheckpointIndex.SafetensorsIndexName)
    {
        string p = Path.Combine(_dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    [Theory]
    [InlineData("{\"weight_map\":{\"a?\":\"model.safetensors\"}}")]
    [InlineData("{\"weight_map\":{\"a\":\"model?.safetensors\"}}")]
    [InlineData("{\"metadata\":{\"k?\":1},\"weight_map\":{\"a\":\"model.safetensors\"}}")]
    public void AnIndexThatIsNotValidUtf8IsRefused(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xFF;
        string p = Write(bytes);
        var e = Assert.Throws<IxcException>(() => CheckpointIndex.LoadFile(p));
        Assert.Contains(p, e.Message);
        Assert.Contains("not valid UTF-8", e.Message);
    }

    private static readonly Lazy<(string Name, byte[] Bytes)[]> Seeds = new(() =>
    [
        (CheckpointIndex.SafetensorsIndexName, File.ReadAllBytes(RepoLayout.Path("golden", "model", "tiny", "safetensors", CheckpointIndex.SafetensorsIndexName))),
        (CheckpointIndex.TorchIndexName, File.ReadAllBytes(RepoLayout.Path("golden", "model", "tiny", "bin", CheckpointIndex.TorchIndexName))),
        (CheckpointIndex.SafetensorsIndexName, Encoding.UTF8.GetBytes("{\"metadata\":{\"total_size\":16,\"format\":\"pt\"},\"weight_map\":{\"a\":\"m-1.safetensors\",\"b\":\"m-2.safetensors\"}}")),
    ]);

    [Fact]
    public void MutatedIndexesLoadOrAreAnIxcException()
    {
        Contract.ForSeeds(2000, seed =>
        {
            var rng = new Random(seed);
            var (name, original) = Seeds.Value[rng.Next(Seeds.Value.Length)];
            var (bytes, what) = new Mutator(original).Next(rng);
            string p = Write(bytes, name);
            Contract.Holds($"seed {seed}: {name}: {what}", () =>
            {
                var index = CheckpointIndex.LoadFile(p);
                _ = index.TotalSize;
                foreach (var s in index.ShardFiles) _ = index.NamesInShard(s).Count;
            });
        });
    }
}
