using IXC25.Backends;
using IXC25.Graph;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 demo`: the main job on the bundled default. Loads the bundled tiny checkpoint and runs the
/// bundled image and prompt through every stage of the engine, printing what each stage did, then
/// compares the trace with the PyTorch golden of the same prompt and checks the greedy tokens. Every
/// line is computed.
/// </summary>
internal static class DemoCommand
{
    public const string DefaultPrompt = "Describe this image in detail.";
    public const string DefaultImage = "cars1.jpg";

    public static Command Create()
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "model folder (default: the bundled tiny checkpoint golden/model/tiny/safetensors)" };
        var image = new Option<FileInfo?>("--image") { Description = "image (default: the bundled golden/media/cars1.jpg)" };
        var prompt = new Option<string>("--prompt") { Description = "prompt text", DefaultValueFactory = _ => DefaultPrompt };
        var tokens = new Option<int>("--tokens") { Description = "tokens to generate greedily", DefaultValueFactory = _ => 32 }.Within(1, OptionLimits.MaxDemoTokens);
        var backend = new Option<string>("--backend") { Description = $"the backend to run on: {ModelOptionSet.BackendHelp}", DefaultValueFactory = _ => "cpu" };
        var device = ModelOptionSet.NewDeviceOption();
        var ignoreMemory = new Option<bool>(LoadMemoryCheck.OverrideFlag) { Description = "load even when the estimated RAM exceeds what the machine has available" };
        var cmd = new Command("demo", "Run the bundled tiny checkpoint, image and prompt through every stage of the engine, print what each stage did, and compare with the PyTorch golden.")
        {
            model, image, prompt, tokens, backend, device, ignoreMemory,
        };
        cmd.SetAction(r =>
        {
            var output = r.InvocationConfiguration.Output;
            string modelDir = r.GetValue(model)?.FullName ?? RepoLayout.Path("golden", "model", "tiny", "safetensors");
            string imagePath = r.GetValue(image)?.FullName ?? RepoLayout.Path("golden", "media", DefaultImage);
            string query = r.GetValue(prompt)!;
            int maxTokens = r.GetValue(tokens);
            var stages = new StageTable(output);
            output.WriteLine($"demo: model  {modelDir}");
            output.WriteLine($"      image  {imagePath}");
            output.WriteLine($"      prompt \"{query}\"");
            output.WriteLine();

            using var m = stages.Run("load", () =>
            {
                var x = Ixc25Model.Open(modelDir, new ModelOptions(Backend: r.GetValue(backend)!, IgnoreMemoryCheck: r.GetValue(ignoreMemory), Device: r.GetValue(device)));
                long n = Ixc25Weights.Catalog(x.Dims).Where(p => p.Group is null).Sum(p => p.Numel ?? 0);
                return (x, string.Create(CultureInfo.InvariantCulture,
                    $"{x.Format} checkpoint bound to the spec: {n:N0} parameters, backend {x.BackendName}; LLM {x.Dims.L} layers x {x.Dims.C}, ViT {x.Dims.LV} layers x {x.Dims.CV}, vocab {x.Dims.V}"));
            });
            var prepared = stages.Run("preprocess", () =>
            {
                var p = PreparedPrompt.Chat(m.Tokenizer, query, [new MediaInput(imagePath)]);
                var img = p.Images[0];
                return (p, $"{img.Plan.GridRows}x{img.Plan.GridCols} crops of {img.Width}x{img.Height} (resized {img.Plan.ResizedWidth}x{img.Plan.ResizedHeight}), global view 560x560");
            });
            stages.Run("prompt", () =>
            {
                var segs = prepared.Layout.Segments;
                int text = segs.OfType<IXC25.Tokenizer.Prompt.TextSegment>().Sum(s => s.Length);
                return (0, $"{prepared.Layout.TotalLength} positions: {text} text tokens, {prepared.Layout.TotalLength - text} image tokens");
            });
            var taps = new MemoryTapSink();
            var cache = m.NewCache();
            var imageEmbeds = stages.Run("vision", () =>
            {
                var e = m.EncodeImage(prepared.Images[0], 0, taps);
                return (e, $"ViT on {1 + prepared.Images[0].Plan.GridRows * prepared.Images[0].Plan.GridCols} crops, 2x2 merge + separators, projector -> {e.Dim(0)} x {e.Dim(1)} image tokens");
            });
            var logits = stages.Run("prefill", () =>
            {
                var (embeds, mask) = m.BuildInput(prepared.Layout, [imageEmbeds], taps);
                var l = m.Forward(embeds, mask, cache, taps: taps);
                m.Ops.Release(embeds);
                m.Ops.Release(imageEmbeds);
                return (l, $"{m.Dims.L} decoder layers over {prepared.Layout.TotalLength} positions (Partial LoRA on {mask.Count(b => b != 0)}), KV cache {cache.Length} tokens, {taps.Names.Count} taps");
            });
            var ids = stages.Run("decode", () =>
            {
                var list = new List<int>();
                var l = logits;
                while (true)
                {
                    int next = 0;
                    var s = l.ToArray<float>();
                    for (int i = 1; i < s.Length; i++) if (s[i] > s[next]) next = i;
                    m.Ops.Release(l);
                    list.Add(next);
                    if (list.Count == maxTokens || next == m.Tokenizer.EosId || next == m.Tokenizer.EndOfTurnId) break;
                    l = m.ForwardTokens([next], cache);
                }
                return (list, $"{list.Count} greedy tokens: \"{Shorten(m.Tokenizer.DecodeResponse(list.ToArray()))}\" (random weights: not language)");
            });
            string goldenPath = RepoLayout.Path("golden", "model", "traces", "single_image.safetensors");
            bool isDefault = r.GetValue(model) is null && r.GetValue(image) is null && query == DefaultPrompt;
            int failures = 0;
            if (isDefault && File.Exists(goldenPath))
                failures = stages.Run("compare", () =>
                {
                    using var golden = new SafetensorsFile(goldenPath);
                    int compared = 0, failed = 0;
                    double worst = 0;
                    foreach (var g in golden.Tensors)
                    {
                        if (!taps.TryGet(g.Name, out var ours)) { failed++; continue; }
                        compared++;
                        var v = NamedTensorComparer.Compare(ours, g, ToleranceTable.Set.Get(Ixc25Taps.Find(g.Name)!.Tolerance, backend: m.Backend.Name.StartsWith("gpu", StringComparison.Ordinal) ? "gpu" : null));
                        if (!v.Pass) failed++;
                        worst = Math.Max(worst, v.Stats?.MaxAbs ?? 0);
                    }
                    var expected = JsonSerializer.Deserialize<int[]>(golden.Metadata["tokens"])!;
                    bool sameTokens = expected.Take(ids.Count).SequenceEqual(ids);
                    if (!sameTokens) failed++;
                    return (failed, string.Create(CultureInfo.InvariantCulture,
                        $"vs PyTorch golden: {compared} taps, {failed} outside tolerance (largest abs diff {worst:0.###e+0}); greedy tokens {(sameTokens ? "identical" : "DIFFER")}"));
                });
            output.WriteLine();
            output.WriteLine(failures == 0 ? $"{stages.Count} stages ran." : $"{stages.Count} stages ran; {failures} check(s) FAILED.");
            return failures == 0 ? 0 : 1;
        });
        return cmd;
    }

    private static string Shorten(string s) => (s.Length > 60 ? s[..60] + "..." : s).Replace("\n", "\\n");

    /// <summary>Runs stages in order and prints one timed line each.</summary>
    private sealed class StageTable(TextWriter output)
    {
        public int Count { get; private set; }

        public T Run<T>(string name, Func<(T Value, string Summary)> stage)
        {
            var sw = Stopwatch.StartNew();
            var (value, summary) = stage();
            Count++;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {Count,2}. {name,-11} {sw.Elapsed.TotalMilliseconds,8:0.0} ms  {summary}"));
            return value;
        }
    }
}
