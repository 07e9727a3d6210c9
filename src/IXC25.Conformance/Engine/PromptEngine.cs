using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;
using IXC25.Tokenizer;
using IXC25.Tokenizer.Prompt;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;

namespace IXC25.Conformance.Engine;

/// <summary>
/// prompt: ChatPrompt.BuildChat as `ixc25 prompt` calls it (max_length 16384), each image's token count from
/// HdPartition.Plan of the size in the file's header. ids: every kept position, -100 at image positions (the
/// trace's prompt.input_ids); image_spans: [start, length] of each image segment kept.
/// </summary>
public sealed class PromptEngine : IEngineSurface
{
    public string Name => "prompt";

    public PortReply Handle(PortRequest request, EngineContext context)
    {
        var tokenizer = context.Tokenizer;
        var images = new List<PromptImage>();
        foreach (var node in request.Fields["images"]!.AsArray())
        {
            if (node is not JsonObject im || im["path"] is not JsonValue pv || !pv.TryGetValue<string>(out var name)
                || im["width"] is not JsonValue wv || !wv.TryGetValue<int>(out int width) || im["height"] is not JsonValue hv || !hv.TryGetValue<int>(out int height))
                return PortReply.Error("each image must be {\"path\": string, \"width\": int, \"height\": int}");
            string path = EnginePort.WorkPath(request, name, "images[].path");
            if (!File.Exists(path)) return PortReply.Error($"image file {name} is not in the work folder");
            var (fw, fh) = ImageDecoder.ReadSize(path);
            if (fw != width || fh != height) return PortReply.Error($"image {name} is {fw}x{fh}, the request says {width}x{height}");
            images.Add(new PromptImage(name, hd =>
            {
                var plan = HdPartition.Plan(fw, fh, hd);
                return new ImageTokens(plan.ImageTokens, plan.GridRows, plan.GridCols);
            }));
        }
        var history = new List<ChatTurn>();
        foreach (var turn in request.Fields["history"]!.AsArray())
        {
            if (turn is not JsonArray { Count: 2 } pair) return PortReply.Error("each history turn must be [question, answer]");
            history.Add(new ChatTurn((string)pair[0]!, (string)pair[1]!));
        }
        var layout = ChatPrompt.BuildChat(tokenizer, (string)request.Fields["query"]!, images, history,
            (string?)request.Fields["meta"], (int)request.Fields["hd_num"]!, ChatPrompt.DefaultMaxLength);

        var ids = new JsonArray();
        var spans = new JsonArray();
        foreach (var segment in layout.Segments)
            switch (segment)
            {
                case TextSegment t:
                    foreach (int id in t.Ids) ids.Add(id);
                    break;
                case ImageSegment i:
                    for (int k = 0; k < i.Length; k++) ids.Add(-100);
                    spans.Add(new JsonArray(i.Start, i.Length));
                    break;
            }
        if (ids.Count != layout.TotalLength) throw new InvalidOperationException($"prompt layout has {ids.Count} positions, total length {layout.TotalLength}");
        return PortReply.Ok(new JsonObject { ["ids"] = ids, ["image_spans"] = spans });
    }
}
