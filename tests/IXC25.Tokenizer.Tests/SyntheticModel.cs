using System.Text;
using IXC25.Tokenizer.SentencePiece;

namespace IXC25.Tokenizer.Tests;

/// <summary>
/// Builds small SentencePiece model protobufs by hand (the wire format, nothing else), to test the
/// encoder's rules on vocabularies where the answer is obvious, and the loader's checks.
/// </summary>
internal sealed class SyntheticModel
{
    private readonly List<(string Piece, float Score, PieceType Type)> pieces = [];

    public int ModelType { get; set; } = 2;
    public bool ByteFallback { get; set; } = true;
    public bool AddDummyPrefix { get; set; }
    public bool RemoveExtraWhitespaces { get; set; }
    public bool EscapeWhitespaces { get; set; } = true;
    public byte[] Charsmap { get; set; } = [];
    public bool WithBytes { get; set; } = true;

    /// <summary>&lt;unk&gt; (0), &lt;s&gt; (1), &lt;/s&gt; (2), then 256 byte pieces (3..258) when <see cref="WithBytes"/>.</summary>
    public SyntheticModel()
    {
        Add("<unk>", 0, PieceType.Unknown);
        Add("<s>", 0, PieceType.Control);
        Add("</s>", 0, PieceType.Control);
    }

    public SyntheticModel Add(string piece, float score, PieceType type = PieceType.Normal)
    {
        pieces.Add((piece, score, type));
        return this;
    }

    public byte[] ToBytes()
    {
        var all = new List<(string, float, PieceType)>(pieces.Take(3));
        if (WithBytes) all.AddRange(Enumerable.Range(0, 256).Select(b => ($"<0x{b:X2}>", 0f, PieceType.Byte)));
        all.AddRange(pieces.Skip(3));
        var m = new MemoryStream();
        foreach (var (p, s, t) in all)
        {
            var piece = new MemoryStream();
            Bytes(piece, 1, Encoding.UTF8.GetBytes(p));
            Key(piece, 2, 5); piece.Write(BitConverter.GetBytes(s));
            Varint(piece, 3, (ulong)t);
            Bytes(m, 1, piece.ToArray());
        }
        var trainer = new MemoryStream();
        Varint(trainer, 3, (ulong)ModelType);
        Varint(trainer, 35, ByteFallback ? 1UL : 0UL);
        Bytes(m, 2, trainer.ToArray());
        var norm = new MemoryStream();
        Bytes(norm, 1, "identity"u8.ToArray());
        Bytes(norm, 2, Charsmap);
        Varint(norm, 3, AddDummyPrefix ? 1UL : 0UL);
        Varint(norm, 4, RemoveExtraWhitespaces ? 1UL : 0UL);
        Varint(norm, 5, EscapeWhitespaces ? 1UL : 0UL);
        Bytes(m, 3, norm.ToArray());
        return m.ToArray();
    }

    public SentencePieceBpe Build() => new(SentencePieceModel.Parse(ToBytes(), "synthetic"));

    private static void Key(Stream s, int field, int wire) => RawVarint(s, (ulong)(field << 3 | wire));

    private static void Varint(Stream s, int field, ulong v) { Key(s, field, 0); RawVarint(s, v); }

    private static void Bytes(Stream s, int field, byte[] b) { Key(s, field, 2); RawVarint(s, (ulong)b.Length); s.Write(b); }

    private static void RawVarint(Stream s, ulong v)
    {
        while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        s.WriteByte((byte)v);
    }
}
