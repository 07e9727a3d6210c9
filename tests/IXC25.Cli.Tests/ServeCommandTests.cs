using System.Net;
using System.Net.Sockets;
using IXC25.Runtime;

namespace IXC25.Cli.Tests;

/// <summary>`ixc25 serve`: bad options and an address in use are one line and exit 1, before or instead of serving (tests/IXC25.Server.Tests covers the server).</summary>
public class ServeCommandTests
{
    private static readonly string Tiny = RepoLayout.Path("golden", "model", "tiny", "safetensors");

    [Theory]
    [InlineData("--max-batch", "0", "--max-batch must be at least 1 and at most 256 (got 0)")]
    [InlineData("--max-batch", "257", "--max-batch must be at least 1 and at most 256 (got 257)")]
    [InlineData("--max-queue", "-1", "--max-queue must be at least 0 and at most 100000 (got -1)")]
    [InlineData("--host", "not-an-address", "--host must be an IP address or localhost")]
    [InlineData("--shutdown-grace", "-1", "--shutdown-grace must be at least 0 and at most 3600 (got -1)")]
    public void BadOptionsAreOneLineErrors(string option, string value, string expected)
    {
        var (code, output, err) = CliRunner.Run("serve", "--model", Tiny, "--port", "0", option, value);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains(expected, err);
        Assert.Single(err.TrimEnd('\n').Split('\n'));   // refused before the model is loaded
    }

    [Fact]
    public void AnAddressInUseIsOneLineError()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, _, err) = CliRunner.Run("serve", "--model", Tiny, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, code);
        Assert.Contains($"ixc25: cannot listen on 127.0.0.1:{port}", err);
    }
}
