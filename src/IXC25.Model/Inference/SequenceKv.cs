using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>
/// The KV caches of all decoder layers of one sequence, each a <see cref="KvLayer"/> of the model's
/// backend (native or device memory: dispose when done).
/// </summary>
public sealed class SequenceKv : IDisposable
{
    public SequenceKv(IGraphOps ops, int layers, int kvHeads, int headDim, DType storage, int maxTokens)
    {
        Layers = new KvLayer[layers];
        try
        {
            for (int i = 0; i < layers; i++) Layers[i] = ops.NewKvLayer(kvHeads, headDim, storage, maxTokens);
        }
        catch
        {
            Dispose();
            throw;
        }
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

    /// <summary>Makes this sequence hold the same tokens as <paramref name="source"/> (beam search forks and reassigns sequences).</summary>
    public void CopyFrom(SequenceKv source)
    {
        if (source.Layers.Length != Layers.Length) throw new ArgumentException($"caches of {source.Layers.Length} and {Layers.Length} layers");
        for (int i = 0; i < Layers.Length; i++) source.Layers[i].CopyTo(Layers[i]);
    }

    public void Dispose()
    {
        foreach (var l in Layers) l?.Dispose();
    }
}
