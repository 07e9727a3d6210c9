using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Tests;

/// <summary>
/// The quantize step of spec/quant.json against golden/quant (plain torch from the definition, byte-identical to
/// ggml's reference quantizers through ../shared/bench/llamacpp/make_gguf.py): blocks and scales byte for byte,
/// dequantize(quantize(w)) bit for bit, the q8 activations, and the scalar dot that defines every kernel tier.
/// </summary>
public class QuantGoldenTests
{
    private static readonly string[] Cases = ["edge", "rand", "outlier", "long"];

    private static float[] F32(SafetensorsFile f, string name) => f[name].ToFloat32();

    private static SafetensorsFile Open() => new(RepoLayout.Path("golden", "quant", "data", "quant.safetensors"));

    public static TheoryData<string, string> CaseFormats()
    {
        var d = new TheoryData<string, string>();
        foreach (var c in Cases)
            foreach (var f in QuantFormat.All) d.Add(c, f.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(CaseFormats))]
    public void QuantizeIsByteIdenticalAndDequantizeIsTheDefinition(string c, string format)
    {
        using var f = Open();
        var fmt = QuantFormat.Parse(format);
        var w = f[$"{c}.w"];
        var m = Quantizer.Quantize(fmt, w.ToFloat32(), (int)w.Shape[0], (int)w.Shape[1], c);
        Assert.Equal(f[$"{c}.{format}.qs"].Data.Bytes.ToArray(), m.Qs.ToArray());
        Assert.Equal(f[$"{c}.{format}.scales"].AsSpan<ushort>().ToArray(), m.Scales.ToArray());
        var deq = Quantizer.Dequantize(m);
        var expected = F32(f, $"{c}.{format}.deq");
        Assert.Equal(expected.Select(BitConverter.SingleToUInt32Bits), deq.Select(BitConverter.SingleToUInt32Bits));
    }

    [Theory]
    [MemberData(nameof(CaseFormats))]
    public void ActivationsAndTheScalarDotMatchTheGolden(string c, string format)
    {
        using var f = Open();
        var fmt = QuantFormat.Parse(format);
        var w = f[$"{c}.w"];
        int R = (int)w.Shape[0], K = (int)w.Shape[1], nb = K / 32;
        var m = Quantizer.Quantize(fmt, w.ToFloat32(), R, K, c);
        var x = f[$"{c}.x"];
        int T = (int)x.Shape[0];
        var xs = x.ToFloat32();
        var gq = f[$"{c}.act.qs"].AsSpan<sbyte>().ToArray();
        var gs = F32(f, $"{c}.act.scales");
        var gy = F32(f, $"{c}.{format}.y");
        for (int t = 0; t < T; t++)
        {
            var qs = new sbyte[K];
            var sc = new float[nb];
            Quantizer.QuantizeActivations(xs.AsSpan(t * K, K), qs, sc, new int[nb]);
            Assert.Equal(gq.AsSpan(t * K, K).ToArray(), qs);
            Assert.Equal(gs.AsSpan(t * nb, nb).ToArray().Select(Bits), sc.Select(Bits));
            for (int r = 0; r < R; r++)
                Assert.True(Bits(gy[t * R + r]) == Bits(Quantizer.Dot(m, r, qs, sc)), $"{c} {format} y[{t}, {r}]: golden {gy[t * R + r]:R}, ours {Quantizer.Dot(m, r, qs, sc):R}");
        }
    }

    /// <summary>NaN compares by position (any NaN payload), everything else by bits.</summary>
    private static uint Bits(float v) => float.IsNaN(v) ? 0x7FC00000u : BitConverter.SingleToUInt32Bits(v);

    [Fact]
    public void TheGoldenHoldsANaNActivationBlockWhoseOutputsAreNaN()
    {
        using var f = Open();
        Assert.Contains(F32(f, "outlier.q8_0.y"), float.IsNaN);
        Assert.Contains(F32(f, "outlier.act.scales"), float.IsNaN);
    }

    [Fact]
    public void BadWeightsAreOneClearError()
    {
        var w = new float[2 * 64];
        w[70] = float.NaN;
        var e = Assert.Throws<IxcException>(() => Quantizer.Quantize(QuantFormat.Q8_0, w, 2, 64, "layer.w"));
        Assert.Contains("layer.w", e.Message);
        Assert.Contains("non-finite", e.Message);
        e = Assert.Throws<IxcException>(() => Quantizer.Quantize(QuantFormat.Q4_0, new float[2 * 40], 2, 40, "w2"));
        Assert.Contains("not a multiple", e.Message);
        var big = new float[32];
        big[3] = 1e6f; // q4_0 d = 125000: past the f16 maximum 65504
        e = Assert.Throws<IxcException>(() => Quantizer.Quantize(QuantFormat.Q4_0, big, 1, 32, "big"));
        Assert.Contains("f16 range", e.Message);
        Assert.Throws<IxcException>(() => QuantFormat.Parse("q5_k"));
        Assert.Throws<IxcException>(() => new QuantizedMatrix(QuantFormat.Q8_0, 1, 32, new byte[32], [0x7C00]));
    }
}
