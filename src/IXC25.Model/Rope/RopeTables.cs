using IXC25.Runtime;
using IXC25.Runtime.IO;

namespace IXC25.Model.Rope;

/// <summary>
/// The tables a rotary module holds after successive forward passes (`ixc25 rope-table` and the conformance
/// kit's rope surface): for each call k of total length calls[k], <c>call{k}.cos</c> and <c>call{k}.sin</c>
/// (F32 [P, D]) at the requested positions below calls[k], in request order.
/// </summary>
public static class RopeTables
{
    public static void Write(RotaryEmbedding rope, IReadOnlyList<long> calls, IReadOnlyList<long> positions, SafetensorsWriter w)
    {
        int D = rope.Config.HeadDim;
        for (int k = 0; k < calls.Count; k++)
        {
            if (calls[k] > int.MaxValue) throw new IxcException($"rope: call length {calls[k]} is too large");
            rope.BeginPass((int)calls[k]);
            var pos = positions.Where(p => p < calls[k]).ToArray();
            var cos = new float[pos.Length * D];
            var sin = new float[pos.Length * D];
            rope.Gather(pos, cos, sin);
            w.AddF32($"call{k}.cos", [pos.Length, D], cos);
            w.AddF32($"call{k}.sin", [pos.Length, D], sin);
        }
    }
}
