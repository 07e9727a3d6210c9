using IXC25.Runtime;
using IXC25.Tokenizer;
using IXC25.Tokenizer.Prompt;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Transforms;
using IXC25.Vision.Video;

namespace IXC25.Model.Inference;

/// <summary>An image or video attached to a prompt: a file, or encoded image bytes (<paramref name="Bytes"/>, with
/// <paramref name="Path"/> as its label).</summary>
public sealed record MediaInput(string Path, bool IsVideo = false, byte[]? Bytes = null)
{
    /// <summary>Encoded image bytes (PNG, JPEG, WebP, BMP, GIF) with a label for messages.</summary>
    public static MediaInput FromBytes(byte[] bytes, string label) => new(label, false, bytes);

    /// <summary>Image unless the extension is a video extension upstream recognizes (.mp4, .avi, .mkv, .mov, .wmv).</summary>
    public static MediaInput FromPath(string path) => new(path, VideoFrames.Extensions.Contains(System.IO.Path.GetExtension(path)));
}

/// <summary>
/// A prompt ready for the model: the sequence layout (text ids, image spans, truncation) and, for each
/// image of the layout, its preprocessed form (HD transform with the hd_num the prompt chose, or the
/// video transform of the frame composite).
/// </summary>
public sealed class PreparedPrompt
{
    private PreparedPrompt(PromptLayout layout, IReadOnlyList<HdTransformResult> images, IReadOnlyList<MediaInput> media)
    {
        Layout = layout;
        Images = images;
        Media = media;
    }

    public PromptLayout Layout { get; }
    /// <summary>Preprocessed images, indexed as the layout's image segments (only those the layout keeps).</summary>
    public IReadOnlyList<HdTransformResult> Images { get; }
    public IReadOnlyList<MediaInput> Media { get; }

    /// <summary>
    /// Upstream's chat prompt (interleav_wrap_chat): meta turn, history, the query; one image without a
    /// marker goes first; hd_num <paramref name="hdNum"/> for one image, 6 each for several; videos are
    /// frame composites through Video_transform (hd_num does not apply); cut at <paramref name="maxLength"/>.
    /// </summary>
    public static PreparedPrompt Chat(InternLM2Tokenizer tokenizer, string query, IReadOnlyList<MediaInput> media,
        IReadOnlyList<ChatTurn>? history = null, string? metaInstruction = null, int hdNum = HdPartition.DefaultHdNum,
        int maxLength = ChatPrompt.DefaultMaxLength, DecodeOptions? decode = null)
    {
        // decode first (errors name the file); videos become their frame composite
        var decoded = new List<(RgbImage Image, bool Video)>();
        foreach (var m in media)
        {
            if (m.Bytes is not null) { decoded.Add((ImageDecoder.Decode(m.Bytes, m.Path, decode), false)); continue; }
            if (!File.Exists(m.Path)) throw new IxcException($"{m.Path}: file not found");
            decoded.Add(m.IsVideo ? (VideoComposer.FromFile(m.Path), true) : (ImageDecoder.Decode(m.Path, decode), false));
        }
        var promptImages = decoded.Select((d, k) => new PromptImage(media[k].Path, hd =>
        {
            var plan = d.Video ? HdPartition.PlanVideo(d.Image.Width, d.Image.Height) : HdPartition.Plan(d.Image.Width, d.Image.Height, hd);
            return new ImageTokens(plan.ImageTokens, plan.GridRows, plan.GridCols);
        })).ToList();
        var layout = ChatPrompt.BuildChat(tokenizer, query, promptImages, history, metaInstruction, hdNum, maxLength);
        var images = new List<HdTransformResult>();
        foreach (var seg in layout.Segments.OfType<ImageSegment>())
        {
            var (img, video) = decoded[seg.Index];
            var t = video ? ImageTransform.VideoTransform(img) : ImageTransform.HdTransform(img, seg.HdNum);
            if (t.Plan.ImageTokens != seg.Tokens) throw new InvalidOperationException($"image {seg.Index}: transform gives {t.Plan.ImageTokens} tokens, the layout {seg.Tokens}");
            while (images.Count < seg.Index) images.Add(null!); // cut layouts keep indices aligned
            images.Add(t);
        }
        return new PreparedPrompt(layout, images, media);
    }

    /// <summary>Upstream's text-only chat path (<c>chat(image=None)</c>: build_inputs, ids [1, 1, ...]).</summary>
    public static PreparedPrompt TextOnly(InternLM2Tokenizer tokenizer, string query, IReadOnlyList<ChatTurn>? history = null, string? metaInstruction = null) =>
        new(ChatPrompt.BuildTextOnly(tokenizer, query, history, metaInstruction), [], []);
}
