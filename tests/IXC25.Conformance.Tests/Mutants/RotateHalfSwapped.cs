using IXC25.Graph;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: rotate_half with its halves swapped, cat(x[half:], -x[:half]) instead of cat(-x[half:], x[:half]).
/// Then q * cos + rotate_half(q) * sin = q * cos - rotate_half_upstream(q) * sin: every query and key turns by
/// minus its angle, which is the engine's attention given -sin. Attention scores depend on the relative angle of
/// query and key, so one token alone does not show it.
/// </summary>
public sealed class RotateHalfSwapped : LayerMutant
{
    protected override DelegatingGraphOps Decorate(IGraphOps backend) => new Ops(backend);

    private sealed class Ops(IGraphOps inner) : DelegatingGraphOps(inner)
    {
        public override Act AttentionCached(Act qkv, Act cos, Act sin, KvLayer cache, AttentionCachedAttrs attrs)
        {
            var s = sin.ToArray<float>();
            for (int i = 0; i < s.Length; i++) s[i] = -s[i];
            var negated = Inner.Upload<float>(s, sin.Shape);
            try { return Inner.AttentionCached(qkv, cos, negated, cache, attrs); }
            finally { Inner.Release(negated); }
        }
    }
}
