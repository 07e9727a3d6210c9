using System.Text.Json.Nodes;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Protocol;
using IXC25.Tokenizer;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: the tokenizer without byte fallback (a SentencePiece loader that ignores the model's
/// byte_fallback flag): each character outside the vocabulary becomes &lt;unk&gt; instead of its UTF-8 byte
/// pieces &lt;0xNN&gt;.
/// </summary>
public sealed class NoByteFallbackTokenizer() : BuggySurface("tokenize")
{
    public override PortReply Handle(PortRequest request, EngineContext context)
    {
        var tokenizer = context.Tokenizer;
        var ids = tokenizer.Encode((string)request.Fields["text"]!, (bool)request.Fields["add_bos"]!);
        var outIds = new List<int>();
        int unk = tokenizer.Model.UnknownId;
        for (int i = 0; i < ids.Length; i++)
        {
            if (!IsByte(tokenizer, ids[i])) { outIds.Add(ids[i]); continue; }
            // the bytes of one character: a lead byte and its continuation bytes become one <unk>
            int lead = ByteValue(tokenizer, ids[i]);
            int len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            i += len - 1;
            outIds.Add(unk);
        }
        return PortReply.Ok(new JsonObject { ["ids"] = new JsonArray(outIds.Select(x => (JsonNode)x).ToArray()) });
    }

    private static bool IsByte(InternLM2Tokenizer t, int id) => ByteValue(t, id) >= 0;

    private static int ByteValue(InternLM2Tokenizer t, int id)
    {
        string piece = t.Model.Pieces[id].Text;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece.EndsWith('>')
            ? Convert.ToInt32(piece[3..5], 16) : -1;
    }
}
