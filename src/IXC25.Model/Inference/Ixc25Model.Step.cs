using IXC25.Graph;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

// The batched decode step: one new token for each of several sequences in one pass over the weights.
public sealed partial class Ixc25Model
{
    /// <summary>
    /// One decode step of B sequences at once: token <paramref name="ids"/>[b] is fed at the next position of
    /// <paramref name="caches"/>[b], whose rotary state is <paramref name="ropes"/>[b] (BeginPass(length + 1) as a pass of
    /// that token alone would). Returns logits [B, V]; row b is bit-identical to <see cref="ForwardTokens"/> of that token
    /// alone on that cache and rotary module, whatever the other rows (and the thread count).
    /// Per layer: the generated halves of decoder_layer (decoder_attn_in, decoder_attn_out) over all B rows with
    /// row_exact linears, so each weight matrix is read once per step for all sequences (the decode GEMV becomes a small
    /// GEMM); between them attention_cached per sequence on its own cache and position. Then llm_head over the B rows
    /// (row_exact). Generated tokens have no image positions (im_mask false). Not thread-safe (the model is not).
    /// </summary>
    public Act ForwardStep(ReadOnlySpan<long> ids, IReadOnlyList<SequenceKv> caches, IReadOnlyList<RotaryEmbedding> ropes)
    {
        int B = ids.Length, C = Dims.C, D = Dims.D;
        if (B < 1) throw new IxcException("a decode step needs at least one sequence");
        if (caches.Count != B || ropes.Count != B) throw new ArgumentException($"{B} tokens, {caches.Count} caches and {ropes.Count} rotary modules");
        var seen = new HashSet<SequenceKv>(ReferenceEqualityComparer.Instance);
        for (int b = 0; b < B; b++)
        {
            if (!seen.Add(caches[b])) throw new ArgumentException($"sequence {b} appears twice in one decode step");
            if ((long)caches[b].Length + 1 > Options.MaxContext)
                throw new IxcException($"context of {caches[b].Length + 1} tokens exceeds the maximum of {Options.MaxContext} (--max-context)");
        }
        var graph = Graph();
        var attention = new AttentionCachedAttrs { Heads = Dims.H, KvHeads = Dims.HKV, HeadDim = D };
        var cos = new Act[B];
        var sin = new Act[B];
        Act? x = null, mask = null;
        try
        {
            for (int b = 0; b < B; b++)
            {
                int past = caches[b].Length;
                ropes[b].BeginPass(past + 1);
                var c = new float[D];
                var s = new float[D];
                ropes[b].Gather([past], c, s);
                cos[b] = Ops.Upload<float>(c, 1, D);
                sin[b] = Ops.Upload<float>(s, 1, D);
            }
            x = EmbedTokens(graph, ids.ToArray());
            mask = Ops.Upload<byte>(new byte[B], B);
            for (int i = 0; i < Dims.L; i++)
            {
                var qkv = graph.DecoderAttnIn(i, true, x, mask);
                var ctx = Ops.Alloc(DType.F32, B, C);
                try
                {
                    for (int b = 0; b < B; b++)
                    {
                        var row = B == 1 ? qkv : Rows(qkv, b, 1);
                        try
                        {
                            var y = Ops.AttentionCached(row, cos[b], sin[b], caches[b].Layers[i], attention);
                            Ops.Copy(y, 0, ctx, (long)b * C, C);
                            Ops.Release(y);
                        }
                        finally
                        {
                            if (!ReferenceEquals(row, qkv)) Ops.Release(row);
                        }
                    }
                    var next = graph.DecoderAttnOut(i, true, x, ctx, mask);
                    Ops.Release(x);
                    x = next;
                }
                finally
                {
                    Ops.Release(qkv);
                    Ops.Release(ctx);
                }
            }
            return graph.LlmHead(true, x);
        }
        finally
        {
            if (x is not null) Ops.Release(x);
            if (mask is not null) Ops.Release(mask);
            foreach (var a in cos) if (a is not null) Ops.Release(a);
            foreach (var a in sin) if (a is not null) Ops.Release(a);
        }
    }
}
