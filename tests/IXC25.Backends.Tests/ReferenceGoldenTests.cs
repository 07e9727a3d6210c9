using IXC25.Backends.Reference;
using IXC25.Graph;
using IXC25.Runtime.Compare;

namespace IXC25.Backends.Tests;

/// <summary>
/// Every golden case of golden/ops (PyTorch) through OpInvoker on the reference backend and on the CPU backend,
/// within the op's tolerance class. The op table checks every backend against the reference on many more
/// shapes; these tie both CPU-side backends to PyTorch itself.
/// </summary>
public class ReferenceGoldenTests
{
    [Fact]
    public void EveryOpOfTheSpecHasGoldenCases()
    {
        foreach (var op in OpCatalog.All) Assert.True(OpGolden.Cases(op.Name).Count >= 2, $"op '{op.Name}' has fewer than 2 golden cases");
    }

    [Theory]
    [MemberData(nameof(OpGolden.AllCases), MemberType = typeof(OpGolden))]
    public void ReferenceMatchesPyTorch(string op, int index)
    {
        using var reference = new RefGraphOps();
        Check(reference, op, index);
    }

    /// <summary>The CPU backend (generated kernels at this process's best tier, GEMM and attention drivers) on the same cases; test.sh reruns it per ISA tier.</summary>
    [Theory]
    [Trait("Category", "Isa")]
    [MemberData(nameof(OpGolden.AllCases), MemberType = typeof(OpGolden))]
    public void CpuMatchesPyTorch(string op, int index)
    {
        using var cpu = BackendFactory.Create("cpu", threads: 2);
        Check(cpu, op, index);
    }

    private static void Check(IGraphOps ops, string op, int index)
    {
        var c = OpGolden.Cases(op)[index];
        var info = OpCatalog.Find(op)!;
        // ports, or the contents of a cache port ("cache.k", "cache.v")
        var inputs = c.Tensors.Where(kv => info.Inputs.Any(p => p.Name == kv.Key || (p.IsCache && (kv.Key == p.Name + ".k" || kv.Key == p.Name + ".v"))))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var outputs = OpInvoker.Invoke(ops, op, inputs, c.Attrs);
        var tol = ToleranceTable.Find(info.Tolerance)!;
        foreach (var o in outputs)
        {
            var expected = c.Tensors[o.Name];
            Assert.Equal(expected.Shape, o.Shape);
            var r = TensorComparer.Compare(o.ToFloat32(), expected.ToFloat32(), tol);
            Assert.True(r.Pass, $"{c} on {ops.Name}, output '{o.Name}': {r}");
        }
    }
}
