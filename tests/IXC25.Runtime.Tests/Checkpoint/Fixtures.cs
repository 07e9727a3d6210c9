using System.Security.Cryptography;
using System.Text.Json;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Tests;

/// <summary>The PyTorch-written fixtures of golden/checkpoint/data and what torch.load said about them.</summary>
internal static class Fixtures
{
    public const string PwnedMarker = "/tmp/ixc25-pwned";

    public static string Path(params string[] parts) => RepoLayout.Path(["golden", "checkpoint", "data", .. parts]);

    private static readonly Lazy<JsonDocument> ExpectedDoc = new(() => JsonDocument.Parse(File.ReadAllBytes(Path("expected.json"))));

    /// <summary>expected.json[key]: {wrapper, names, tensors: {name: {dtype, shape, values, sum, sha256, ...}}}.</summary>
    public static JsonElement Expected(string key) => ExpectedDoc.Value.RootElement.GetProperty(key);

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Asserts that <paramref name="t"/> has exactly the dtype, shape, bytes and values torch reported.</summary>
    public static void AssertMatches(JsonElement expected, NamedTensor t)
    {
        Assert.Equal(expected.GetProperty("dtype").GetString(), t.DType.SafetensorsName());
        Assert.Equal(expected.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), t.Shape);
        Assert.Equal(expected.GetProperty("nbytes").GetInt64(), t.Data.ByteLength);
        Assert.Equal(expected.GetProperty("sha256").GetString(), Sha256(t.Data.Bytes));
        var values = expected.GetProperty("values").EnumerateArray().ToArray();
        Assert.Equal(values.Length, t.Numel);
        double sum = 0, magnitude = 0;
        for (int i = 0; i < values.Length; i++)
        {
            switch (t.DType)
            {
                case DType.Bool:
                    Assert.Equal(values[i].GetBoolean(), t.AsSpan<byte>()[i] != 0);
                    sum += t.AsSpan<byte>()[i];
                    break;
                case DType.I64: Check(values[i].GetInt64(), t.AsSpan<long>()[i]); break;
                case DType.I32: Check(values[i].GetInt64(), t.AsSpan<int>()[i]); break;
                case DType.I16: Check(values[i].GetInt64(), t.AsSpan<short>()[i]); break;
                case DType.I8: Check(values[i].GetInt64(), t.AsSpan<sbyte>()[i]); break;
                case DType.U8: Check(values[i].GetInt64(), t.AsSpan<byte>()[i]); break;
                default:
                    {
                        double v = t.DType switch
                        {
                            DType.F32 => t.AsSpan<float>()[i],
                            DType.F16 => (double)t.AsSpan<Half>()[i],
                            DType.BF16 => BFloat16.ToSingle(t.AsSpan<ushort>()[i]),
                            DType.F64 => t.AsSpan<double>()[i],
                            _ => throw new InvalidOperationException(t.DType.ToString()),
                        };
                        Assert.Equal(values[i].GetDouble(), v); // exact: every value is a double torch printed
                        sum += v;
                        magnitude += Math.Abs(v);
                        break;
                    }
            }
        }
        // torch summed in its own order; the values are exact above, so only the order may differ
        Assert.InRange(sum, expected.GetProperty("sum").GetDouble() - 1e-12 * (magnitude + 1), expected.GetProperty("sum").GetDouble() + 1e-12 * (magnitude + 1));

        void Check(long want, long got)
        {
            Assert.Equal(want, got);
            sum += got;
            magnitude += Math.Abs((double)got);
        }
    }

    /// <summary>A scratch folder deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("ixc25-ckpt-").FullName;
        public string File(string name) => System.IO.Path.Combine(Dir, name);
        public void Dispose() { try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } }

        /// <summary>Copies every file of a fixture folder here.</summary>
        public TempDir CopyFrom(string fixtureFolder)
        {
            foreach (var f in Directory.GetFiles(Path(fixtureFolder)))
                System.IO.File.Copy(f, File(System.IO.Path.GetFileName(f)));
            return this;
        }
    }
}
