using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;

namespace IXC25.Runtime.Tests;

/// <summary>The drift metrics (ixc25 drift) against the same definitions in torch float64 (golden/quant/drift).</summary>
public class DriftMetricsTests
{
    private static SafetensorsFile Open(string name) => new(RepoLayout.Path("golden", "quant", "drift", name + ".safetensors"));

    private static void Close(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{what}: {actual:R}, torch {expected:R}");

    [Fact]
    public void TensorAndLogitsMetricsEqualTheTorchComputation()
    {
        using var r = Open("drift_ref");
        using var q = Open("drift_quant");
        using var e = Open("drift_expected");
        foreach (var name in new[] { "llm.layer.0.output", "llm.norm", "llm.logits" })
        {
            var d = DriftMetrics.Tensor(q[name].ToFloat32(), r[name].ToFloat32());
            Close(e[name + ".nmse"].AsSpan<double>()[0], d.Nmse, name + " nmse");
            Close(e[name + ".max_abs"].AsSpan<double>()[0], d.MaxAbs, name + " max_abs");
        }
        var rl = r["llm.logits"].ToFloat32();
        var ql = q["llm.logits"].ToFloat32();
        int rows = (int)r["llm.logits"].Shape[0], V = (int)r["llm.logits"].Shape[1];
        var kl = e["kl"].AsSpan<double>().ToArray();
        var top1 = e["top1"].AsSpan<byte>().ToArray();
        var rank = e["rank"].AsSpan<long>().ToArray();
        var tok = e["ref_token"].AsSpan<long>().ToArray();
        for (int t = 0; t < rows; t++)
        {
            var m = DriftMetrics.Logits(ql.AsSpan(t * V, V), rl.AsSpan(t * V, V));
            Close(kl[t], m.Kl, $"kl[{t}]");
            Assert.Equal(top1[t] != 0, m.Top1);
            Assert.Equal(rank[t], m.Rank);
            Assert.Equal(tok[t], m.RefToken);
        }
        Assert.Contains(top1, x => x == 0); // the golden holds disagreements (a test that can fail)
    }

    [Fact]
    public void NonFiniteInputsGiveNaNNotANumber()
    {
        Assert.True(double.IsNaN(DriftMetrics.Logits([1f, float.NaN], [1f, 2f]).Kl));
        Assert.True(double.IsNaN(DriftMetrics.Tensor([float.NaN, 1f], [1f, 1f]).Nmse));
        Assert.True(double.IsNaN(DriftMetrics.Tensor([float.NaN, 1f], [1f, 1f]).MaxAbs));
        Assert.Equal(0, DriftMetrics.Tensor([0f, 0f], [0f, 0f]).Nmse);
        Assert.True(double.IsPositiveInfinity(DriftMetrics.Tensor([1f, 0f], [0f, 0f]).Nmse));
        Assert.Throws<IxcException>(() => DriftMetrics.Tensor([1f], [1f, 2f]));
    }
}
