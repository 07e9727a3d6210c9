using IXC25.GpuCheck.Bench;
using IXC25.Runtime;

namespace IXC25.GpuCheck.Tests;

/// <summary>The bench's FLOP and byte counts at 7B dimensions, against the numbers worked out by hand (bench/gpu/dims.json "7b").</summary>
public class WorkCountsTests
{
    private static Workloads W7b => Workloads.Load("7b", RepoLayout.Path("bench", "gpu", "dims.json"));

    [Fact]
    public void TheSevenBPresetHasInternLM2AndViTLDimensions()
    {
        var w = W7b;
        Assert.Equal((4096, 32, 8, 128, 14336, 92544, 6144), (w.C, w.H, w.HKV, w.D, w.F, w.V, w.QKV));
        Assert.Equal((1024, 16, 4096, 1601), (w.CV, w.HV, w.FV, w.VitTokens));
        Assert.Equal(["prefill-512", "prefill-4096", "decode-1024", "decode-16384", "vit-1601", "head-1"], BenchCase.Of(w).Select(c => c.Name));
    }

    [Fact]
    public void PrefillIsTwoFlopsPerWeightAndTokenPlusTheVisibleCausalPairs()
    {
        // wqkv 6144x4096 + wo 4096x4096 + w1, w3 14336x4096 + w2 4096x14336 = 218,103,808 weights;
        // 2 * 218,103,808 * 512 + 4 * 32 * 128 * (512 * 513 / 2)
        Assert.Equal(218_103_808, WorkCounts.DecoderParams(W7b));
        Assert.Equal(225_489_977_344, WorkCounts.Flops(W7b, new BenchCase(CaseKind.Prefill, 512, 0)));
        // decode: one token sees the 1024 cached keys and itself
        Assert.Equal(2.0 * 218_103_808 + 4.0 * 32 * 128 * 1025, WorkCounts.Flops(W7b, new BenchCase(CaseKind.Decode, 1, 1024)));
    }

    [Fact]
    public void ViTLayerAndHead()
    {
        // q, k, v, out 1024x1024 + fc1, fc2 1024x4096 = 12,582,912 weights; attention over all 1601^2 pairs
        Assert.Equal(50_789_355_520, WorkCounts.Flops(W7b, new BenchCase(CaseKind.Vit, 1601, 0)));
        Assert.Equal(758_120_448, WorkCounts.Flops(W7b, new BenchCase(CaseKind.Head, 1, 0)));
        // bf16 weights, biases and norms, f32 activations in and out
        Assert.Equal(38_307_840, WorkCounts.Bytes(W7b, new BenchCase(CaseKind.Vit, 1601, 0), 2, 4, 4));
    }

    [Fact]
    public void DecodeReadsEveryWeightAndTheWholeCacheOnce()
    {
        // bf16 weights and norms, f32 keys and values of 16384 past tokens read and one written, f32 input and output
        Assert.Equal(2.0 * (218_103_808 + 2 * 4096) + 4.0 * 2 * 8 * 128 * 16385 + 4.0 * 2 * 4096,
            WorkCounts.Bytes(W7b, new BenchCase(CaseKind.Decode, 1, 16384), weightBytes: 2, kvBytes: 4, actBytes: 4));
        Assert.Equal(570_482_688, WorkCounts.Bytes(W7b, new BenchCase(CaseKind.Decode, 1, 16384), 2, 4, 4));
        Assert.Equal(2.0 * (92544.0 * 4096 + 4096) + 4.0 * 4096 + 4.0 * 92544, WorkCounts.Bytes(W7b, new BenchCase(CaseKind.Head, 1, 0), 2, 4, 4));
    }

    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3", 3.35, 989)]
    [InlineData("NVIDIA H100 PCIe", 2.0, 756)]
    [InlineData("NVIDIA H100 NVL", 3.9, 835)]
    [InlineData("NVIDIA H200", 4.8, 989)]
    [InlineData("gpu (ilgpu NVIDIA H100 80GB HBM3 (Cuda) + cpu)", 3.35, 989)]
    [InlineData("NVIDIA A100-SXM4-80GB", 2.039, 312)]
    [InlineData("NVIDIA L40", 0.864, 181)]
    [InlineData("NVIDIA L4", 0.3, 121)]
    public void DevicePeaksComeFromTheTableByName(string device, double tbps, double tflops)
    {
        var p = DevicePeaks.Lookup(device, RepoLayout.Path("bench", "gpu", "dims.json"));
        Assert.NotNull(p);
        Assert.Equal(tbps * 1e12, p.BandwidthBytesPerS, 1e-3);
        Assert.Equal(tflops * 1e12, p.Bf16FlopsPerS!.Value, 1e-3);
    }

    [Fact]
    public void AnUnknownDeviceHasNoPeaks() =>
        Assert.Null(DevicePeaks.Lookup("gpu-sim (ilgpu CPUAccelerator (CPU) + cpu)", RepoLayout.Path("bench", "gpu", "dims.json")));

    [Fact]
    public void AnUnknownPresetIsAOneLineError()
    {
        var e = Assert.Throws<IxcException>(() => Workloads.Load("70b", RepoLayout.Path("bench", "gpu", "dims.json")));
        Assert.Contains("--dims 70b: not a preset", e.Message);
        Assert.Contains("7b, small", e.Message);
    }
}
