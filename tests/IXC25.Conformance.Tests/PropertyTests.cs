using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Properties;
using IXC25.Conformance.Tests.Mutants;

namespace IXC25.Conformance.Tests;

/// <summary>The properties a .NET port uses in its own xunit tests: the engine holds them, a mutant does not (FsCheck shrinks it).</summary>
public sealed class PropertyTests
{
    [Fact]
    public void Engine_holds_the_tokenize_property()
    {
        using var kit = new ConformanceProperties();
        using var engine = new EnginePort("reference", threads: 2);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), kit.Tokenize(engine));
    }

    [Fact]
    public void Mutant_breaks_the_tokenize_property_and_fscheck_shrinks_it()
    {
        using var kit = new ConformanceProperties();
        using var mutant = new MutantPort("no-byte-fallback", new NoByteFallbackTokenizer());
        var e = Assert.ThrowsAny<Exception>(() => Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithReplay(12345UL, 0x9E3779B97F4A7C15UL), kit.Tokenize(mutant)));
        Assert.Contains("ids differs", e.Message);
        Assert.Contains("Falsifiable", e.Message);
    }
}
