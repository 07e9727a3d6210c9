using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using IXC25.Model;
using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Vision.Partition;
using SkiaSharp;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 demo`: the main job on the bundled default. Loads the bundled tiny checkpoint and runs the
/// bundled image and prompt through every stage the engine has, printing what each stage did. Every
/// line is computed; a stage the engine does not have yet is not shown.
/// </summary>
internal static class DemoCommand
{
    public const string DefaultPrompt = "Describe this image in detail.";

    public static Command Create()
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "model folder (default: the bundled tiny checkpoint golden/model/tiny/safetensors)" };
        var image = new Option<FileInfo?>("--image") { Description = "image (default: the bundled golden/media/cars1.jpg)" };
        var prompt = new Option<string>("--prompt") { Description = "prompt text", DefaultValueFactory = _ => DefaultPrompt };
        var cmd = new Command("demo", "Run the bundled tiny checkpoint, image and prompt through every stage of the engine and print what each stage did.")
        {
            model, image, prompt,
        };
        cmd.SetAction(r =>
        {
            var output = r.InvocationConfiguration.Output;
            string modelDir = r.GetValue(model)?.FullName ?? RepoLayout.Path("golden", "model", "tiny", "safetensors");
            string imagePath = r.GetValue(image)?.FullName ?? RepoLayout.Path("golden", "media", "cars1.jpg");
            var stages = new StageTable(output);
            output.WriteLine($"demo: model {modelDir}");
            output.WriteLine($"      image {imagePath}");
            output.WriteLine($"      prompt \"{r.GetValue(prompt)}\"");
            output.WriteLine();

            using var dir = stages.Run("config", () =>
            {
                var d = ModelDirectory.Open(modelDir);
                return (d, $"{d.Config.NumHiddenLayers} decoder layers, hidden {d.Dims.C}, vision {d.Dims.LV} layers x {d.Dims.CV}, vocab {d.Dims.V}");
            });
            var weights = stages.Run("weights", () =>
            {
                var w = dir.BindWeights();
                long n = Ixc25Weights.Catalog(w.Dims).Where(p => p.Group is null || w.Groups.Contains(p.Group)).Sum(p => p.Shape.Aggregate(1L, (a, s) => a * (s.IsFree ? w.Dims.Get(s.Free!)!.Value : s.Value)));
                return (w, $"{dir.Format} checkpoint bound to the spec: {n.ToString("N0", CultureInfo.InvariantCulture)} parameters, groups [{string.Join(", ", w.Groups.OrderBy(g => g))}]");
            });
            stages.Run("image plan", () =>
            {
                using var codec = SKCodec.Create(imagePath) ?? throw new IxcException($"{imagePath}: not a readable image");
                var plan = HdPartition.Plan(codec.Info.Width, codec.Info.Height, HdPartition.DefaultHdNum);
                return (plan, $"{codec.Info.Width}x{codec.Info.Height} -> resize {plan.ResizedWidth}x{plan.ResizedHeight}, pad {plan.PaddedWidth}x{plan.PaddedHeight}, grid {plan.GridRows}x{plan.GridCols}, {plan.ImageTokens} image tokens (hd_num {HdPartition.DefaultHdNum})");
            });
            GC.KeepAlive(weights);
            output.WriteLine();
            output.WriteLine($"{stages.Count} stages ran.");
            return 0;
        });
        return cmd;
    }

    /// <summary>Runs stages in order and prints one timed line each.</summary>
    private sealed class StageTable(TextWriter output)
    {
        public int Count { get; private set; }

        public T Run<T>(string name, Func<(T Value, string Summary)> stage)
        {
            var sw = Stopwatch.StartNew();
            var (value, summary) = stage();
            Count++;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Count,2}. {name,-12} {sw.Elapsed.TotalMilliseconds,8:0.0} ms  {summary}"));
            return value;
        }
    }
}
