using System.Security.Cryptography;
using System.Text;

namespace IXC25.Cli.Batch;

/// <summary>
/// A request id as one folder name (the --trace DIR/&lt;name&gt;/ of docs/BATCH.md): ASCII letters, digits,
/// '-', '_' and '.' (not first) stay; every other UTF-8 byte becomes %XX (so '/', '\', "..", control
/// characters and '%' itself cannot appear: no path traversal, no hidden names, and two ids never share a
/// name). A name longer than <see cref="MaxLength"/> keeps its first characters and ends in '~' and 16 hex
/// digits of the SHA-256 of the id ('~' never comes out of the encoding).
/// </summary>
internal static class SafeFileName
{
    public const int MaxLength = 120;

    public static string For(string id)
    {
        var sb = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(id))
        {
            char c = (char)b;
            bool keep = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' || (c == '.' && sb.Length > 0);
            if (keep) sb.Append(c);
            else sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (sb.Length <= MaxLength) return sb.ToString();
        int cut = MaxLength - 17;
        while (cut > 0 && (sb[cut - 1] == '%' || (cut >= 2 && sb[cut - 2] == '%'))) cut--; // never half an escape
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..16];
        return sb.ToString(0, cut) + "~" + hash;
    }
}
