using IXC25.Runtime.Tensors;
using IXC25.Vision.Imaging;
using IXC25.Vision.Resampling;
using IXC25.Vision.Transforms;

namespace IXC25.Vision.Tests;

/// <summary>The three numerical kernels against PIL/torch on small inputs stored in full.</summary>
public class KernelGoldenTests
{
    private static IEnumerable<(string Case, NamedTensor Input, NamedTensor Output)> Pairs(Runtime.IO.SafetensorsFile f) =>
        f.Tensors.Where(t => t.Name.EndsWith(".input", StringComparison.Ordinal))
            .Select(t => (t.Name[..^6], t, f[t.Name[..^6] + ".output"]));

    [Fact]
    public void PilBilinearMatchesPilBitForBit()
    {
        using var f = VisionGoldens.Tensors("resize_small.safetensors");
        int n = 0;
        foreach (var (name, input, output) in Pairs(f))
        {
            var src = new RgbImage((int)input.Shape[1], (int)input.Shape[0], input.AsSpan<byte>().ToArray());
            int ow = (int)output.Shape[1], oh = (int)output.Shape[0];
            var want = output.AsSpan<byte>().ToArray();
            Assert.True(want.AsSpan().SequenceEqual(PilBilinear.ResizeReference(src, ow, oh).Pixels), $"{name}: reference {src.Width}x{src.Height} -> {ow}x{oh}");
            Assert.True(want.AsSpan().SequenceEqual(PilBilinear.Resize(src, ow, oh).Pixels), $"{name}: fast {src.Width}x{src.Height} -> {ow}x{oh}");
            Assert.True(want.AsSpan().SequenceEqual(PilBilinear.Resize(src, ow, oh, maxThreads: 1).Pixels), $"{name}: fast, 1 thread");
            n++;
        }
        Assert.True(n >= 20, $"only {n} resize cases");
    }

    [Fact]
    public void TorchBicubicMatchesTorchBitForBit()
    {
        using var f = VisionGoldens.Tensors("bicubic_small.safetensors");
        int n = 0;
        foreach (var (name, input, output) in Pairs(f))
        {
            int c = (int)input.Shape[0], h = (int)input.Shape[1], w = (int)input.Shape[2];
            int oh = (int)output.Shape[1], ow = (int)output.Shape[2];
            var x = input.ToFloat32();
            var want = output.ToFloat32();
            AssertBits(want, TorchBicubic.ResizeReference(x, c, h, w, oh, ow), $"{name} reference [{h}, {w}] -> [{oh}, {ow}]");
            AssertBits(want, TorchBicubic.Resize(x, c, h, w, oh, ow), $"{name} fast");
            AssertBits(want, TorchBicubic.Resize(x, c, h, w, oh, ow, maxThreads: 1), $"{name} fast, 1 thread");
            n++;
        }
        Assert.True(n >= 10, $"only {n} bicubic cases");
    }

    [Fact]
    public void NormalizeTableMatchesTorchvision()
    {
        using var f = VisionGoldens.Tensors("normalize.safetensors");
        var want = f["table"].ToFloat32(); // [3, 256]
        var got = new float[3 * 256];
        for (int c = 0; c < 3; c++)
            for (int b = 0; b < 256; b++) got[c * 256 + b] = ClipNormalize.Value(c, (byte)b);
        AssertBits(want, got, "ToTensor + Normalize");
        // and through the image path
        var px = new byte[256 * 3];
        for (int b = 0; b < 256; b++) px[b * 3] = px[b * 3 + 1] = px[b * 3 + 2] = (byte)b;
        AssertBits(want, ClipNormalize.ToTensor(new RgbImage(256, 1, px)), "ToTensor image");
    }

    internal static void AssertBits(ReadOnlySpan<float> want, ReadOnlySpan<float> got, string what)
    {
        Assert.True(want.Length == got.Length, $"{what}: {got.Length} values, expected {want.Length}");
        for (int i = 0; i < want.Length; i++)
            if (BitConverter.SingleToInt32Bits(want[i]) != BitConverter.SingleToInt32Bits(got[i]))
                Assert.Fail($"{what}: element {i} = {got[i]:R}, expected {want[i]:R} (diff {got[i] - want[i]:R})");
    }
}
