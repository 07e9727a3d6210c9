using System.Xml.Linq;
using IXC25.Runtime;

namespace IXC25.Model.Tests;

/// <summary>
/// The dependency rules of the one-graph design (CONTRIBUTING.md): the model and every backend depend on the
/// contract (IXC25.Graph), never on the CPU backend; only the factory (IXC25.Backends) knows every backend.
/// </summary>
public class ProjectGraphTests
{
    private static IReadOnlyList<string> References(string project) =>
        XDocument.Load(RepoLayout.Path("src", project, project + ".csproj"))
            .Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value))
            .ToList();

    [Theory]
    [InlineData("IXC25.Model")]
    [InlineData("IXC25.Backends.Gpu")]
    [InlineData("IXC25.Backends.Reference")]
    public void DependsOnTheContractNotOnTheCpuBackend(string project)
    {
        var refs = References(project);
        Assert.DoesNotContain("IXC25.Backends.Cpu", refs);
        Assert.DoesNotContain("IXC25.Backends", refs);
        Assert.Contains("IXC25.Graph", refs);
    }

    [Fact]
    public void NoBackendDependsOnTheModelAndTheContractOnNothingButTheRuntime()
    {
        foreach (var backend in new[] { "IXC25.Backends.Cpu", "IXC25.Backends.Gpu", "IXC25.Backends.Reference" })
            Assert.DoesNotContain("IXC25.Model", References(backend));
        Assert.Equal(["IXC25.Runtime", "IXC25.Generators"], References("IXC25.Graph"));
    }
}
