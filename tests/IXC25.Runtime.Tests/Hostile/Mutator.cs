using System.Text;

namespace IXC25.Tests.Hostile;

/// <summary>
/// Mutations of a valid input, each with a one-line description that replays it: bit flips, byte
/// overwrites, truncations, a number in the text region replaced by a hostile one (0, -1, 2^31, 2^63,
/// 10^20, ...), invalid UTF-8 inserted into the text region, and deep JSON nesting. The "text region"
/// is the part of the file that holds a header (the JSON of a safetensors file, a whole JSON file);
/// the other mutations hit anywhere, or in <see cref="Focus"/> when one is set.
/// Shared by the hostile-input properties of every test project (linked, not copied).
/// </summary>
internal sealed class Mutator(byte[] original, int textStart = 0, int textEnd = -1)
{
    public static readonly string[] HostileNumbers =
        ["0", "-1", "1", "2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
         "18446744073709551616", "100000000000000000000", "-9223372036854775808", "1e400", "1.5", "-0", "1e-400"];

    private static readonly byte[][] BadUtf8 =
        [[0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82]];

    private readonly int _textEnd = textEnd < 0 ? original.Length : textEnd;

    /// <summary>Where byte-level damage is aimed half of the time (e.g. the pickle inside a zip); whole file when null.</summary>
    public (int Start, int End)? Focus { get; init; }

    /// <summary>1 to 3 mutations chosen by <paramref name="rng"/>; the description lists them in order.</summary>
    public (byte[] Bytes, string Description) Next(Random rng)
    {
        var b = new List<byte>(original);
        int textEnd = _textEnd;
        var what = new List<string>();
        int count = 1 + rng.Next(3);
        for (int i = 0; i < count && b.Count > 0; i++)
        {
            switch (rng.Next(8))
            {
                case 0:
                    {
                        int p = Pos(rng, b.Count), bit = rng.Next(8);
                        b[p] ^= (byte)(1 << bit);
                        what.Add($"flip bit {bit} of byte {p}");
                        break;
                    }
                case 1:
                    {
                        int p = Pos(rng, b.Count);
                        byte v = rng.Next(3) switch { 0 => 0, 1 => 0xFF, _ => (byte)rng.Next(256) };
                        b[p] = v;
                        what.Add($"byte {p} := 0x{v:X2}");
                        break;
                    }
                case 2:
                    {
                        int n = rng.Next(b.Count);
                        b.RemoveRange(n, b.Count - n);
                        textEnd = Math.Min(textEnd, n);
                        what.Add($"truncate to {n} bytes");
                        break;
                    }
                case 3:
                case 4:
                    {
                        var runs = NumberRuns(b, textStart, textEnd);
                        if (runs.Count == 0) goto case 0;
                        var (s, e) = runs[rng.Next(runs.Count)];
                        string n = HostileNumbers[rng.Next(HostileNumbers.Length)];
                        string old = Encoding.ASCII.GetString(b.GetRange(s, e - s).ToArray());
                        b.RemoveRange(s, e - s);
                        b.InsertRange(s, Encoding.ASCII.GetBytes(n));
                        textEnd += n.Length - (e - s);
                        what.Add($"number {old} at byte {s} := {n}");
                        break;
                    }
                case 5:
                    {
                        if (textEnd <= textStart) goto case 1;
                        int p = textStart + rng.Next(textEnd - textStart);
                        var bad = BadUtf8[rng.Next(BadUtf8.Length)];
                        b.InsertRange(p, bad);
                        textEnd += bad.Length;
                        what.Add($"insert invalid UTF-8 {Convert.ToHexString(bad)} at byte {p}");
                        break;
                    }
                case 6:
                    {
                        if (textEnd <= textStart) goto case 1;
                        int p = textStart + rng.Next(textEnd - textStart);
                        int depth = rng.Next(2) == 0 ? 20 + rng.Next(50) : 100 + rng.Next(5000);
                        char open = rng.Next(2) == 0 ? '[' : '{';
                        string nest = open == '['
                            ? new string('[', depth) + new string(']', depth)
                            : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "0" + new string('}', depth);
                        var bytes = Encoding.ASCII.GetBytes(nest);
                        b.InsertRange(p, bytes);
                        textEnd += bytes.Length;
                        what.Add($"insert {depth}-deep {open} nesting at byte {p}");
                        break;
                    }
                default:
                    {
                        int p = Pos(rng, b.Count), n = 1 + rng.Next(Math.Min(16, b.Count - p));
                        b.RemoveRange(p, n);
                        if (p < textEnd) textEnd = Math.Max(p, textEnd - n);
                        what.Add($"delete {n} bytes at {p}");
                        break;
                    }
            }
        }
        return (b.ToArray(), string.Join("; ", what));
    }

    private int Pos(Random rng, int length)
    {
        if (Focus is { } f && rng.Next(2) == 0 && f.Start < Math.Min(f.End, length))
            return f.Start + rng.Next(Math.Min(f.End, length) - f.Start);
        return rng.Next(length);
    }

    /// <summary>Maximal runs of ASCII digits (with a leading minus) in [start, end).</summary>
    private static List<(int Start, int End)> NumberRuns(List<byte> b, int start, int end)
    {
        var runs = new List<(int, int)>();
        end = Math.Min(end, b.Count);
        for (int i = start; i < end; i++)
        {
            if (b[i] is < (byte)'0' or > (byte)'9') continue;
            int s = i > start && b[i - 1] == '-' ? i - 1 : i;
            while (i < end && b[i] is >= (byte)'0' and <= (byte)'9') i++;
            runs.Add((s, i));
        }
        return runs;
    }
}
