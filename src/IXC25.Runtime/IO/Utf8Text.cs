using System.Text;

namespace IXC25.Runtime.IO;

/// <summary>UTF-8 validation of text read from files, so that a reader can refuse bad bytes with their position
/// instead of failing later when a JSON string or name is decoded.</summary>
public static class Utf8Text
{
    /// <summary>The offset of the first byte that does not start a valid UTF-8 sequence, or null when all of <paramref name="bytes"/> is valid.</summary>
    public static int? FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return null;
        int i = 0;
        while (i < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out int used) != System.Buffers.OperationStatus.Done) return i;
            i += used;
        }
        return null;
    }
}
