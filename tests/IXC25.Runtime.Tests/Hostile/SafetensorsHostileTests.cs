using System.Buffers.Binary;
using System.Text;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;
using IXC25.Tests.Hostile;

namespace IXC25.Runtime.Tests.Hostile;

/// <summary>
/// Hostile safetensors files: the reproductions of issue 15 (a shape whose size overflows Int64, a header
/// that is not valid UTF-8) as plain tests, then a property over thousands of mutations of small valid
/// files (written here by the project's own writer) and of the tiny checkpoint's real header.
/// </summary>
public sealed class SafetensorsHostileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-hostile-st-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string p = Path.Combine(_dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    private static byte[] Raw(byte[] header, int dataBytes)
    {
        var b = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)header.Length);
        header.CopyTo(b, 8);
        return b;
    }

    private static byte[] Raw(string header, int dataBytes) => Raw(Encoding.UTF8.GetBytes(header), dataBytes);

    [Theory]
    [InlineData("[4294967296,4294967296]", "F32")]
    [InlineData("[9223372036854775807,2]", "BF16")]
    [InlineData("[3037000500,3037000500]", "U8")]
    [InlineData("[4611686018427387904]", "F32")]
    public void AShapeWhoseSizeOverflowsInt64IsRefusedWithTheTensorNamed(string shape, string dtype)
    {
        string p = Write("overflow.safetensors", Raw($"{{\"w\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[0,4]}}}}", 4));
        var e = Assert.Throws<IxcException>(() => new SafetensorsFile(p));
        Assert.Contains(p, e.Message);
        Assert.Contains("'w'", e.Message);
        Assert.Contains("too large", e.Message);
    }

    [Fact]
    public void AHeaderThatIsNotValidUtf8IsRefusedWithItsPosition()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"w?\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        bytes[3] = 0xFF; // the '?' of the tensor name: a lone 0xFF is never UTF-8
        string p = Write("badutf8.safetensors", Raw(bytes, 4));
        var e = Assert.Throws<IxcException>(() => new SafetensorsFile(p));
        Assert.Contains(p, e.Message);
        Assert.Contains("not valid UTF-8", e.Message);
        Assert.Contains("byte 11", e.Message); // 8 bytes of length, then '{', '"', 'w', then the bad byte
    }

    [Fact]
    public void InvalidUtf8InAMetadataValueIsRefused()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"__metadata__\":{\"format\":\"p?\"}}");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xC3; // a lead byte with no continuation
        string p = Write("badmeta.safetensors", Raw(bytes, 0));
        var e = Assert.Throws<IxcException>(() => new SafetensorsFile(p));
        Assert.Contains("not valid UTF-8", e.Message);
    }

    [Fact]
    public void DeeplyNestedHeaderJsonIsRefused()
    {
        string nest = new string('[', 10_000) + new string(']', 10_000);
        string p = Write("deep.safetensors", Raw($"{{\"__metadata__\":{{\"x\":{nest}}}}}", 0));
        var e = Assert.Throws<IxcException>(() => new SafetensorsFile(p));
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void ValidFilesStillLoadIdentically()
    {
        foreach (var (name, bytes) in Seeds())
        {
            string p = Write(name, bytes);
            if (name == "tiny-header.safetensors") continue; // header only: its data section is not here
            using var f = new SafetensorsFile(p);
            Assert.NotEmpty(f.Tensors);
        }
    }

    private static readonly Lazy<List<(string Name, byte[] Bytes)>> SeedFiles = new(() => Seeds().ToList());

    [Fact]
    public void MutatedSafetensorsFilesLoadOrAreAnIxcException()
    {
        var seeds = SeedFiles.Value;
        Contract.ForSeeds(3000, seed =>
        {
            var rng = new Random(seed);
            var (name, original) = seeds[rng.Next(seeds.Count)];
            int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
            var (bytes, what) = new Mutator(original, 8, headerEnd) { Focus = (0, headerEnd) }.Next(rng);
            string p = Path.Combine(_dir, $"case-{seed}.safetensors");
            File.WriteAllBytes(p, bytes);
            try
            {
                Contract.Holds($"seed {seed}: {name}: {what}", () =>
                {
                    using var f = new SafetensorsFile(p);
                    long sum = 0;
                    foreach (var t in f.Tensors) { sum += t.Numel; foreach (var x in t.Data.Bytes) sum += x; }
                    _ = f.Metadata.Count;
                });
            }
            finally { File.Delete(p); }
        });
    }

    /// <summary>Small valid files of every dtype, with metadata, an empty tensor, and the header of the tiny checkpoint's first shard.</summary>
    private static IEnumerable<(string, byte[])> Seeds()
    {
        string dir = Directory.CreateTempSubdirectory("ixc25-hostile-seed-").FullName;
        try
        {
            string a = Path.Combine(dir, "a.safetensors");
            SafetensorsWriter.Write(a, [
                NamedTensor.F32("model.x", [2, 3], [1.5f, -2f, float.NaN, 0f, 3f, 4f]),
                NamedTensor.BF16("w", [3], [0x3F80, 0xC000, 0x7FC0]),
                NamedTensor.U8("m", [3, 1], [0, 255, 7]),
                NamedTensor.I64("empty", [0, 4], []),
            ], new Dictionary<string, string> { ["format"] = "pt", ["note"] = "\u4E2D\u6587" });
            yield return ("a.safetensors", File.ReadAllBytes(a));
            string b = Path.Combine(dir, "b.safetensors");
            SafetensorsWriter.Write(b, [NamedTensor.F32("one", [1], [7f])]);
            yield return ("b.safetensors", File.ReadAllBytes(b));
        }
        finally { Directory.Delete(dir, recursive: true); }

        // the real header of a shard of the tiny checkpoint (not the 6 MB of data): its names and shapes
        string shard = RepoLayout.Path("golden", "model", "tiny", "safetensors", "model-00001-of-00002.safetensors");
        using var s = File.OpenRead(shard);
        var len = new byte[8];
        s.ReadExactly(len);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(len);
        var head = new byte[8 + n + 8];
        len.CopyTo(head, 0);
        s.ReadExactly(head, 8, n);
        yield return ("tiny-header.safetensors", head);
    }
}
