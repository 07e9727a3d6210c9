using System.Numerics;
using System.Runtime.InteropServices;

namespace IXC25.Tokenizer.SentencePiece;

/// <summary>
/// An open-addressing hash table from a piece's UTF-8 bytes to its id, looked up with byte spans of
/// the normalized input (no string allocation on the BPE hot path).
/// </summary>
internal sealed class PieceTable
{
    private readonly byte[][] keys;
    private readonly int[] slots; // piece id + 1; 0 = empty
    private readonly int mask;

    /// <summary>Length in bytes of the longest piece: a longer candidate cannot be a piece.</summary>
    public int MaxKeyLength { get; }

    public PieceTable(IReadOnlyList<Piece> pieces)
    {
        keys = new byte[pieces.Count][];
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, pieces.Count * 4));
        slots = new int[capacity];
        mask = capacity - 1;
        foreach (var p in pieces)
        {
            keys[p.Id] = p.Utf8;
            MaxKeyLength = Math.Max(MaxKeyLength, p.Utf8.Length);
            uint i = Hash(p.Utf8) & (uint)mask;
            while (slots[i] != 0) i = (i + 1) & (uint)mask;
            slots[i] = p.Id + 1;
        }
    }

    /// <summary>The id of the piece whose bytes equal <paramref name="key"/>, or -1.</summary>
    public int Find(ReadOnlySpan<byte> key)
    {
        if (key.Length > MaxKeyLength) return -1;
        uint i = Hash(key) & (uint)mask;
        while (true)
        {
            int s = slots[i];
            if (s == 0) return -1;
            if (keys[s - 1].AsSpan().SequenceEqual(key)) return s - 1;
            i = (i + 1) & (uint)mask;
        }
    }

    /// <summary>A multiplicative hash over 8-byte words (the table only needs a good spread, not stability).</summary>
    private static uint Hash(ReadOnlySpan<byte> key)
    {
        ulong h = 0x9E3779B97F4A7C15UL ^ (ulong)key.Length;
        while (key.Length >= 8)
        {
            h = (h ^ MemoryMarshal.Read<ulong>(key)) * 0xFF51AFD7ED558CCDUL;
            h ^= h >> 32;
            key = key[8..];
        }
        if (key.Length > 0)
        {
            ulong tail = 0;
            for (int i = 0; i < key.Length; i++) tail |= (ulong)key[i] << (8 * i);
            h = (h ^ tail) * 0xC4CEB9FE1A85EC53UL;
        }
        h ^= h >> 29;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 32;
        return (uint)h;
    }
}

/// <summary>
/// sentencepiece's <c>PrefixMatcher</c> over the USER_DEFINED pieces: at a position, the longest
/// user-defined piece that is a prefix of the rest of the input. A byte trie.
/// </summary>
internal sealed class UserDefinedMatcher
{
    private readonly Dictionary<int, int> children = []; // key node * 256 + byte -> child node
    private readonly List<bool> terminal = [false];
    private readonly bool[] firstByte = new bool[256];

    public UserDefinedMatcher(IEnumerable<Piece> userDefined)
    {
        foreach (var p in userDefined)
        {
            int node = 0;
            foreach (byte b in p.Utf8)
            {
                if (!children.TryGetValue(node * 256 + b, out int child))
                {
                    child = terminal.Count;
                    terminal.Add(false);
                    children[node * 256 + b] = child;
                }
                node = child;
            }
            terminal[node] = true;
            firstByte[p.Utf8[0]] = true;
        }
    }

    /// <summary>Length in bytes of the longest user-defined piece at the start of <paramref name="s"/>, or 0.</summary>
    public int Match(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || !firstByte[s[0]]) return 0;
        int node = 0, longest = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (!children.TryGetValue(node * 256 + s[i], out node)) break;
            if (terminal[node]) longest = i + 1;
        }
        return longest;
    }
}
