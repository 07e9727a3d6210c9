using IXC25.Graph;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: Partial LoRA applied to every token, im_mask ignored (W x + B A x everywhere, where upstream
/// adds B A x only on image tokens).
/// </summary>
public sealed class PloraEveryToken : LayerMutant
{
    protected override DelegatingGraphOps Decorate(IGraphOps backend) => new Ops(backend);

    private sealed class Ops(IGraphOps inner) : DelegatingGraphOps(inner)
    {
        public override Act PloraLinear(Act x, Runtime.Tensors.NamedTensor weight, Runtime.Tensors.NamedTensor loraA, Runtime.Tensors.NamedTensor loraB, Act imMask, PloraLinearAttrs attrs)
        {
            var ones = new byte[imMask.Numel];
            Array.Fill(ones, (byte)1);
            var all = Inner.Upload<byte>(ones, imMask.Shape);
            try { return Inner.PloraLinear(x, weight, loraA, loraB, all, attrs); }
            finally { Inner.Release(all); }
        }
    }
}
