using IXC25.Runtime.Tensors;

namespace IXC25.Fuzz.Targets;

/// <summary>Reads every byte of a tensor (and widens float tensors to f32) in small pieces, as a consumer of a loaded file would.</summary>
public static class TensorReader
{
    private const int Piece = 4096;

    /// <summary>A checksum of the tensor's contents (so that the reads are not optimized away).</summary>
    public static long ReadAll(NamedTensor t)
    {
        long sum = 0;
        long bytes = t.Data.ByteLength;
        for (long at = 0; at < bytes; at += Piece)
        {
            var s = t.ByteSlice(at, (int)Math.Min(Piece, bytes - at));
            foreach (byte b in s) sum += b;
        }
        if (t.DType.IsFloat())
        {
            Span<float> buf = stackalloc float[Piece / 4];
            long numel = t.Numel;
            for (long at = 0; at < numel; at += buf.Length)
            {
                var dst = buf[..(int)Math.Min(buf.Length, numel - at)];
                t.ReadFloat32(at, dst);
                foreach (float f in dst) sum += float.IsFinite(f) ? 1 : 0;
            }
        }
        return sum;
    }
}
