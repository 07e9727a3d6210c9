using IXC25.Graph;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: wqkv's output de-interleaved as [q of all heads | k of all kv heads | v of all kv heads], where
/// upstream's layout is grouped per kv head: for each kv head g, its H/HKV query heads, then k_g, then v_g
/// (rearrange "b q (h gs d) -> b q h gs d", gs = 2 + H/HKV). The decorator moves each column of qkv to where the
/// engine's grouped split reads what the buggy split would take; with one head of each kind both layouts agree.
/// </summary>
public sealed class WqkvGqaOrder : LayerMutant
{
    protected override DelegatingGraphOps Decorate(IGraphOps backend) => new Ops(backend);

    private sealed class Ops(IGraphOps inner) : DelegatingGraphOps(inner)
    {
        public override Act AttentionCached(Act qkv, Act cos, Act sin, KvLayer cache, AttentionCachedAttrs attrs)
        {
            int H = attrs.Heads, HKV = attrs.KvHeads, D = attrs.HeadDim, G = H / HKV, W = (H + 2 * HKV) * D, T = qkv.Dim(0);
            var src = qkv.ToArray<float>();
            var dst = new float[src.Length];
            for (int g = 0; g < HKV; g++)
            {
                int group = g * (G + 2) * D;
                for (int j = 0; j < G; j++) Move(group + j * D, (g * G + j) * D);  // query head g*G+j
                Move(group + G * D, H * D + g * D);                                 // key head g
                Move(group + (G + 1) * D, (H + HKV) * D + g * D);                   // value head g
            }
            var wrong = Inner.Upload<float>(dst, qkv.Shape);
            try { return Inner.AttentionCached(wrong, cos, sin, cache, attrs); }
            finally { Inner.Release(wrong); }

            // the engine reads columns [grouped, grouped + D) where the buggy split reads [blocked, blocked + D)
            void Move(int grouped, int blocked)
            {
                for (int t = 0; t < T; t++)
                    Array.Copy(src, t * W + blocked, dst, t * W + grouped, D);
            }
        }
    }
}
