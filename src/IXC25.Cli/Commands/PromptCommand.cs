using System.CommandLine;
using System.Text.Json;
using IXC25.Runtime;
using IXC25.Tokenizer;
using IXC25.Tokenizer.Prompt;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Video;

namespace IXC25.Cli.Commands;

/// <summary>
/// <c>ixc25 prompt --query Q [--image P]... [--history-file F] [--meta] [--text-only]</c>: prints the
/// LLM input layout of one chat call as one JSON object: text segments with their ids, image segments
/// with their token counts and crop grids, the total length, and the im_mask ranges.
/// <para>Without <c>--text-only</c> this is upstream's <c>chat(query, image=[...])</c> path
/// (<c>interleav_wrap_chat</c>; with no image it is chat's default <c>image=[]</c>: one text segment,
/// one BOS). <c>--text-only</c> is <c>chat(image=None)</c> (<c>build_inputs</c>: the text starts with
/// a literal &lt;s&gt;, so the ids start 1, 1). Image token counts come from the image size (read from
/// the file header) through IXC25.Vision's HdPartition, hd_num 24 for one image and 6 each for several.
/// Videos are not accepted yet.</para>
/// </summary>
internal static class PromptCommand
{
    /// <summary>Upstream's <c>image_extensions</c>.</summary>
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"];

    public static Command Create()
    {
        var query = new Option<string>("--query") { Description = "The user's question; <ImageHere> marks where images go.", Required = true };
        var images = new Option<string[]>("--image") { Description = "An image file (repeatable, in marker order).", AllowMultipleArgumentsPerToken = false };
        var historyFile = new Option<string?>("--history-file") { Description = "A JSON file [[question, answer], ...] of earlier turns." };
        var meta = new Option<bool>("--meta") { Description = "Add upstream's default meta instruction as the system turn (chat's use_meta=True)." };
        var metaText = new Option<string?>("--meta-text") { Description = "Use this text as the system turn instead." };
        var textOnly = new Option<bool>("--text-only") { Description = "Upstream's text-only path chat(image=None) (build_inputs): BOS twice, no truncation." };
        var hdNum = new Option<int>("--hd-num") { Description = "hd_num for a single image (chat's default 24; several images always use 6).", DefaultValueFactory = _ => ChatPrompt.DefaultHdNum }.Within(1, OptionLimits.MaxHdNum);
        var maxLength = new Option<int>("--max-length") { Description = "Cut the sequence at this many positions (interleav_wrap_chat's default 16384).", DefaultValueFactory = _ => ChatPrompt.DefaultMaxLength }.Within(1, int.MaxValue);
        var model = TokenizerOptions.Model();
        var command = new Command("prompt", "Show the token/image layout of a chat prompt (JSON).")
            { query, images, historyFile, meta, metaText, textOnly, hdNum, maxLength, model };
        command.SetAction(parse =>
        {
            string q = parse.GetValue(query)!;
            string[] imagePaths = parse.GetValue(images) ?? [];
            var history = parse.GetValue(historyFile) is { } f ? ReadHistory(f) : [];
            string? metaInstruction = parse.GetValue(metaText) ?? (parse.GetValue(meta) ? ChatPrompt.DefaultMetaInstruction : null);
            var tokenizer = TokenizerOptions.Load(parse.GetValue(model));
            PromptLayout layout;
            if (parse.GetValue(textOnly))
            {
                if (imagePaths.Length > 0) throw new IxcException("prompt: --text-only cannot be combined with --image");
                layout = ChatPrompt.BuildTextOnly(tokenizer, q, history, metaInstruction);
            }
            else
            {
                var prompts = imagePaths.Select(ImageFor).ToList();
                layout = ChatPrompt.BuildChat(tokenizer, q, prompts, history, metaInstruction, parse.GetValue(hdNum), parse.GetValue(maxLength));
            }
            if (PromptCut.Warning(layout) is { } cut) parse.InvocationConfiguration.Error.WriteLine(cut);
            parse.InvocationConfiguration.Output.WriteLine(ToJson(layout));
            return 0;
        });
        return command;
    }

    /// <summary>An image of the prompt: its size read from the file header, its token count from HdPartition.</summary>
    internal static PromptImage ImageFor(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (VideoFrames.Extensions.Contains(ext)) throw new IxcException($"{path}: videos are not supported by 'prompt' yet (only images: {string.Join(", ", ImageExtensions)})");
        if (!ImageExtensions.Contains(ext)) throw new IxcException($"{path}: unknown image format '{ext}' (upstream accepts {string.Join(", ", ImageExtensions)})");
        if (!File.Exists(path)) throw new IxcException($"{path}: image not found");
        var (width, height) = ImageDecoder.ReadSize(path);
        return new PromptImage(path, hd =>
        {
            var plan = HdPartition.Plan(width, height, hd);
            return new ImageTokens(plan.ImageTokens, plan.GridRows, plan.GridCols);
        });
    }

    /// <summary>[[question, answer], ...].</summary>
    internal static IReadOnlyList<ChatTurn> ReadHistory(string path)
    {
        string text = TokenizerOptions.ReadUtf8(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new IxcException($"{path}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new IxcException($"{path}: expected a JSON array [[question, answer], ...]");
            var turns = new List<ChatTurn>();
            int k = 0;
            foreach (var turn in doc.RootElement.EnumerateArray())
            {
                if (turn.ValueKind != JsonValueKind.Array || turn.GetArrayLength() != 2
                    || turn[0].ValueKind != JsonValueKind.String || turn[1].ValueKind != JsonValueKind.String)
                    throw new IxcException($"{path}: turn {k} is not a [question, answer] pair of strings");
                turns.Add(new ChatTurn(turn[0].GetString()!, turn[1].GetString()!));
                k++;
            }
            return turns;
        }
    }

    internal static string ToJson(PromptLayout layout)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, TokenizerOptions.Json))
        {
            w.WriteStartObject();
            w.WriteStartArray("segments");
            foreach (var s in layout.Segments)
            {
                w.WriteStartObject();
                switch (s)
                {
                    case TextSegment t:
                        w.WriteString("type", "text");
                        w.WriteStartArray("ids");
                        foreach (int id in t.Ids) w.WriteNumberValue(id);
                        w.WriteEndArray();
                        w.WriteNumber("start", t.Start);
                        w.WriteNumber("length", t.Length);
                        break;
                    case ImageSegment i:
                        w.WriteString("type", "image");
                        w.WriteNumber("index", i.Index);
                        w.WriteString("path", i.Name);
                        w.WriteNumber("tokens", i.Tokens);
                        w.WriteNumber("start", i.Start);
                        w.WriteNumber("length", i.Length);
                        w.WriteStartArray("grid");
                        w.WriteNumberValue(i.GridRows);
                        w.WriteNumberValue(i.GridCols);
                        w.WriteEndArray();
                        w.WriteNumber("hd_num", i.HdNum);
                        break;
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("total_length", layout.TotalLength);
            w.WriteNumber("untruncated_length", layout.UntruncatedLength);
            w.WriteBoolean("truncated", layout.Truncated);
            w.WriteStartArray("im_mask_ranges");
            foreach (var (start, end) in layout.ImageRanges)
            {
                w.WriteStartArray();
                w.WriteNumberValue(start);
                w.WriteNumberValue(end);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
