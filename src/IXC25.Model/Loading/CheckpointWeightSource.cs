using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Loading;

/// <summary>Presents an open checkpoint to the spec's weight binding.</summary>
public sealed class CheckpointWeightSource(ICheckpoint checkpoint) : IWeightSource
{
    public string Description => checkpoint.Directory;
    public IReadOnlyCollection<string> Names => checkpoint.Names;

    public bool TryGetInfo(string name, out DType dtype, out long[] shape)
    {
        if (!checkpoint.Contains(name)) { dtype = default; shape = []; return false; }
        var info = checkpoint.GetInfo(name);
        dtype = info.DType;
        shape = info.Shape;
        return true;
    }

    public NamedTensor Get(string name) => checkpoint.Get(name);
}
