using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Protocol;
using IXC25.Conformance.Surfaces.Images;
using IXC25.Runtime;

namespace IXC25.Conformance.Surfaces;

/// <summary>An image of a prompt case, given by its size only (the kit writes a cheap PNG of that size).</summary>
public sealed record PromptImageSize(int Width, int Height);

/// <summary>A prompt case: the query (with its &lt;ImageHere&gt; markers), the images, earlier turns, the meta instruction, hd_num.</summary>
public sealed record PromptCase(string Query, IReadOnlyList<PromptImageSize> Images, IReadOnlyList<(string User, string Assistant)> History, string? Meta, int HdNum)
{
    public bool Equals(PromptCase? other) => other is not null && Query == other.Query && Meta == other.Meta && HdNum == other.HdNum
        && Images.SequenceEqual(other.Images) && History.SequenceEqual(other.History);

    public override int GetHashCode() => HashCode.Combine(Query, Meta, HdNum, Images.Count, History.Count);
}

/// <summary>
/// prompt: one chat call's LLM input layout (upstream chat() -> interleav_wrap_chat). Texts are built from
/// <see cref="TokenizeSurface"/>'s pieces (CJK, emoji, byte-fallback characters, whitespace runs, special
/// literals); the query holds one &lt;ImageHere&gt; marker per image (or none for a single image, which
/// upstream then puts first); 0 to 3 images of sizes that give 1x1 grids, wide grids, hd_num-limited grids,
/// sequences past max_length 16384 (truncated in the middle of an image), and thin images upstream refuses;
/// 0 to 2 history turns; no meta, the default meta instruction, or a generated one; hd_num 1 to 55 (several
/// images always use 6). Shrinks by dropping images (with their markers), history turns and the meta, then
/// shortening texts, halving image sizes, lowering hd_num.
/// </summary>
public sealed class PromptSurface : Surface<PromptCase>
{
    /// <summary>Marker of an image's place in the query.</summary>
    public const string Marker = "<ImageHere>";

    public override string Name => "prompt";
    public override int DefaultCases => 200;

    private static readonly string[] TextPieces = [.. TokenizeSurface.Pieces.Where(p => !p.Contains(Marker, StringComparison.Ordinal))];

    /// <summary>A text of up to about <paramref name="maxPieces"/> pieces.</summary>
    private static Gen<string> Text(int maxPieces) =>
        from n in Gen.Choose(0, Math.Max(1, maxPieces))
        from parts in Gen.ListOf(Gen.Frequency((4, Gen.Elements(TextPieces)), (1, Gen.Choose(0x20, 0x2FFF).Select(c => char.ConvertFromUtf32(c)))), n)
        select string.Concat(parts);

    private static Gen<PromptImageSize> ImageSize =>
        Gen.Frequency(
            (3, from w in Gen.Choose(1, 560) from h in Gen.Choose(1, 560) select new PromptImageSize(w, h)),
            (3, Gen.Elements(new PromptImageSize(640, 480), new PromptImageSize(1920, 1080), new PromptImageSize(1080, 1920),
                new PromptImageSize(336, 336), new PromptImageSize(560, 560), new PromptImageSize(561, 560), new PromptImageSize(1121, 559),
                new PromptImageSize(3000, 2000), new PromptImageSize(4000, 3000), new PromptImageSize(2000, 100), new PromptImageSize(100, 2000))),
            (2, from w in Gen.Choose(1, 4000) from h in Gen.Choose(1, 4000) select new PromptImageSize(w, h)),
            // large enough that hd_num 40 and more give more than 16384 positions (cut at max_length)
            (2, from w in Gen.Choose(3000, 4500) from h in Gen.Choose(2500, 4500) select new PromptImageSize(w, h)),
            (1, from n in Gen.Choose(1, 20000) from swap in Gen.Elements(false, true) select swap ? new PromptImageSize(1, n) : new PromptImageSize(n, 1)));

    public override Gen<PromptCase> Generator =>
        Gen.Sized(s =>
            from count in Gen.Frequency((2, Gen.Constant(0)), (4, Gen.Constant(1)), (2, Gen.Constant(2)), (1, Gen.Constant(3)))
            from images in Gen.ListOf(ImageSize, count)
            from parts in Gen.ListOf(Text(s / 10 + 1), count + 1)
            from leadImage in Gen.Elements(true, false)
            from turns in Gen.Choose(0, 2)
            from history in Gen.ListOf(from q in Text(s / 15 + 1) from a in Text(s / 15 + 1) select (q, a), turns)
            from meta in Gen.Frequency((4, Gen.Constant<string?>(null)), (1, Gen.Constant<string?>(Tokenizer.Prompt.ChatPrompt.DefaultMetaInstruction)),
                (1, Gen.Constant<string?>("")), (2, Text(s / 10 + 1).Select(t => (string?)t)))
            from hd in Gen.Frequency((2, Gen.Constant(1)), (2, Gen.Choose(2, 8)), (3, Gen.Elements(24, 25)), (2, Gen.Constant(55)), (1, Gen.Choose(1, 60)))
            select new PromptCase(
                // one image without a marker goes first (upstream's rule); otherwise one marker between parts
                count == 1 && leadImage ? string.Concat(parts) : string.Join(Marker, parts),
                images, history, meta, hd));

    public override IEnumerable<PromptCase> Shrink(PromptCase c)
    {
        string[] parts = c.Query.Split(Marker);
        bool markers = parts.Length > 1;
        // drop an image (and its marker: the parts around it merge)
        for (int k = 0; k < c.Images.Count; k++)
        {
            var images = c.Images.Where((_, i) => i != k).ToList();
            string query = !markers ? c.Query
                : string.Join(Marker, parts.Take(k).Append(parts[k] + parts[k + 1]).Concat(parts.Skip(k + 2)));
            // one image left with its marker: also valid; no image left: no marker may remain
            yield return c with { Images = images, Query = query };
        }
        if (c.Images.Count == 1 && markers) yield return c with { Query = string.Concat(parts) };
        for (int t = 0; t < c.History.Count; t++) yield return c with { History = c.History.Where((_, i) => i != t).ToList() };
        if (c.Meta is not null) yield return c with { Meta = null };
        // shorter texts: each part of the query, each history text, the meta
        for (int p = 0; p < parts.Length; p++)
            foreach (var shorter in ShorterTexts(parts[p]))
            {
                var copy = (string[])parts.Clone();
                copy[p] = shorter;
                yield return c with { Query = string.Join(Marker, copy) };
            }
        for (int t = 0; t < c.History.Count; t++)
        {
            foreach (var q in ShorterTexts(c.History[t].User)) yield return c with { History = Replace(c.History, t, (q, c.History[t].Assistant)) };
            foreach (var a in ShorterTexts(c.History[t].Assistant)) yield return c with { History = Replace(c.History, t, (c.History[t].User, a)) };
        }
        if (c.Meta is { Length: > 0 } meta)
            foreach (var m in ShorterTexts(meta)) yield return c with { Meta = m };
        for (int k = 0; k < c.Images.Count; k++)
        {
            var im = c.Images[k];
            if (im.Width > 1 && im.Height > 1) yield return c with { Images = Replace(c.Images, k, new PromptImageSize(im.Width / 2, im.Height / 2)) };
            if (im.Width > 1) yield return c with { Images = Replace(c.Images, k, im with { Width = im.Width / 2 }) };
            if (im.Height > 1) yield return c with { Images = Replace(c.Images, k, im with { Height = im.Height / 2 }) };
        }
        if (c.HdNum > 1) yield return c with { HdNum = 1 };
        if (c.HdNum > 2) yield return c with { HdNum = c.HdNum / 2 };
        if (c.HdNum > 1) yield return c with { HdNum = c.HdNum - 1 };
    }

    private static List<T> Replace<T>(IReadOnlyList<T> list, int index, T value) => list.Select((x, i) => i == index ? value : x).ToList();

    /// <summary>Halves, then single characters dropped, then characters replaced by 'a' (as tokenize shrinks).</summary>
    private static IEnumerable<string> ShorterTexts(string text)
    {
        var runes = text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        int n = runes.Length;
        for (int chunk = n / 2; chunk >= 1; chunk /= 2)
            for (int start = 0; start + chunk <= n; start += chunk)
                yield return string.Concat(runes[..start]) + string.Concat(runes[(start + chunk)..]);
        for (int i = 0; i < n; i++)
            if (runes[i] != "a")
                yield return string.Concat(runes[..i]) + "a" + string.Concat(runes[(i + 1)..]);
    }

    private static int Runes(string? s) => s?.EnumerateRunes().Count() ?? 0;

    private static int Bits(int v) => 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)v);

    /// <summary>2 per character of every text, 8 per image plus the bit lengths of its sides, the bit length of hd_num, 1 for a meta.</summary>
    public override long Size(PromptCase c) =>
        2L * (Runes(c.Query.Replace(Marker, "", StringComparison.Ordinal)) + c.History.Sum(t => Runes(t.User) + Runes(t.Assistant)) + Runes(c.Meta))
        + c.Images.Sum(i => 8 + Bits(i.Width) + Bits(i.Height)) + Bits(c.HdNum) + (c.Meta is null ? 0 : 1);

    public override string Describe(PromptCase c) =>
        $"query {TokenizeSurface.Quote(c.Query)}, {c.Images.Count} image(s)"
        + (c.Images.Count > 0 ? " " + string.Join(", ", c.Images.Select(i => $"{i.Width}x{i.Height}")) : "")
        + $", {c.History.Count} history turn(s)"
        + (c.History.Count > 0 ? " " + string.Join(", ", c.History.Select(t => $"[{TokenizeSurface.Quote(t.User)}, {TokenizeSurface.Quote(t.Assistant)}]")) : "")
        + $", meta {(c.Meta is null ? "null" : c.Meta == Tokenizer.Prompt.ChatPrompt.DefaultMetaInstruction ? "(default)" : TokenizeSurface.Quote(c.Meta))}, hd_num {c.HdNum}";

    public override JsonNode ToJson(PromptCase c) => new JsonObject
    {
        ["query"] = c.Query,
        ["images"] = new JsonArray(c.Images.Select(i => (JsonNode)new JsonArray(i.Width, i.Height)).ToArray()),
        ["history"] = HistoryJson(c.History),
        ["meta"] = c.Meta,
        ["hd_num"] = c.HdNum,
    };

    private static JsonArray HistoryJson(IReadOnlyList<(string User, string Assistant)> history) =>
        new(history.Select(t => (JsonNode)new JsonArray(t.User, t.Assistant)).ToArray());

    public override PromptCase FromJson(JsonNode json)
    {
        var images = json["images"]!.AsArray().Select(i => new PromptImageSize((int)i![0]!, (int)i[1]!)).ToList();
        if (images.Any(i => i.Width < 1 || i.Height < 1)) throw new IxcException("prompt case: an image size is empty");
        var history = json["history"]!.AsArray().Select(t => ((string)t![0]!, (string)t[1]!)).ToList();
        return new PromptCase((string)json["query"]!, images, history, (string?)json["meta"], (int)json["hd_num"]!);
    }

    public override PortRequest Prepare(PromptCase c, string work)
    {
        var images = new JsonArray();
        for (int k = 0; k < c.Images.Count; k++)
        {
            var im = c.Images[k];
            string name = $"image{k}.png";
            // a cheap image of the right size: one gray ramp row repeated (only the size matters here)
            var row = new byte[im.Width];
            for (int x = 0; x < row.Length; x++) row[x] = (byte)(x * 255 / Math.Max(1, im.Width - 1));
            PngWriter.Write(Path.Combine(work, name), im.Width, im.Height, PngPixelFormat.Gray8, (_, r) => row.CopyTo(r));
            images.Add(new JsonObject { ["path"] = name, ["width"] = im.Width, ["height"] = im.Height });
        }
        return new PortRequest(Name, work, new JsonObject
        {
            ["query"] = c.Query,
            ["images"] = images,
            ["history"] = HistoryJson(c.History),
            ["meta"] = c.Meta,
            ["hd_num"] = c.HdNum,
        });
    }
}
