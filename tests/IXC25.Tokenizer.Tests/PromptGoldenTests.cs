using System.Text.Json;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Tokenizer.Tests;

/// <summary>
/// Chat prompt layouts against golden/tokenizer/data/prompt_cases.json (interleav_wrap_chat and
/// build_inputs replicated in Python with sentencepiece; image token counts from PIL image sizes
/// with upstream's formula). Here the image token counts come from the golden; the CLI tests run the
/// same cases with the counts computed by IXC25.Vision from the image files.
/// </summary>
public class PromptGoldenTests
{
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases().EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    internal static JsonElement Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Goldens.DataPath("prompt_cases.json")));
        return doc.RootElement.Clone();
    }

    internal static JsonElement Case(string name) => Cases().EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    internal static IReadOnlyList<ChatTurn> History(JsonElement c) =>
        [.. c.GetProperty("history").EnumerateArray().Select(h => new ChatTurn(h[0].GetString()!, h[1].GetString()!))];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void LayoutMatchesTheGolden(string name)
    {
        var c = Case(name);
        var expected = c.GetProperty("expected");
        var goldenImages = expected.GetProperty("encoded_images").EnumerateArray().ToDictionary(s => s.GetProperty("index").GetInt32());
        string query = c.GetProperty("query").GetString()!;
        string? meta = c.GetProperty("meta").GetBoolean() ? ChatPrompt.DefaultMetaInstruction : null;
        PromptLayout layout;
        if (c.GetProperty("path").GetString() == "text")
        {
            layout = ChatPrompt.BuildTextOnly(Goldens.Tokenizer, query, History(c), meta);
        }
        else
        {
            var images = c.GetProperty("images").EnumerateArray().Select((p, k) => new PromptImage(p.GetString()!, hd =>
            {
                // The golden has the counts of the images upstream encodes (it stops once past max_length); asking for another one is a bug.
                Assert.True(goldenImages.TryGetValue(k, out var g), $"image {k} should not be needed");
                Assert.Equal(g.GetProperty("hd_num").GetInt32(), hd);
                return new ImageTokens(g.GetProperty("tokens").GetInt32(), g.GetProperty("grid")[0].GetInt32(), g.GetProperty("grid")[1].GetInt32());
            })).ToList();
            layout = ChatPrompt.BuildChat(Goldens.Tokenizer, query, images, History(c), meta,
                c.GetProperty("hd_num").GetInt32(), c.GetProperty("max_length").GetInt32());
        }
        AssertLayout(expected, layout);
    }

    internal static void AssertLayout(JsonElement expected, PromptLayout layout)
    {
        Assert.Equal(expected.GetProperty("total_length").GetInt32(), layout.TotalLength);
        Assert.Equal(expected.GetProperty("untruncated_length").GetInt32(), layout.UntruncatedLength);
        Assert.Equal(expected.GetProperty("truncated").GetBoolean(), layout.Truncated);
        var ranges = expected.GetProperty("im_mask_ranges").EnumerateArray().Select(r => (r[0].GetInt32(), r[1].GetInt32())).ToList();
        Assert.Equal(ranges, layout.ImageRanges);
        var segments = expected.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(segments.Count, layout.Segments.Count);
        for (int i = 0; i < segments.Count; i++)
        {
            var e = segments[i];
            var a = layout.Segments[i];
            Assert.Equal(e.GetProperty("start").GetInt32(), a.Start);
            Assert.Equal(e.GetProperty("length").GetInt32(), a.Length);
            if (e.GetProperty("type").GetString() == "text")
            {
                var t = Assert.IsType<TextSegment>(a);
                int[] ids = Goldens.Ints(e.GetProperty("ids"));
                Assert.True(ids.SequenceEqual(t.Ids), $"segment {i}: {Goldens.Diff(ids, [.. t.Ids])}");
            }
            else
            {
                var img = Assert.IsType<ImageSegment>(a);
                Assert.Equal(e.GetProperty("index").GetInt32(), img.Index);
                Assert.Equal(e.GetProperty("tokens").GetInt32(), img.Tokens);
                Assert.Equal(e.GetProperty("hd_num").GetInt32(), img.HdNum);
                Assert.Equal(e.GetProperty("grid")[0].GetInt32(), img.GridRows);
                Assert.Equal(e.GetProperty("grid")[1].GetInt32(), img.GridCols);
            }
        }
        bool[] mask = layout.ImMask();
        Assert.Equal(layout.TotalLength, mask.Length);
        Assert.Equal(ranges.Sum(r => r.Item2 - r.Item1), mask.Count(m => m));
    }

    [Fact]
    public void MarkerCountMismatchIsAClearError()
    {
        var img = new PromptImage("a.png", _ => new ImageTokens(841, 1, 1));
        var e = Assert.Throws<IxcException>(() => ChatPrompt.BuildChat(Goldens.Tokenizer, "<ImageHere> and <ImageHere>", [img]));
        Assert.Contains("2 <ImageHere> marker(s) but 1 image(s)", e.Message);
        e = Assert.Throws<IxcException>(() => ChatPrompt.BuildChat(Goldens.Tokenizer, "two images, no marker", [img, img]));
        Assert.Contains("0 <ImageHere> marker(s) but 2 image(s)", e.Message);
        e = Assert.Throws<IxcException>(() => ChatPrompt.BuildChat(Goldens.Tokenizer, "a marker <ImageHere> without image", []));
        Assert.Contains("1 <ImageHere> marker(s) but 0 image(s)", e.Message);
        Assert.Throws<IxcException>(() => ChatPrompt.BuildChat(Goldens.Tokenizer, "q", [], maxLength: 0));
    }

    [Fact]
    public void OnlyTheFirstSegmentCarriesBos()
    {
        var img = new PromptImage("a.png", _ => new ImageTokens(841, 1, 1));
        var layout = ChatPrompt.BuildChat(Goldens.Tokenizer, "A <ImageHere> B <ImageHere> C", [img, img]);
        var texts = layout.Segments.OfType<TextSegment>().ToList();
        Assert.Equal(3, texts.Count);
        Assert.Equal(1, texts[0].Ids[0]);
        Assert.All(texts.Skip(1), t => Assert.DoesNotContain(1, t.Ids));
        Assert.All(layout.Segments.OfType<ImageSegment>(), s => Assert.Equal(ChatPrompt.MultiImageHdNum, s.HdNum));
    }
}
