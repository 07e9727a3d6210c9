using System.Diagnostics.CodeAnalysis;
using IXC25.Runtime.Tensors;

namespace IXC25.Graph;

/// <summary>
/// The one route an op takes when the spec's lowering table gives it to another backend (the generated
/// adapters call it for every op their backend does not implement): activations the target backend does not
/// own (<see cref="IGraphOps.Owns"/>) are moved to it (<see cref="Act.Read{T}"/>, then its
/// <see cref="IGraphOps.Upload{T}"/>) and given back after the call; results the owner does not own are moved
/// back the same way. Between two host backends every tensor is taken as it is: no copy. Weights are passed as
/// stored; a KV cache is passed as it is (it belongs to the backend that made it, which checks it).
/// </summary>
public sealed class FallbackRoute(IGraphOps owner, IOracleOps target)
{
    /// <summary>The backend the op runs on.</summary>
    public IOracleOps Target { get; } = target;

    /// <summary><paramref name="a"/> as the target takes it (itself when the target owns it).</summary>
    [return: NotNullIfNotNull(nameof(a))]
    public Act? In(Act? a) => a is null || Target.Owns(a) ? a : Move(a, Target);

    /// <summary>Gives back what <see cref="In"/> moved (nothing when it passed the tensor as it was).</summary>
    public void Done(Act? given, Act? passed)
    {
        if (passed is not null && !ReferenceEquals(given, passed)) Target.Release(passed);
    }

    /// <summary>A result of the target as the owner returns it (itself when the owner owns it).</summary>
    public Act Out(Act result)
    {
        if (owner.Owns(result)) return result;
        var moved = Move(result, owner);
        Target.Release(result);
        return moved;
    }

    private static Act Move(Act a, IGraphOps to) => a.DType switch
    {
        DType.F32 => to.Upload<float>(a.ToArray<float>(), (long[])a.Shape.Clone()),
        DType.U8 => to.Upload<byte>(a.ToArray<byte>(), (long[])a.Shape.Clone()),
        _ => to.Upload<long>(a.ToArray<long>(), (long[])a.Shape.Clone()),
    };
}
