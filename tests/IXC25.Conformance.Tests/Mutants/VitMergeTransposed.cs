using IXC25.Conformance.Engine;
using IXC25.Conformance.Protocol;
using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: the ViT 2x2 merge transposed. Each merged token should concatenate the patches (2i, 2j),
/// (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1) of its 2x2 cell (row-major); this port reads the cell column-major,
/// (2i, 2j), (2i+1, 2j), (2i, 2j+1), (2i+1, 2j+1), as a reshape with the two inner axes swapped does. The model
/// surface of the engine, run on a backend whose merge_gn has that bug (everything else is the engine's).
/// </summary>
public sealed class VitMergeTransposed() : BuggySurface("model")
{
    private readonly ModelEngine _engine = new(backend => new TransposedMergeOps(backend), tag: "+vit-merge-transposed");

    public override PortReply Handle(PortRequest request, EngineContext context) => _engine.Handle(request, context);
}

/// <summary>A backend whose merge_gn reads every 2x2 patch cell column-major (the features are transposed inside each cell first).</summary>
public sealed class TransposedMergeOps(IGraphOps inner) : DelegatingGraphOps(inner)
{
    public override Act MergeGn(Act features, NamedTensor subGn, NamedTensor glbGn, MergeGnAttrs attrs)
    {
        int n = features.Dim(0), p = features.Dim(1), cv = features.Dim(2), g = attrs.Grid;
        var src = features.ToArray<float>();
        var dst = new float[src.Length];
        for (int v = 0; v < n; v++)
            for (int r = 0; r < g; r++)
                for (int c = 0; c < g; c++)
                {
                    // the patch at (r, c) goes where its transpose within the 2x2 cell is: (r - r%2 + c%2, c - c%2 + r%2)
                    int tr = r - r % 2 + c % 2, tc = c - c % 2 + r % 2;
                    Array.Copy(src, ((long)v * p + r * g + c) * cv, dst, ((long)v * p + tr * g + tc) * cv, cv);
                }
        var swapped = Inner.Upload<float>(dst, n, p, cv);
        try { return Inner.MergeGn(swapped, subGn, glbGn, attrs); }
        finally { Inner.Release(swapped); }
    }
}
