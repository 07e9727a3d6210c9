namespace IXC25.Fuzz.Targets;

/// <summary>
/// How the two-file targets (compare, config) split one input: at the first occurrence of
/// <see cref="Separator"/> when there is one, else in the middle. A separator keeps the split stable
/// under AFL's length-changing mutations; seeds are written with it.
/// </summary>
public static class TwoParts
{
    /// <summary>The bytes "\n--8&lt;--\n".</summary>
    public static ReadOnlySpan<byte> Separator => "\n--8<--\n"u8;

    public static (byte[] First, byte[] Second) Split(ReadOnlySpan<byte> data)
    {
        int at = data.IndexOf(Separator);
        if (at >= 0) return (data[..at].ToArray(), data[(at + Separator.Length)..].ToArray());
        int half = data.Length / 2;
        return (data[..half].ToArray(), data[half..].ToArray());
    }

    public static byte[] Join(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second) => [.. first, .. Separator, .. second];
}
