using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>
/// The task mode's LoRAs on top of any backend: for every Partial LoRA linear that has them, each
/// (A [R, IN], B [OUT, R]) pair adds (x A^T) B^T to every row, which equals merging W + B A at scale 1
/// (spec/model.json 'modes'); the products go through the backend's own linear and add, so no merged copy
/// of the weights is made. The other ops pass through unchanged.
/// </summary>
internal sealed class TaskLoraOps(IGraphOps inner) : DelegatingGraphOps(inner)
{
    /// <summary>The active mode's pairs by base weight (reference identity); null: none.</summary>
    public IReadOnlyDictionary<NamedTensor, (NamedTensor A, NamedTensor B)[]>? Pairs { get; set; }

    public override Act PloraLinear(Act x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, Act imMask, PloraLinearAttrs attrs)
    {
        var y = Inner.PloraLinear(x, weight, loraA, loraB, imMask, attrs);
        if (Pairs is null || !Pairs.TryGetValue(weight, out var pairs)) return y;
        foreach (var (a, b) in pairs)
        {
            // row_exact (a batched decode step): each row's LoRA products as if that row were alone
            var xa = Inner.Linear(x, a, null, new LinearAttrs { RowExact = attrs.RowExact });
            var xab = Inner.Linear(xa, b, null, new LinearAttrs { RowExact = attrs.RowExact });
            Inner.Release(xa);
            var sum = Inner.Add(y, xab, new AddAttrs());
            Inner.Release(xab);
            Inner.Release(y);
            y = sum;
        }
        return y;
    }
}
