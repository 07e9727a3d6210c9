using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Transforms;
using IXC25.Vision.Video;

namespace IXC25.Cli.Commands;

/// <summary>
/// <c>ixc25 preprocess PATH [--hd-num N] [--video] --out FILE.safetensors</c>: the image (or video) front
/// end, bit-identical to upstream's PIL/torchvision pipeline. Writes <c>hd_image</c> (U8 [H, W, 3], after
/// resize and padding, before normalisation), <c>pixel_values</c> (F32 [3, H, W], normalised) and
/// <c>global_view</c> (F32 [3, 560, 560]), and prints one JSON object on stdout:
/// <c>{"width":W,"height":H,"grid_rows":h,"grid_cols":w,"image_tokens":T}</c> where W and H are the final
/// padded size of hd_image. Other tools depend on this contract exactly.
/// </summary>
internal static class PreprocessCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("PATH") { Description = "Image (PNG, JPEG, WebP, BMP, GIF) or, with --video, video file." };
        var hdNum = new Option<int>("--hd-num")
        {
            Description = "Maximum number of 560x560 crops (upstream hd_num): 24 for a single image in chat, 6 per image when a prompt has several. Ignored for video, as upstream.",
            DefaultValueFactory = _ => HdPartition.DefaultHdNum,
        }.Within(1, OptionLimits.MaxHdNum);
        var video = new Option<bool>("--video") { Description = "Treat PATH as a video: frames sampled as upstream (one per second, at most 32), frame2img composite, Video_transform." };
        var output = new Option<string>("--out") { Description = "Output .safetensors file (written atomically; its directory must exist).", Required = true };
        var maxPixels = new Option<long>("--max-pixels")
        {
            Description = "Refuse images (and video frames) with more pixels than this, before decoding them.",
            DefaultValueFactory = _ => DecodeOptions.DefaultMaxPixels,
        }.Within(1L, long.MaxValue);
        var threads = new Option<int>("--threads") { Description = "Worker threads (-1 = all cores). Results do not depend on it.", DefaultValueFactory = _ => -1 }.Within(-1, OptionLimits.MaxThreads, 0);
        var command = new Command("preprocess",
            "Run the image/video front end (HD partition, ToTensor + Normalize, global view) and write hd_image (U8 [H,W,3]), " +
            "pixel_values (F32 [3,H,W]) and global_view (F32 [3,560,560]) to a safetensors file. Prints " +
            "{\"width\",\"height\",\"grid_rows\",\"grid_cols\",\"image_tokens\"} as one JSON object, where width and height are the " +
            "padded size of hd_image.")
        { path, hdNum, video, output, maxPixels, threads };
        command.SetAction(parse =>
        {
            string input = parse.GetValue(path)!;
            string outFile = parse.GetValue(output)!;
            int hd = parse.GetValue(hdNum);
            bool isVideo = parse.GetValue(video);
            long limit = parse.GetValue(maxPixels);
            int nThreads = parse.GetValue(threads);
            if (!isVideo && VideoFrames.Extensions.Contains(Path.GetExtension(input)))
                throw new IxcException($"{input}: looks like a video ({Path.GetExtension(input)}); pass --video");
            SafetensorsWriter.CheckDestination(outFile);

            var err = parse.InvocationConfiguration.Error;
            var options = new TransformOptions(nThreads);
            var limits = new DecodeOptions(limit);
            HdTransformResult result;
            if (isVideo)
            {
                if (parse.GetResult(hdNum) is { Implicit: false })
                    err.WriteLine("preprocess: --hd-num is ignored for video (upstream's Video_transform ignores hd_num)");
                var frames = VideoFrames.Load(input, VideoFrames.MaxFrames, limits);
                err.WriteLine($"preprocess: {frames.Count} frames of {frames[0].Width}x{frames[0].Height}");
                result = ImageTransform.VideoTransform(VideoComposer.Compose(frames), options);
            }
            else
            {
                result = ImageTransform.HdTransform(ImageDecoder.Decode(input, limits), hd, options);
            }

            var p = result.Plan;
            int w = result.Width, h = result.Height;
            using (var writer = new SafetensorsWriter(outFile))
            {
                writer.Add("hd_image", Runtime.Tensors.DType.U8, [h, w, 3], result.HdImage.Pixels);
                writer.AddF32("pixel_values", [3, h, w], result.PixelValues);
                writer.AddF32("global_view", [3, HdPartition.CropSize, HdPartition.CropSize], result.GlobalView);
                writer.Commit(new Dictionary<string, string>
                {
                    ["producer"] = "ixc25 preprocess",
                    ["source"] = Path.GetFileName(input),
                    ["mode"] = isVideo ? "video" : "image",
                    ["hd_num"] = isVideo ? "ignored" : hd.ToString(CultureInfo.InvariantCulture),
                    ["transposed"] = p.Transposed ? "true" : "false",
                    ["resized_width"] = p.ResizedWidth.ToString(CultureInfo.InvariantCulture),
                    ["resized_height"] = p.ResizedHeight.ToString(CultureInfo.InvariantCulture),
                });
            }
            using var json = new MemoryStream();
            using (var jw = new Utf8JsonWriter(json))
            {
                jw.WriteStartObject();
                jw.WriteNumber("width", w);
                jw.WriteNumber("height", h);
                jw.WriteNumber("grid_rows", p.GridRows);
                jw.WriteNumber("grid_cols", p.GridCols);
                jw.WriteNumber("image_tokens", p.ImageTokens);
                jw.WriteEndObject();
            }
            parse.InvocationConfiguration.Output.WriteLine(System.Text.Encoding.UTF8.GetString(json.ToArray()));
            return 0;
        });
        return command;
    }
}
