using IXC25.Backends.Cpu;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>The KV caches of all decoder layers of one sequence (native memory for float32 storage: dispose when done).</summary>
public sealed class KvCache : IDisposable
{
    public KvCache(int layers, int kvHeads, int headDim, DType storage, int maxTokens)
    {
        Layers = new KvLayer[layers];
        for (int i = 0; i < layers; i++) Layers[i] = new KvLayer(kvHeads, headDim, storage, maxTokens);
    }

    public KvLayer[] Layers { get; }

    /// <summary>Tokens cached (the same in every layer between passes).</summary>
    public int Length => Layers.Length == 0 ? 0 : Layers[0].Length;

    public long Bytes => Layers.Sum(l => l.Bytes);

    /// <summary>Drops everything after the first <paramref name="length"/> tokens.</summary>
    public void Truncate(int length)
    {
        foreach (var l in Layers) l.Truncate(length);
    }

    /// <summary>A copy (beam search forks sequences).</summary>
    public KvCache Clone()
    {
        var layers = new KvLayer[Layers.Length];
        for (int i = 0; i < layers.Length; i++)
        {
            var l = Layers[i];
            layers[i] = new KvLayer(l.HKV, l.D, l.Storage, l.MaxTokens, Math.Max(1, l.Length));
            l.CopyTo(layers[i]);
        }
        return new KvCache(layers);
    }

    private KvCache(KvLayer[] layers) => Layers = layers;

    public void Dispose()
    {
        foreach (var l in Layers) l.Dispose();
    }
}
