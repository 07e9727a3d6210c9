using IXC25.Graph;
using IXC25.Model;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;

namespace IXC25.Fuzz.Targets;

/// <summary>compare: two safetensors files split by <see cref="TwoParts"/> (A, then the reference B), compared
/// tensor by tensor as `ixc25 compare` does (the spec tap's tolerance class, else "exact").</summary>
public sealed class CompareTarget : IFuzzTarget
{
    public string Name => "compare";
    public string Description => "two .safetensors files (split at \"\\n--8<--\\n\"): `ixc25 compare`'s loop over NamedTensorComparer";

    /// <summary>1 MiB + 64 per input byte: two safetensors headers (see <see cref="SafetensorsTarget"/>); the comparison
    /// reads 64 elements at a time.</summary>
    public AllocationBudget Budget { get; } = new(Floor: 1 << 20, PerInputByte: 64);

    public void Execute(ReadOnlySpan<byte> data)
    {
        var (a, b) = TwoParts.Split(data);
        string dir = Scratch.Fresh();
        using var fa = new SafetensorsFile(Scratch.Write(dir, "a.safetensors", a));
        using var fb = new SafetensorsFile(Scratch.Write(dir, "b.safetensors", b));
        var set = ToleranceTable.Set;
        int compared = 0;
        foreach (var tb in fb.Tensors)
        {
            if (!fa.TryGet(tb.Name, out var ta)) continue;
            compared++;
            var tol = set.Get(Ixc25Taps.Find(tb.Name)?.Tolerance ?? "exact");
            _ = NamedTensorComparer.Compare(ta, tb, tol, chunkElements: 64).Text;
        }
        if (compared == 0) throw new IxcException("the two files have no tensor name in common");
    }
}
