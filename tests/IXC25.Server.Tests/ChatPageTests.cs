using PuppeteerSharp;

namespace IXC25.Server.Tests;

/// <summary>
/// The chat page in a real headless browser: Debian's chromium (scripts/setup.sh installs it) driven by PuppeteerSharp.
/// PuppeteerSharp rather than Playwright .NET: it speaks the DevTools protocol from managed code, so with
/// ExecutablePath it needs nothing but the system browser (Playwright drives browsers through a bundled Node.js driver
/// and expects its own browser builds, which an offline machine cannot download).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ChatPageTests(ServerFixture f) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/setup.sh (it installs Debian's chromium)");
        _browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            Headless = true,
            ExecutablePath = Chromium,
            // root in a container: no user namespaces for the sandbox; /dev/shm may be small
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
            Timeout = 60_000,
        });
    }

    public async Task DisposeAsync() => await _browser.DisposeAsync();

    private async Task<IPage> Open()
    {
        var page = await _browser.NewPageAsync();
        page.DefaultTimeout = 60_000;
        await page.GoToAsync(f.Main.BaseAddress.ToString());
        await page.TypeAsync("#api-key", ServerFixture.Key);
        await page.EvaluateExpressionAsync("document.getElementById('api-key').dispatchEvent(new Event('change'))");
        await page.WaitForFunctionAsync($"() => document.getElementById('model').textContent === {System.Text.Json.JsonSerializer.Serialize(f.Main.ModelId)}");
        return page;
    }

    private static async Task Set(IPage page, string id, string value) =>
        await page.EvaluateFunctionAsync("(id, v) => { document.getElementById(id).value = v; }", id, value);

    [Fact]
    public async Task AnImageQuestionIsAnsweredWithTheStreamedTextOfTheApi()
    {
        string expected = f.RunAlone("Describe this image.", [IXC25.Model.Inference.MediaInput.FromBytes(ServerFixture.Cars, "cars")], g => ServerFixture.Greedy(g, 8)).Text;
        await using var page = await Open();
        await Set(page, "max-tokens", "8");
        await Set(page, "temperature", "0");
        var input = (IElementHandle)await page.QuerySelectorAsync("#file");
        await input.UploadFileAsync(IXC25.Runtime.RepoLayout.Path("golden", "media", "cars1.jpg"));
        await page.WaitForSelectorAsync("#attached img");
        await page.TypeAsync("#q", "Describe this image.");
        await page.ClickAsync("#send");
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent === 'done'");
        string answer = await page.EvaluateExpressionAsync<string>("document.querySelector('.msg.assistant:last-child .text').textContent");
        Assert.Equal(expected, answer);
        string timings = await page.EvaluateExpressionAsync<string>("document.querySelector('.msg.assistant:last-child .timings').textContent");
        Assert.Contains("8 tokens in", timings);
        Assert.Equal("length", await page.EvaluateExpressionAsync<string>("document.querySelector('.msg.assistant:last-child').dataset.finish"));
        Assert.Equal(1, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('.msg.user img').length"));
    }

    [Fact]
    public async Task TheStopButtonStopsALongGeneration()
    {
        double before = await f.Metric(f.Main, "ixc25_generations_total{reason=\"cancelled\"}");
        await using var page = await Open();
        await Set(page, "max-tokens", "5000");
        await Set(page, "temperature", "0");
        await page.TypeAsync("#q", "Tell me a very long story.");
        await page.ClickAsync("#send");
        await page.WaitForFunctionAsync("() => document.querySelector('.msg.assistant:last-child .text').textContent.length > 0");
        await page.ClickAsync("#stop");
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent === 'stopped'");
        Assert.False(await page.EvaluateExpressionAsync<bool>("document.getElementById('send').disabled"));
        // the server saw the disconnect and cancelled the generation
        await ServerFixture.Until(async () => await f.Metric(f.Main, "ixc25_generations_total{reason=\"cancelled\"}") > before, "the cancelled generation", 60);
        await ServerFixture.Until(() => f.Main.Load.Running == 0, "the slot to be free");
    }
}
