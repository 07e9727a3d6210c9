using IXC25.Runtime;

namespace IXC25.Cli.Tests;

[CollectionDefinition("console", DisableParallelization = true)]
public sealed class ConsoleCollection;

[Collection("console")]
public class ChatCommandTests
{
    private static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");

    [Fact]
    public void OneShotPrintsOnlyTheAnswerOnStdout()
    {
        var (code, output, err) = CliRunner.Run("chat", "--model", Tiny, "--image", RepoLayout.Path("golden", "media", "cars1.jpg"),
            "--greedy", "--max-new-tokens", "6", "Describe this image.");
        Assert.True(code == 0, err);
        Assert.Single(output.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("prompt", output);
        Assert.Contains("loading", err);
        Assert.Matches(@"prompt 8\d\d tokens; generated 6 tokens \(MaxNewTokens\)", err);
        Assert.Contains("tok/s", err);
        // the same greedy answer as the library
        using var engine = IXC25.Generation.Chat.ChatEngine.Load(Tiny);
        var reply = engine.NewSession().Ask(new IXC25.Generation.Chat.ChatRequest
        {
            Question = "Describe this image.",
            Media = [new IXC25.Model.Inference.MediaInput(RepoLayout.Path("golden", "media", "cars1.jpg"))],
            Customize = g => g with { DoSample = false, MaxNewTokens = 6 },
        });
        Assert.Equal(reply.Text + "\n", output);
    }

    [Fact]
    public void SamplingPrintsItsSeed()
    {
        var (code, _, err) = CliRunner.Run("chat", "--model", Tiny, "--max-new-tokens", "2", "Hi");
        Assert.Equal(0, code);
        Assert.Matches(@"; seed \d+", err);
    }

    [Theory]
    [InlineData("--mode", "poem", "--mode must be chat, write or web")]
    [InlineData("--top-p", "1.5", "top_p")]
    [InlineData("--backend", "tpu", "unknown backend 'tpu'")]
    public void BadOptionsAreOneLineErrors(string flag, string value, string expected)
    {
        var (code, output, err) = CliRunner.Run("chat", "--model", Tiny, flag, value, "--max-new-tokens", "2", "Hi");
        Assert.NotEqual(0, code);
        Assert.Equal("", output);
        Assert.Contains(expected, err);
    }

    [Fact]
    public void MissingImageIsAnError()
    {
        var (code, _, err) = CliRunner.Run("chat", "--model", Tiny, "--image", "/nope/x.jpg", "Hi");
        Assert.Equal(1, code);
        Assert.Contains("/nope/x.jpg: file not found", err);
    }

    [Fact]
    public void InteractiveModeKeepsTheConversation()
    {
        var input = new StringReader($"/image {RepoLayout.Path("golden", "media", "panda.jpeg")}\nWhat is this?\n/history\nAnd now?\n/exit\n");
        var saved = Console.In;
        Console.SetIn(input);
        try
        {
            var (code, output, err) = CliRunner.Run("chat", "--model", Tiny, "--greedy", "--max-new-tokens", "3");
            Assert.True(code == 0, err);
            Assert.Equal(2, output.TrimEnd('\n').Split('\n').Length);
            Assert.Contains("user: What is this?", err);
            Assert.Contains("[1 attached] > ", err);
            Assert.Matches(@"prompt 8\d\d tokens", err);   // 841 image positions + the question
        }
        finally { Console.SetIn(saved); }
    }
}
