using System.Text;
using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Runtime.Checkpoints;
using IXC25.Tests.Hostile;

namespace IXC25.Model.Tests.Hostile;

/// <summary>
/// Hostile model folders: config.json and the shard index mutated (hostile numbers, invalid UTF-8, deep
/// nesting, bit flips, truncations). Opening the folder (config, dims, index; the shards are not there)
/// returns or is an <see cref="IxcException"/>.
/// </summary>
public sealed class ModelFolderHostileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-hostile-model-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Lazy<byte[]> Config = new(() => File.ReadAllBytes(RepoLayout.Path("golden", "model", "tiny", "safetensors", "config.json")));
    private static readonly Lazy<byte[]> Index = new(() => File.ReadAllBytes(RepoLayout.Path("golden", "model", "tiny", "safetensors", CheckpointIndex.SafetensorsIndexName)));

    private string Folder(byte[] config, byte[] index)
    {
        string d = Directory.CreateDirectory(Path.Combine(_dir, Guid.NewGuid().ToString("N"))).FullName;
        File.WriteAllBytes(Path.Combine(d, "config.json"), config);
        File.WriteAllBytes(Path.Combine(d, CheckpointIndex.SafetensorsIndexName), index);
        return d;
    }

    private static byte[] ConfigWith(string key, string value)
    {
        string text = Encoding.UTF8.GetString(Config.Value);
        int at = text.IndexOf($"\"{key}\": ", StringComparison.Ordinal);
        Assert.True(at >= 0, key);
        int start = at + key.Length + 4, end = text.IndexOfAny([',', '\n'], start);
        return Encoding.UTF8.GetBytes(text[..start] + value + text[end..]);
    }

    [Fact]
    public void TheTinyFolderStillOpens()
    {
        using var m = ModelDirectory.Open(Folder(Config.Value, Index.Value));
        Assert.Equal(32, m.Config.HiddenSize);
        Assert.False(m.HasWeights);
    }

    [Fact]
    public void AConfigWithAByteOrderMarkStillOpens()
    {
        using var m = ModelDirectory.Open(Folder([0xEF, 0xBB, 0xBF, .. Config.Value], Index.Value));
        Assert.Equal(32, m.Config.HiddenSize);
    }

    [Theory]
    [InlineData("rms_norm_eps", "1e400")]
    [InlineData("rope_theta", "-1e999")]
    [InlineData("hidden_size", "2147483647")]
    [InlineData("intermediate_size", "2147483647")]
    [InlineData("vocab_size", "2147483647")]
    [InlineData("num_key_value_heads", "2147483647")]
    public void AHostileNumberInTheConfigIsAnIxcExceptionNamingTheKey(string key, string value)
    {
        string d = Folder(ConfigWith(key, value), Index.Value);
        try { using var m = ModelDirectory.Open(d); }
        catch (IxcException e) { Assert.Contains("config.json", e.Message); }
    }

    [Theory]
    [InlineData("1000000000")]
    [InlineData("2147483647")]
    public void ADerivedDimensionPast32BitsIsRefusedNamingIt(string visionHidden)
    {
        // CM = 4 * CV: the config's numbers are each an int, their product is not
        string text = Encoding.UTF8.GetString(Config.Value).Replace("\"hidden_size\": 16", "\"hidden_size\": " + visionHidden, StringComparison.Ordinal);
        var e = Assert.Throws<IxcException>(() => ModelDirectory.Open(Folder(Encoding.UTF8.GetBytes(text), Index.Value)));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("CM = 4 * CV", e.Message);
    }

    [Fact]
    public void AConfigThatIsNotValidUtf8IsRefused()
    {
        var bytes = ConfigWith("hidden_act", "\"si?u\"");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xFF;
        var e = Assert.Throws<IxcException>(() => ModelDirectory.Open(Folder(bytes, Index.Value)));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("not valid UTF-8", e.Message);
    }

    [Fact]
    public void MutatedConfigsAndIndexesOpenOrAreAnIxcException()
    {
        Contract.ForSeeds(1000, seed =>
        {
            var rng = new Random(seed);
            bool config = rng.Next(3) != 0;
            var (bytes, what) = new Mutator(config ? Config.Value : Index.Value).Next(rng);
            string d = Folder(config ? bytes : Config.Value, config ? Index.Value : bytes);
            try
            {
                Contract.Holds($"seed {seed}: {(config ? "config.json" : "index")}: {what}", () =>
                {
                    using var m = ModelDirectory.Open(d);
                    _ = m.Dims;
                    _ = m.HasWeights;
                });
            }
            finally { Directory.Delete(d, recursive: true); }
        });
    }
}
