namespace IXC25.Tokenizer.SentencePiece;

/// <summary>
/// sentencepiece's own UTF-8 rules (<c>util.h</c>/<c>util.cc</c>: <c>OneCharLen</c>, <c>DecodeUTF8</c>,
/// <c>IsValidDecodeUTF8</c>), which differ from .NET's decoder on malformed input: an invalid sequence
/// is rejected one byte at a time (each bad byte becomes its own U+FFFD), where .NET replaces a
/// "maximal subpart" (e.g. a truncated 3-byte sequence) with a single U+FFFD.
/// </summary>
internal static class Utf8Rules
{
    /// <summary>U+FFFD REPLACEMENT CHARACTER in UTF-8.</summary>
    public static ReadOnlySpan<byte> Replacement => [0xEF, 0xBF, 0xBD];

    /// <summary>The length of the character starting with <paramref name="lead"/>, judged by its high nibble only.</summary>
    public static int OneCharLen(byte lead) => (lead >> 4) switch
    {
        <= 0xB => 1,
        0xC or 0xD => 2,
        0xE => 3,
        _ => 4,
    };

    /// <summary>
    /// Decodes one character at the start of <paramref name="s"/> (non-empty). Returns true with its
    /// length when it is well-formed (shortest form, not a surrogate, at most U+10FFFF; a literal
    /// U+FFFD counts as valid); otherwise false with length 1.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> s, out int length)
    {
        byte b0 = s[0];
        if (b0 < 0x80) { length = 1; return true; }
        int len = s.Length;
        if (len >= 2 && (b0 & 0xE0) == 0xC0)
        {
            int cp = ((b0 & 0x1F) << 6) | (s[1] & 0x3F);
            if (IsTrail(s[1]) && cp >= 0x80) { length = 2; return true; }
        }
        else if (len >= 3 && (b0 & 0xF0) == 0xE0)
        {
            int cp = ((b0 & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
            if (IsTrail(s[1]) && IsTrail(s[2]) && cp >= 0x800 && IsValidCodepoint(cp)) { length = 3; return true; }
        }
        else if (len >= 4 && (b0 & 0xF8) == 0xF0)
        {
            int cp = ((b0 & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
            if (IsTrail(s[1]) && IsTrail(s[2]) && IsTrail(s[3]) && cp >= 0x10000 && IsValidCodepoint(cp)) { length = 4; return true; }
        }
        length = 1;
        return false;
    }

    private static bool IsTrail(byte b) => (b & 0xC0) == 0x80;

    private static bool IsValidCodepoint(int cp) => cp < 0xD800 || (cp >= 0xE000 && cp <= 0x10FFFF);
}
