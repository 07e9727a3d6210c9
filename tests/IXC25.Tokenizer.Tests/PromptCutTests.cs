using IXC25.Tokenizer.Prompt;

namespace IXC25.Tokenizer.Tests;

/// <summary>A prompt past max_length is cut as upstream, and PromptCut says so and where the cut falls (issue 15).</summary>
public class PromptCutTests
{
    private static PromptImage Image(string name) => new(name, _ => new ImageTokens(841, 1, 1));

    private static PromptLayout Build(int maxLength, params string[] images) =>
        ChatPrompt.BuildChat(Goldens.Tokenizer, "What is in the picture?", [.. images.Select(Image)], maxLength: maxLength);

    [Fact]
    public void NothingCutNothingSaid() => Assert.Null(PromptCut.Warning(Build(ChatPrompt.DefaultMaxLength, "a.png")));

    [Fact]
    public void ACutInTheTextSaysSo()
    {
        var full = Build(ChatPrompt.DefaultMaxLength, "a.png");
        var cut = Build(full.TotalLength - 3, "a.png");
        string w = PromptCut.Warning(cut)!;
        Assert.StartsWith($"warning: the prompt has {full.TotalLength} positions and is cut to max_length {full.TotalLength - 3}, as upstream does", w);
        Assert.Contains("inside the text", w);
    }

    [Fact]
    public void ImagesAloneFillingTheWindowSaySoAndNameTheImage()
    {
        // the marker goes first: BOS, then 841 image positions; a window of 500 ends inside the image
        var cut = Build(500, "a.png");
        Assert.True(cut.Truncated);
        string w = PromptCut.Warning(cut)!;
        Assert.Contains("inside image 1 (a.png) after 499 of its 841 positions: the images alone fill max_length", w);
        Assert.Contains("the question included", w);
        // two images (each its own segment), the window ends right after the first
        PromptLayout Two(int maxLength) => ChatPrompt.BuildChat(Goldens.Tokenizer, "<ImageHere><ImageHere>Compare.", [Image("a.png"), Image("b.png")], maxLength: maxLength);
        int firstEnd = Two(ChatPrompt.DefaultMaxLength).Segments.OfType<ImageSegment>().First().End;
        Assert.Contains("right after image 1 (a.png)", PromptCut.Warning(Two(firstEnd))!);
    }
}
