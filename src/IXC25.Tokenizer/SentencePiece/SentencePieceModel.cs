using System.Text;
using IXC25.Runtime;

namespace IXC25.Tokenizer.SentencePiece;

/// <summary>The type of a vocabulary piece (<c>ModelProto.SentencePiece.Type</c>).</summary>
public enum PieceType
{
    /// <summary>An ordinary piece, produced by BPE merges.</summary>
    Normal = 1,
    /// <summary>The unknown piece (<c>&lt;unk&gt;</c>); with byte fallback it is never produced.</summary>
    Unknown = 2,
    /// <summary>A control piece (<c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>): never matched in text, decodes to nothing.</summary>
    Control = 3,
    /// <summary>A piece matched atomically in the input before BPE (InternLM2: <c>[UNUSED_TOKEN_*]</c>, full-width letters, <c>——</c>, <c>……</c>).</summary>
    UserDefined = 4,
    /// <summary>An unused piece (sentencepiece re-splits it after BPE); InternLM2 has none and we reject models that do.</summary>
    Unused = 5,
    /// <summary>A byte-fallback piece <c>&lt;0xNN&gt;</c>.</summary>
    Byte = 6,
}

/// <summary>One vocabulary entry: its text, UTF-8 bytes, BPE merge score and type.</summary>
public sealed record Piece(int Id, string Text, byte[] Utf8, float Score, PieceType Type);

/// <summary>
/// A parsed <c>tokenizer.model</c> (SentencePiece <c>ModelProto</c>), read directly from the protobuf
/// bytes. Only the configuration InternLM2 uses is accepted: a BPE model with byte fallback, the
/// identity normalizer (no precompiled character map), no dummy prefix, no removal of extra
/// whitespace, whitespace escaped as U+2581, whitespace as prefix. Anything else is rejected with a
/// clear error rather than encoded differently from sentencepiece.
/// </summary>
public sealed class SentencePieceModel
{
    /// <summary>The meta symbol that stands for a space inside pieces (U+2581, LOWER ONE EIGHTH BLOCK).</summary>
    public const char SpaceSymbol = '\u2581';

    /// <summary>sentencepiece's default surface for the unknown piece when decoding (" ⁇ ").</summary>
    public const string DefaultUnknownSurface = " \u2047 ";

    private readonly Dictionary<string, int> idByText;

    public IReadOnlyList<Piece> Pieces { get; }

    /// <summary>Vocabulary size V.</summary>
    public int Count => Pieces.Count;

    public int UnknownId { get; }

    /// <summary><c>trainer_spec.bos_id</c> (default 1).</summary>
    public int BosId { get; }

    /// <summary><c>trainer_spec.eos_id</c> (default 2).</summary>
    public int EosId { get; }

    /// <summary>Text the decoder emits for the unknown piece (<c>trainer_spec.unk_surface</c>).</summary>
    public string UnknownSurface { get; }

    /// <summary>The 256 byte-fallback piece ids, indexed by byte value.</summary>
    public IReadOnlyList<int> ByteIds { get; }

    /// <summary>Where the model was read from (for error messages).</summary>
    public string Source { get; }

    private SentencePieceModel(List<Piece> pieces, int bosId, int eosId, string unknownSurface, string source)
    {
        Source = source;
        Pieces = pieces;
        BosId = bosId;
        EosId = eosId;
        UnknownSurface = unknownSurface;
        idByText = new Dictionary<string, int>(pieces.Count, StringComparer.Ordinal);
        int unk = -1;
        var bytes = new int[256];
        Array.Fill(bytes, -1);
        foreach (var p in pieces)
        {
            if (p.Text.Length == 0) throw new IxcException($"{source}: piece {p.Id} is empty");
            if (!idByText.TryAdd(p.Text, p.Id)) throw new IxcException($"{source}: piece '{p.Text}' (id {p.Id}) is defined twice");
            switch (p.Type)
            {
                case PieceType.Unknown:
                    if (unk >= 0) throw new IxcException($"{source}: more than one unknown piece (ids {unk} and {p.Id})");
                    unk = p.Id;
                    break;
                case PieceType.Unused:
                    throw new IxcException($"{source}: piece {p.Id} '{p.Text}' is of type UNUSED, which this encoder does not implement (InternLM2 has none)");
                case PieceType.Byte:
                    int b = ParseBytePiece(p.Text);
                    if (b < 0) throw new IxcException($"{source}: byte piece {p.Id} '{p.Text}' is not of the form <0xNN>");
                    if (bytes[b] >= 0) throw new IxcException($"{source}: byte 0x{b:X2} has two pieces");
                    bytes[b] = p.Id;
                    break;
                case PieceType.Normal or PieceType.Control or PieceType.UserDefined:
                    break;
                default:
                    throw new IxcException($"{source}: piece {p.Id} has unknown type {(int)p.Type}");
            }
        }
        if (unk < 0) throw new IxcException($"{source}: the model has no unknown piece");
        int missing = Array.IndexOf(bytes, -1);
        if (missing >= 0) throw new IxcException($"{source}: byte fallback needs 256 byte pieces, 0x{missing:X2} is missing");
        UnknownId = unk;
        ByteIds = bytes;
        // sentencepiece writes -1 for "no such token"; this encoder needs both (InternLM2 has them), so a negative id is refused too
        if (bosId < 0 || eosId < 0 || bosId >= pieces.Count || eosId >= pieces.Count)
            throw new IxcException($"{source}: bos_id {bosId} / eos_id {eosId} outside the vocabulary of {pieces.Count}");
    }

    /// <summary>The id of the piece with this exact text, or -1.</summary>
    public int IdOf(string pieceText) => idByText.TryGetValue(pieceText, out int id) ? id : -1;

    /// <summary>Reads and validates a <c>tokenizer.model</c> file.</summary>
    public static SentencePieceModel Load(string path)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IxcException($"{path}: cannot read the tokenizer model ({e.Message})", e);
        }
        return Parse(data, path);
    }

    /// <summary>Parses and validates the protobuf bytes of a SentencePiece model.</summary>
    public static SentencePieceModel Parse(ReadOnlySpan<byte> data, string source)
    {
        var pieces = new List<Piece>(100_000);
        var trainer = new TrainerSpec();
        var normalizer = new NormalizerSpec();
        bool hasNormalizer = false, hasDenormalizer = false;
        var denormalizer = new NormalizerSpec();
        var r = new ProtobufReader(data, source);
        while (!r.End)
        {
            var (field, wire) = r.ReadKey();
            switch (field, wire)
            {
                case (1, 2): pieces.Add(ReadPiece(r.ReadLengthDelimited(), pieces.Count, source)); break;
                case (2, 2): trainer = ReadTrainerSpec(r.ReadLengthDelimited(), source); break;
                case (3, 2): normalizer = ReadNormalizerSpec(r.ReadLengthDelimited(), source); hasNormalizer = true; break;
                case (5, 2): denormalizer = ReadNormalizerSpec(r.ReadLengthDelimited(), source); hasDenormalizer = true; break;
                default: r.Skip(wire); break;
            }
        }
        if (pieces.Count == 0) throw new IxcException($"{source}: the model has no pieces (not a SentencePiece model?)");
        if (trainer.ModelType != 2)
            throw new IxcException($"{source}: model_type {trainer.ModelType} is not BPE (2); only SentencePiece-BPE models are supported");
        if (!trainer.ByteFallback)
            throw new IxcException($"{source}: byte_fallback is off; this encoder implements the byte-fallback BPE of InternLM2 only");
        if (trainer.TreatWhitespaceAsSuffix)
            throw new IxcException($"{source}: treat_whitespace_as_suffix is set; not supported");
        if (!hasNormalizer) throw new IxcException($"{source}: the model has no normalizer_spec");
        if (normalizer.PrecompiledCharsmapLength != 0)
            throw new IxcException($"{source}: normalizer '{normalizer.Name}' has a precompiled charsmap (a normalization rule); only the identity normalizer is supported");
        if (normalizer.AddDummyPrefix)
            throw new IxcException($"{source}: add_dummy_prefix is on; only models without a dummy prefix are supported");
        if (normalizer.RemoveExtraWhitespaces)
            throw new IxcException($"{source}: remove_extra_whitespaces is on; only models that keep whitespace are supported");
        if (!normalizer.EscapeWhitespaces)
            throw new IxcException($"{source}: escape_whitespaces is off; not supported");
        if (hasDenormalizer && denormalizer.PrecompiledCharsmapLength != 0)
            throw new IxcException($"{source}: the model has a denormalizer; not supported");
        return new SentencePieceModel(pieces, trainer.BosId, trainer.EosId, trainer.UnknownSurface, source);
    }

    /// <summary>Byte value of a <c>&lt;0xNN&gt;</c> piece (upper-case hex, as sentencepiece writes it), or -1.</summary>
    public static int ParseBytePiece(string text)
    {
        if (text.Length != 6 || !text.StartsWith("<0x", StringComparison.Ordinal) || text[5] != '>') return -1;
        int hi = Hex(text[3]), lo = Hex(text[4]);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        static int Hex(char c) => c is >= '0' and <= '9' ? c - '0' : c is >= 'A' and <= 'F' ? c - 'A' + 10 : -1;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private static Piece ReadPiece(ReadOnlySpan<byte> data, int id, string source)
    {
        var r = new ProtobufReader(data, source);
        byte[] text = [];
        float score = 0;
        var type = PieceType.Normal;
        while (!r.End)
        {
            var (field, wire) = r.ReadKey();
            switch (field, wire)
            {
                case (1, 2): text = r.ReadLengthDelimited().ToArray(); break;
                case (2, 5): score = r.ReadFixed32Float(); break;
                case (3, 0): type = (PieceType)(int)r.ReadVarint(); break;
                default: r.Skip(wire); break;
            }
        }
        string s;
        try { s = StrictUtf8.GetString(text); }
        catch (DecoderFallbackException) { throw new IxcException($"{source}: piece {id} is not valid UTF-8"); }
        return new Piece(id, s, text, score, type);
    }

    private sealed class TrainerSpec
    {
        public int ModelType = 1; // UNIGRAM is the proto default
        public bool ByteFallback;
        public bool TreatWhitespaceAsSuffix;
        public int BosId = 1, EosId = 2;
        public string UnknownSurface = DefaultUnknownSurface;
    }

    private sealed class NormalizerSpec
    {
        public string Name = "";
        public int PrecompiledCharsmapLength;
        public bool AddDummyPrefix = true, RemoveExtraWhitespaces = true, EscapeWhitespaces = true; // proto defaults
    }

    private static TrainerSpec ReadTrainerSpec(ReadOnlySpan<byte> data, string source)
    {
        var t = new TrainerSpec();
        var r = new ProtobufReader(data, source);
        while (!r.End)
        {
            var (field, wire) = r.ReadKey();
            switch (field, wire)
            {
                case (3, 0): t.ModelType = (int)r.ReadVarint(); break;
                case (24, 0): t.TreatWhitespaceAsSuffix = r.ReadVarint() != 0; break;
                case (35, 0): t.ByteFallback = r.ReadVarint() != 0; break;
                case (41, 0): t.BosId = r.ReadInt32("bos_id"); break;
                case (42, 0): t.EosId = r.ReadInt32("eos_id"); break;
                case (44, 2): t.UnknownSurface = Encoding.UTF8.GetString(r.ReadLengthDelimited()); break;
                default: r.Skip(wire); break;
            }
        }
        return t;
    }

    private static NormalizerSpec ReadNormalizerSpec(ReadOnlySpan<byte> data, string source)
    {
        var n = new NormalizerSpec();
        var r = new ProtobufReader(data, source);
        while (!r.End)
        {
            var (field, wire) = r.ReadKey();
            switch (field, wire)
            {
                case (1, 2): n.Name = Encoding.UTF8.GetString(r.ReadLengthDelimited()); break;
                case (2, 2): n.PrecompiledCharsmapLength = r.ReadLengthDelimited().Length; break;
                case (3, 0): n.AddDummyPrefix = r.ReadVarint() != 0; break;
                case (4, 0): n.RemoveExtraWhitespaces = r.ReadVarint() != 0; break;
                case (5, 0): n.EscapeWhitespaces = r.ReadVarint() != 0; break;
                default: r.Skip(wire); break;
            }
        }
        return n;
    }
}
