using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Protocol;
using IXC25.Model;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Conformance.Surfaces;

/// <summary>A synthetic image of a model case: its size and the seed of its pixels (<see cref="CaseImage"/>).</summary>
public sealed record ModelImage(int Width, int Height, int Seed);

/// <summary>
/// A model case: a checkpoint folder (relative to the repository root unless absolute), the query (with one
/// &lt;ImageHere&gt; marker per image when there are several), the images, hd_num for a single image.
/// </summary>
public sealed record ModelCase(string Checkpoint, string Query, IReadOnlyList<ModelImage> Images, int HdNum);

/// <summary>
/// model: the whole model on a checkpoint (by default the tiny checkpoint golden/model/tiny/safetensors): one
/// chat prompt with 0 to 2 synthetic images of 20 to 1200 pixels a side (extreme aspect ratios included),
/// hd_num 1 to 6, one prefill, and every tap of spec/model.json the case has (image k, ViT layer l, decoder
/// layer i filled in from the checkpoint's config). llm.norm and llm.logits (at every position) are asked
/// for only for prompts without images: at [T, V] they are 300 MB for one image on a 92544-word vocabulary,
/// while llm.layer.{L-1}.output covers every position of image prompts. Outputs are optional: a port may
/// write any subset of the taps (a missing tap is not covered). Each tap has its class of spec/model.json.
/// Shrinks by dropping images, hd_num 1, shorter queries, smaller images.
/// </summary>
public sealed class ModelSurface : Surface<ModelCase>
{
    /// <summary>The checkpoint of generated cases, relative to the repository root.</summary>
    public const string DefaultCheckpoint = "golden/model/tiny/safetensors";

    public override string Name => "model";

    /// <summary>Each case runs the model twice (port and reference): a few cases, most with images.</summary>
    public override int DefaultCases => 4;

    /// <summary>Words queries are built from (CJK and an emoji included: the text side goes through the tokenizer).</summary>
    public static readonly string[] Words = ["Describe", " the", " image", ".", " What", " is", " this", "?", " 你好", " 图片", " 😀", "\n", "  "];

    public override Gen<ModelCase> Generator =>
        from count in Gen.Sized(s => s < 10 ? Gen.Constant(0)
            : s < 50 ? Gen.Frequency((1, Gen.Constant(0)), (6, Gen.Constant(1)))
            : Gen.Frequency((1, Gen.Constant(0)), (6, Gen.Constant(1)), (2, Gen.Constant(2))))
        from images in Gen.ListOf(ImageGen, count)
        from words in Gen.Sized(s => Gen.Choose(0, 2 + s / 15)).SelectMany(n => Gen.ListOf(Gen.Elements(Words), n))
        from hd in Gen.Sized(s => Gen.Choose(1, 1 + s / 20))
        select new ModelCase(DefaultCheckpoint, WithMarkers(string.Concat(words), images.Count), images.ToList(), hd);

    /// <summary>Sides 20..1200 growing with the size; one case in six with an extreme aspect ratio (up to 1:20 / 20:1).</summary>
    private static Gen<ModelImage> ImageGen =>
        from side in Gen.Sized(s => Gen.Choose(20, 20 + s * 118 / 10))
        from other in Gen.Sized(s => Gen.Choose(20, 20 + s * 118 / 10))
        from extreme in Gen.Frequency((5, Gen.Constant(0)), (1, Gen.Elements(1, -1)))
        from seed in Gen.Choose(0, int.MaxValue)
        select extreme switch
        {
            1 => new ModelImage(Math.Min(1200, Math.Max(side, 400)), Math.Max(20, Math.Min(1200, Math.Max(side, 400)) / 20), seed),
            -1 => new ModelImage(Math.Max(20, Math.Min(1200, Math.Max(side, 400)) / 20), Math.Min(1200, Math.Max(side, 400)), seed),
            _ => new ModelImage(side, other, seed),
        };

    /// <summary>Several images need one marker each (upstream places a single image first when it has none).</summary>
    private static string WithMarkers(string text, int images) => images switch
    {
        0 or 1 => text,
        _ => string.Concat(Enumerable.Repeat(ChatPrompt.ImageMarker, images)) + text,
    };

    public override IEnumerable<ModelCase> Shrink(ModelCase c)
    {
        for (int k = 0; k < c.Images.Count; k++)
        {
            var images = c.Images.Where((_, j) => j != k).ToList();
            yield return c with { Images = images, Query = DropMarker(c.Query, k, images.Count) };
        }
        if (c.HdNum > 1) yield return c with { HdNum = 1 };
        var atoms = Atoms(c.Query);
        var text = atoms.Select((a, i) => (a, i)).Where(x => x.a != ChatPrompt.ImageMarker).Select(x => x.i).ToList();
        if (text.Count > 0) yield return c with { Query = string.Concat(atoms.Where(a => a == ChatPrompt.ImageMarker)) };
        for (int chunk = text.Count / 2; chunk >= 1; chunk /= 2)
            for (int start = 0; start + chunk <= text.Count; start += chunk)
            {
                var drop = text.Skip(start).Take(chunk).ToHashSet();
                yield return c with { Query = string.Concat(atoms.Where((_, i) => !drop.Contains(i))) };
            }
        for (int k = 0; k < c.Images.Count; k++)
        {
            var im = c.Images[k];
            foreach (var smaller in new[] { im with { Width = 1, Height = 1 }, im with { Width = Math.Max(1, im.Width / 2), Height = Math.Max(1, im.Height / 2) },
                         im with { Width = Math.Max(1, im.Width / 2) }, im with { Height = Math.Max(1, im.Height / 2) } })
                if (smaller != im) yield return c with { Images = c.Images.Select((x, j) => j == k ? smaller : x).ToList() };
        }
    }

    /// <summary>The query's pieces: each &lt;ImageHere&gt; marker is one, every other character one.</summary>
    private static List<string> Atoms(string query)
    {
        var atoms = new List<string>();
        var parts = query.Split(ChatPrompt.ImageMarker);
        for (int p = 0; p < parts.Length; p++)
        {
            if (p > 0) atoms.Add(ChatPrompt.ImageMarker);
            atoms.AddRange(parts[p].EnumerateRunes().Select(r => r.ToString()));
        }
        return atoms;
    }

    /// <summary>The query after image <paramref name="k"/> is dropped: its marker goes, and a single remaining image needs none.</summary>
    private static string DropMarker(string query, int k, int remaining)
    {
        var parts = query.Split(ChatPrompt.ImageMarker);
        if (parts.Length - 1 <= k) return query;
        var kept = parts.ToList();
        kept[k] += kept[k + 1];
        kept.RemoveAt(k + 1);
        return remaining <= 1 && kept.Count == 2 ? kept[0] + kept[1] : string.Join(ChatPrompt.ImageMarker, kept);
    }

    /// <summary>Query characters, image pixels (one per 64, at least one per image) and hd_num beyond 1.</summary>
    public override long Size(ModelCase c) =>
        c.Query.Replace(ChatPrompt.ImageMarker, "", StringComparison.Ordinal).EnumerateRunes().Count()
        + c.Images.Sum(i => 1 + (long)i.Width * i.Height / 64) + (c.HdNum - 1);

    public override string Describe(ModelCase c) =>
        $"query {TokenizeSurface.Quote(c.Query)}, {c.Images.Count} image(s){(c.Images.Count > 0 ? " " + string.Join(", ", c.Images.Select(i => $"{i.Width}x{i.Height}")) : "")}, hd_num {c.HdNum}"
        + (c.Checkpoint == DefaultCheckpoint ? "" : $", checkpoint {c.Checkpoint}");

    public override JsonNode ToJson(ModelCase c) => new JsonObject
    {
        ["checkpoint"] = c.Checkpoint,
        ["query"] = c.Query,
        ["images"] = new JsonArray(c.Images.Select(i => (JsonNode)new JsonObject { ["width"] = i.Width, ["height"] = i.Height, ["seed"] = i.Seed }).ToArray()),
        ["hd_num"] = c.HdNum,
    };

    public override ModelCase FromJson(JsonNode json) => new(
        (string?)json["checkpoint"] ?? DefaultCheckpoint,
        (string)json["query"]!,
        json["images"]!.AsArray().Select(i => new ModelImage((int)i!["width"]!, (int)i["height"]!, (int)i["seed"]!)).ToList(),
        (int)json["hd_num"]!);

    /// <summary>The checkpoint folder of a case: absolute as given, or below the repository root.</summary>
    public static string CheckpointPath(ModelCase c) =>
        Path.IsPathRooted(c.Checkpoint) ? c.Checkpoint : RepoLayout.Path(c.Checkpoint.Split('/'));

    public override PortRequest Prepare(ModelCase c, string work)
    {
        var images = new JsonArray();
        for (int k = 0; k < c.Images.Count; k++)
        {
            var im = c.Images[k];
            string file = $"image{k}.png";
            CaseImage.WritePng(Path.Combine(work, file), im.Width, im.Height, im.Seed);
            images.Add(new JsonObject { ["path"] = file, ["width"] = im.Width, ["height"] = im.Height });
        }
        return new PortRequest("model", work, new JsonObject
        {
            ["checkpoint"] = CheckpointPath(c),
            ["query"] = c.Query,
            ["images"] = images,
            ["hd_num"] = c.HdNum,
            ["taps"] = new JsonArray(Taps(c).Select(t => (JsonNode)t).ToArray()),
        });
    }

    /// <summary>
    /// Every tap of spec/model.json for the case: image k for each image, ViT layer l below the checkpoint's
    /// vision layers, decoder layer i below its layers; llm.norm and llm.logits only without images.
    /// </summary>
    public static IReadOnlyList<string> Taps(ModelCase c)
    {
        string config = Path.Combine(CheckpointPath(c), "config.json");
        if (!File.Exists(config)) throw new IxcException($"model case: checkpoint {CheckpointPath(c)} has no config.json");
        var dims = Ixc25Dims.FromConfig(Ixc25Config.Load(config));
        var taps = new List<string>();
        foreach (var t in Ixc25Taps.All)
        {
            if (c.Images.Count > 0 && t.Pattern is Ixc25Taps.LlmNorm or Ixc25Taps.LlmLogits) continue;
            IEnumerable<string> names = [t.Pattern];
            names = Expand(names, "{k}", c.Images.Count);
            names = Expand(names, "{l}", dims.LV);
            names = Expand(names, "{i}", dims.L);
            taps.AddRange(names);
        }
        return taps;
    }

    private static IEnumerable<string> Expand(IEnumerable<string> names, string hole, int count) =>
        names.SelectMany(n => n.Contains(hole, StringComparison.Ordinal)
            ? Enumerable.Range(0, count).Select(v => n.Replace(hole, v.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            : [n]);

    /// <summary>The tap's class of spec/model.json.</summary>
    public override ToleranceInfo Tolerance(ModelCase c, string tensor) =>
        Kit.ToleranceLookup.Class(Ixc25Taps.Find(tensor)?.Tolerance ?? throw new IxcException($"model: '{tensor}' is not a tap of spec/model.json"));

    public override bool OutputsOptional => true;
}
