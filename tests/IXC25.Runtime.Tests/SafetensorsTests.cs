using System.Buffers.Binary;
using System.Text;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-st-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RoundTripsEveryDTypeAndMetadata()
    {
        string p = Path.Combine(_dir, "a.safetensors");
        var f32 = new float[] { 1.5f, -2f, float.NaN, float.PositiveInfinity, 0f, -0f };
        var bf = new ushort[] { 0x3F80, 0xC000, 0x7FC0 };
        var u8 = new byte[] { 0, 255, 7 };
        SafetensorsWriter.Write(p, [
            NamedTensor.F32("x", [2, 3], f32),
            NamedTensor.BF16("w", [3], bf),
            NamedTensor.U8("m", [3, 1], u8),
            NamedTensor.I64("empty", [0, 4], []),
        ], new Dictionary<string, string> { ["format"] = "pt" });

        using var f = new SafetensorsFile(p);
        Assert.Equal(["x", "w", "m", "empty"], f.Tensors.Select(t => t.Name));
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(new long[] { 2, 3 }, f["x"].Shape);
        Assert.Equal(f32.Select(BitConverter.SingleToInt32Bits), f["x"].AsSpan<float>().ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(bf, f["w"].AsSpan<ushort>().ToArray());
        Assert.Equal(new float[] { 1f, -2f }, f["w"].ToFloat32().Take(2));
        Assert.Equal(u8, f["m"].AsSpan<byte>().ToArray());
        Assert.Equal(0, f["empty"].Numel);
        // the header is padded so that the data section starts 8-byte aligned
        var raw = File.ReadAllBytes(p);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(raw) % 8);
    }

    [Fact]
    public void FailedWriteLeavesTheExistingFileIntact()
    {
        string p = Path.Combine(_dir, "keep.safetensors");
        SafetensorsWriter.Write(p, [NamedTensor.F32("a", [1], [3f])]);
        var before = File.ReadAllBytes(p);
        using (var w = new SafetensorsWriter(p))
        {
            w.Add(NamedTensor.F32("b", [1], [4f]));
            Assert.Throws<IxcException>(() => w.Add(NamedTensor.F32("b", [1], [5f]))); // duplicate name
        } // disposed without commit
        Assert.Equal(before, File.ReadAllBytes(p));
        Assert.Single(Directory.GetFiles(_dir)); // no temporary files left behind
    }

    [Theory]
    [InlineData("short", "not a safetensors file")]
    [InlineData("hugeheader", "implausible")]
    [InlineData("truncatedheader", "truncated")]
    [InlineData("badjson", "not valid JSON")]
    [InlineData("baddtype", "unsupported dtype 'Q7'")]
    [InlineData("wrongsize", "expected 8")]
    [InlineData("pastend", "past the end")]
    [InlineData("overlap", "overlap")]
    public void RejectsMalformedFilesWithAClearMessage(string kind, string expected)
    {
        string p = Path.Combine(_dir, kind + ".safetensors");
        byte[] bytes = kind switch
        {
            "short" => [1, 2, 3],
            "hugeheader" => Header(ulong.MaxValue / 2, ""),
            "truncatedheader" => Header(1000, "{}"),
            "badjson" => Raw("{\"a\":", 0),
            "baddtype" => Raw("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
            "wrongsize" => Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
            "pastend" => Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
            "overlap" => Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8),
            _ => throw new ArgumentException(kind),
        };
        File.WriteAllBytes(p, bytes);
        var e = Assert.Throws<IxcException>(() => new SafetensorsFile(p));
        Assert.Contains(expected, e.Message);
        Assert.Contains(p, e.Message);
    }

    private static byte[] Header(ulong len, string json)
    {
        var b = new byte[8 + Encoding.UTF8.GetByteCount(json)];
        BinaryPrimitives.WriteUInt64LittleEndian(b, len);
        Encoding.UTF8.GetBytes(json, b.AsSpan(8));
        return b;
    }

    private static byte[] Raw(string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        return b;
    }

    [Fact]
    public void BFloat16RoundsToNearestEven()
    {
        Assert.Equal(0x3F80, BFloat16.FromSingle(1f));
        // 1 + 2^-8 is exactly half-way between bf16 1.0 and 1.0078125: ties to even (1.0)
        Assert.Equal(0x3F80, BFloat16.FromSingle(1f + 1f / 256));
        // 1 + 3*2^-8 is half-way between 1.0078125 (odd) and 1.015625 (even): rounds up
        Assert.Equal(0x3F82, BFloat16.FromSingle(1f + 3f / 256));
        Assert.True(float.IsNaN(BFloat16.ToSingle(BFloat16.FromSingle(float.NaN))));
        Assert.Equal(float.PositiveInfinity, BFloat16.ToSingle(BFloat16.FromSingle(float.MaxValue)));
    }
}
