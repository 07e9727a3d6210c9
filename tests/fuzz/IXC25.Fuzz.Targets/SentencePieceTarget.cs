using IXC25.Tokenizer;
using IXC25.Tokenizer.SentencePiece;

namespace IXC25.Fuzz.Targets;

/// <summary>sentencepiece: the bytes as tokenizer.model (the SentencePiece protobuf), parsed and validated by
/// SentencePieceModel.Parse; a model that passes is made an InternLM2 tokenizer and encodes and decodes a fixed text.</summary>
public sealed class SentencePieceTarget : IFuzzTarget
{
    private const string Text = "Hello  world!\n\t<s>[UNUSED_TOKEN_146]user 数一数 🐼 \u0000\u00ff é";

    public string Name => "sentencepiece";
    public string Description => "a tokenizer.model protobuf: SentencePieceModel.Parse, InternLM2Tokenizer encode/decode";

    /// <summary>2 MiB + 64 per input byte: the parser's piece list (capacity 100,000: 800 KB whatever the input),
    /// then the piece tables and the encoder (InternLM2's 1.5 MB tokenizer.model: 19 MB, 13 bytes per input byte).</summary>
    public AllocationBudget Budget { get; } = new(Floor: 2 << 20, PerInputByte: 64);

    public void Execute(ReadOnlySpan<byte> data)
    {
        var model = SentencePieceModel.Parse(data, "fuzz:tokenizer.model");
        var tokenizer = new InternLM2Tokenizer(model);
        var ids = tokenizer.Encode(Text, true);
        _ = tokenizer.Decode(ids);
        _ = tokenizer.EncodeRaw("\u00e9\u00e9"u8.ToArray().Concat(new byte[] { 0xff, 0xc3 }).ToArray());
    }
}
