using System.Collections.Immutable;
using System.Text.Json.Nodes;
using IXC25.Generators;
using IXC25.Runtime;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace IXC25.Generators.Tests;

/// <summary>Drives <see cref="SpecGenerator"/> through CSharpGeneratorDriver with in-memory spec files.</summary>
internal static class GeneratorHarness
{
    public const string SpecDir = "/spec";

    /// <summary>The repository's real spec files, by file name.</summary>
    public static Dictionary<string, string> RealSpec() =>
        new[] { "ops.json", "model.json", "tolerances.json", "quant.json" }.ToDictionary(f => f, f => File.ReadAllText(RepoLayout.Path("spec", f)));

    public static Dictionary<string, string> Mutate(string file, Action<JsonNode> change)
    {
        var spec = RealSpec();
        var node = JsonNode.Parse(spec[file])!;
        change(node);
        spec[file] = node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        return spec;
    }

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    /// <summary>The SDK's implicit usings, which the projects' hand-written files rely on.</summary>
    private const string ImplicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading; global using System.Threading.Tasks;";

    public static CSharpCompilation EmptyCompilation(params string[] sources) => CSharpCompilation.Create(
        "GeneratorTest",
        sources.Append(ImplicitUsings).Select(s => CSharpSyntaxTree.ParseText(s, ParseOptions)),
        References,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    private static readonly ImmutableArray<MetadataReference> References =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(IxcException).Assembly.Location))
            .ToImmutableArray();

    public static GeneratorDriver CreateDriver(Dictionary<string, string> files, string emit) =>
        CreateDriver(files.Select(kv => new MemoryText(Path.Combine(SpecDir, kv.Key), kv.Value)), emit);

    public static GeneratorDriver CreateDriver(IEnumerable<MemoryText> texts, string emit) =>
        CSharpGeneratorDriver.Create(
            [new SpecGenerator().AsSourceGenerator()],
            texts,
            new CSharpParseOptions(LanguageVersion.Preview),
            new Options(emit),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static (GeneratorRunResult Result, Compilation Output, ImmutableArray<Diagnostic> Diagnostics) Run(Dictionary<string, string> files, string emit, params string[] sources)
    {
        var driver = CreateDriver(files, emit);
        driver = driver.RunGeneratorsAndUpdateCompilation(EmptyCompilation(sources), out var output, out var diags);
        return (driver.GetRunResult().Results.Single(), output, diags);
    }

    public sealed class MemoryText(string path, string text) : AdditionalText
    {
        public override string Path => path;
        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    private sealed class Options(string emit) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Dict(new() { ["build_property.IXC25Emit"] = emit });
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Dict.Empty;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Dict.Empty;
    }

    private sealed class Dict(Dictionary<string, string> values) : AnalyzerConfigOptions
    {
        public static readonly Dict Empty = new(new());
        public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
    }
}
