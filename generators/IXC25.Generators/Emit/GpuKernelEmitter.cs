using System.Collections.Generic;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

internal static class GpuKernelEmitter
{
    public static IEnumerable<(string HintName, string Source)> Emit(OpSet ops)
    {
        yield break;
    }
}
