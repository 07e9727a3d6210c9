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

    public void Execute(ReadOnlySpan<byte> data)
    {
        var model = SentencePieceModel.Parse(data, "fuzz:tokenizer.model");
        var tokenizer = new InternLM2Tokenizer(model);
        var ids = tokenizer.Encode(Text, true);
        _ = tokenizer.Decode(ids);
        _ = tokenizer.EncodeRaw("\u00e9\u00e9"u8.ToArray().Concat(new byte[] { 0xff, 0xc3 }).ToArray());
    }
}
