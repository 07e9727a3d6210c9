using IXC25.Backends.Reference;
using IXC25.Graph;
using IXC25.Runtime.Compare;

namespace IXC25.Backends.Tests;

/// <summary>Every scalar reference against PyTorch on every golden case, within the op's tolerance class.</summary>
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
        var c = OpGolden.Cases(op)[index];
        var info = OpCatalog.Find(op)!;
        // ports, or the contents of a cache port ("cache.k", "cache.v")
        var inputs = c.Tensors.Where(kv => info.Inputs.Any(p => p.Name == kv.Key || (p.IsCache && (kv.Key == p.Name + ".k" || kv.Key == p.Name + ".v"))))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var outputs = OpInvoker.Invoke(new RefGraphOps(), op, inputs, c.Attrs);
        var tol = ToleranceTable.Find(info.Tolerance)!;
        foreach (var o in outputs)
        {
            var expected = c.Tensors[o.Name];
            Assert.Equal(expected.Shape, o.Shape);
            var r = TensorComparer.Compare(o.ToFloat32(), expected.ToFloat32(), tol);
            Assert.True(r.Pass, $"{c} output '{o.Name}': {r}");
        }
    }
}
