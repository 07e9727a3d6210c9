using IXC25.Backends;
using IXC25.Graph;
using IXC25.GpuCheck.SelfTest;

namespace IXC25.GpuCheck.Tests;

/// <summary>The self-test's op table fails a backend that is wrong or not deterministic, and passes a correct one.</summary>
public sealed class OpTableCheckTests : IDisposable
{
    private readonly IOracleOps _reference = BackendFactory.Create("reference");
    private readonly IOracleOps _cpu = BackendFactory.Create("cpu", threads: 2);

    public void Dispose()
    {
        _reference.Dispose();
        _cpu.Dispose();
    }

    [Fact]
    public void ACorrectBackendPasses()
    {
        var r = OpTableCheck.Run(_cpu, "cpu", _reference, "rms_norm");
        Assert.True(r.Pass, r.ToString());
        Assert.Contains("cases within 'reduction' of the reference, second run bit-identical", r.Detail);
    }

    [Fact]
    public void AWrongResultFails()
    {
        using var wrong = new Perturbed(BackendFactory.Create("cpu", threads: 2), everyCall: true, relative: 1e-2f);
        var r = OpTableCheck.Run(wrong, "cpu", _reference, "rms_norm");
        Assert.False(r.Pass);
        Assert.Contains("vs reference (reduction)", r.Detail);
        Assert.StartsWith("FAIL  op rms_norm:", r.ToString());
    }

    [Fact]
    public void AResultThatChangesBetweenRunsFails()
    {
        // every second call one ulp off: within the tolerance, not bit-identical
        using var flaky = new Perturbed(BackendFactory.Create("cpu", threads: 2), everyCall: false, relative: 1.2e-7f);
        var r = OpTableCheck.Run(flaky, "cpu", _reference, "rms_norm");
        Assert.False(r.Pass);
        Assert.Contains("differs between two runs (not deterministic)", r.Detail);
        Assert.DoesNotContain("vs reference", r.Detail);
    }

    /// <summary>rms_norm's output scaled by (1 + relative), on every call or every second call.</summary>
    private sealed class Perturbed(IGraphOps inner, bool everyCall, float relative) : DelegatingGraphOps(inner)
    {
        private int _calls;

        public override Act RmsNorm(Act x, IXC25.Runtime.Tensors.NamedTensor weight, RmsNormAttrs attrs)
        {
            var y = Inner.RmsNorm(x, weight, attrs);
            if (!everyCall && _calls++ % 2 == 0) return y;
            var v = y.ToArray<float>();
            for (int i = 0; i < v.Length; i++) v[i] *= 1 + relative;
            var shape = (long[])y.Shape.Clone();
            Inner.Release(y);
            return Inner.Upload<float>(v, shape);
        }
    }
}
