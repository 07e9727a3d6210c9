using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;

namespace IXC25.Generators.Tests;

/// <summary>One test per diagnostic id: a spec with exactly that mistake reports it, located in the spec file.</summary>
public class DiagnosticTests
{
    private static Diagnostic Single(Dictionary<string, string> spec, string id, string file, string emit = "model,taps,ops")
    {
        var (result, _, _) = GeneratorHarness.Run(spec, emit);
        var matching = result.Diagnostics.Where(d => d.Id == id).ToList();
        Assert.True(matching.Count > 0, $"expected {id}, got: {string.Join(" | ", result.Diagnostics.Select(d => d.Id + " " + d.GetMessage()))}");
        var d = matching[0];
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        if (file.Length > 0)
        {
            Assert.Equal(Path.Combine(GeneratorHarness.SpecDir, file), d.Location.GetLineSpan().Path);
        }
        return d;
    }

    /// <summary>The text of the line the diagnostic points at.</summary>
    private static string LineOf(Dictionary<string, string> spec, string file, Diagnostic d) =>
        spec[file].Split('\n')[d.Location.GetLineSpan().StartLinePosition.Line];

    private static JsonObject Op(JsonNode ops, string name) => ops["ops"]!.AsArray().Select(o => o!.AsObject()).Single(o => (string)o["name"]! == name);
    private static JsonObject Block(JsonNode model, string name) => model["graph"]!.AsArray().Select(o => o!.AsObject()).Single(o => (string)o["name"]! == name);
    private static JsonObject ConfigKey(JsonNode model, string key) => model["config"]!.AsArray().Select(o => o!.AsObject()).Single(o => (string)o["key"]! == key);
    private static JsonObject Symbol(JsonNode model, string name) => model["symbols"]!.AsArray().Select(o => o!.AsObject()).Single(o => (string)o["name"]! == name);

    [Fact]
    public void IXC0001_InvalidJson()
    {
        var spec = GeneratorHarness.RealSpec();
        spec["ops.json"] = spec["ops.json"].Replace("\"ops\": [", "\"ops\": [,");
        var d = Single(spec, "IXC0001", "ops.json");
        Assert.Contains("\"ops\": [,", LineOf(spec, "ops.json", d));
    }

    [Fact]
    public void IXC0002_MissingField()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "gelu").Remove("doc"));
        var d = Single(spec, "IXC0002", "ops.json");
        Assert.Contains("op 'gelu': missing 'doc'", d.GetMessage());
    }

    [Fact]
    public void IXC0003_WrongType()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "gelu")["accum"] = 5);
        var d = Single(spec, "IXC0003", "ops.json");
        Assert.Contains("\"accum\": 5", LineOf(spec, "ops.json", d));
    }

    [Fact]
    public void IXC0003_ABadConfigRange()
    {
        // a range is [min, max] of two integers, min <= max, on an int key
        foreach (var (key, range) in new[] { ("num_hidden_layers", "[256, 1]"), ("num_hidden_layers", "[1]"), ("rms_norm_eps", "[0, 1]") })
        {
            var spec = GeneratorHarness.Mutate("model.json", n => ConfigKey(n, key)["range"] = JsonNode.Parse(range));
            var d = Single(spec, "IXC0003", "model.json");
            Assert.Contains($"config key '{key}': range", d.GetMessage());
        }
    }

    [Fact]
    public void IXC0004_UnknownDType()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "gelu")["inputs"]![0]!["dtype"] = "f33");
        var d = Single(spec, "IXC0004", "ops.json");
        Assert.Contains("'f33'", d.GetMessage());
        Assert.Contains("f33", LineOf(spec, "ops.json", d));
    }

    [Fact]
    public void IXC0005_UnknownSymbol()
    {
        var spec = GeneratorHarness.Mutate("model.json", n => Symbol(n, "D")["expr"] = "C / HX");
        var d = Single(spec, "IXC0005", "model.json");
        Assert.Contains("'HX'", d.GetMessage());
        Assert.Contains("C / HX", LineOf(spec, "model.json", d));
    }

    [Fact]
    public void IXC0006_DuplicateName()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "quick_gelu")["name"] = "gelu");
        var d = Single(spec, "IXC0006", "ops.json");
        Assert.Contains("op 'gelu' is defined twice", d.GetMessage());
    }

    [Fact]
    public void IXC0007_UnknownOp()
    {
        var spec = GeneratorHarness.Mutate("model.json", n => Block(n, "decoder_attn_in")["steps"]![0]!["op"] = "rms_norn");
        var d = Single(spec, "IXC0007", "model.json");
        Assert.Contains("rms_norn", LineOf(spec, "model.json", d));
    }

    [Fact]
    public void IXC0008_UnknownTolerance()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "gelu")["tolerance"] = "loose");
        var d = Single(spec, "IXC0008", "ops.json");
        Assert.Contains("'loose'", d.GetMessage());
    }

    [Fact]
    public void IXC0009_BadExpression()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "gelu")["inputs"]![0]!["shape"]![0] = "(T +");
        var d = Single(spec, "IXC0009", "ops.json");
        Assert.Contains("(T +", LineOf(spec, "ops.json", d));
    }

    [Fact]
    public void IXC0010_UnknownReference()
    {
        var spec = GeneratorHarness.Mutate("model.json", n => Block(n, "decoder_attn_in")["steps"]![0]!["in"]!["weight"] = "@attention_norm.weigth");
        var d = Single(spec, "IXC0010", "model.json");
        Assert.Contains("@attention_norm.weigth", LineOf(spec, "model.json", d));
    }

    [Fact]
    public void IXC0011_BadBinding()
    {
        var spec = GeneratorHarness.Mutate("model.json", n => Block(n, "decoder_attn_in")["steps"]![0]!["in"]!.AsObject().Remove("weight"));
        var d = Single(spec, "IXC0011", "model.json");
        Assert.Contains("required input 'weight' of op 'rms_norm'", d.GetMessage());
    }

    [Fact]
    public void IXC0012_BadAttribute()
    {
        var spec = GeneratorHarness.Mutate("model.json", n =>
        {
            var attrs = Block(n, "decoder_attn_in")["steps"]![0]!["attrs"]!.AsObject();
            attrs.Remove("eps");
            attrs["epsilon"] = 1e-5;
        });
        var d = Single(spec, "IXC0012", "model.json");
        Assert.Contains("no attribute 'epsilon'", d.GetMessage());
        Assert.Contains("epsilon", LineOf(spec, "model.json", d));
    }

    [Fact]
    public void IXC0013_UndeclaredTap()
    {
        var spec = GeneratorHarness.Mutate("model.json", n => Block(n, "decoder_attn_in")["steps"]![0]!["tap"] = "llm.layer.{i}.nowhere");
        var d = Single(spec, "IXC0013", "model.json");
        Assert.Contains("nowhere", LineOf(spec, "model.json", d));
    }

    [Fact]
    public void IXC0014_BadClass()
    {
        var spec = GeneratorHarness.Mutate("model.json", n =>
        {
            var llm = n["modules"]!.AsArray().Single(m => (string)m!["name"]! == "llm")!;
            llm["children"]!.AsArray().Single(c => (string)c!["name"]! == "output")!["class"] = "Linaer";
        });
        var d = Single(spec, "IXC0014", "model.json");
        Assert.Contains("Linaer", LineOf(spec, "model.json", d));
    }

    [Fact]
    public void IXC0015_UnsupportedSchema()
    {
        var spec = GeneratorHarness.Mutate("tolerances.json", n => n["schema"] = 2);
        var d = Single(spec, "IXC0015", "tolerances.json");
        Assert.Contains("schema 2", d.GetMessage());
    }

    [Fact]
    public void IXC0016_UnknownIndex()
    {
        var spec = GeneratorHarness.Mutate("model.json", n =>
        {
            var llm = n["modules"]!.AsArray().Single(m => (string)m!["name"]! == "llm")!;
            var layers = llm["children"]!.AsArray().Single(c => (string)c!["name"]! == "layers")!;
            layers["children"]![0]!["prefix"] = "model.layers.{j}.attention_norm";
        });
        var d = Single(spec, "IXC0016", "model.json");
        Assert.Contains("{j}", d.GetMessage());
    }

    [Fact]
    public void IXC0017_UnknownGroup()
    {
        var spec = GeneratorHarness.Mutate("model.json", n =>
        {
            var plora = n["classes"]!.AsArray().Single(c => (string)c!["name"]! == "PLoraLinear")!;
            plora["params"]![3]!["group"] = "lora_xyz";
        });
        var d = Single(spec, "IXC0017", "model.json");
        Assert.Contains("lora_xyz", LineOf(spec, "model.json", d));
    }

    [Fact]
    public void IXC0018_BadKernel()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "quick_gelu")["kernel"]!["expr"] = "x * foo(x)");
        var d = Single(spec, "IXC0018", "ops.json");
        Assert.Contains("unknown function 'foo'", d.GetMessage());
    }

    [Fact]
    public void IXC0019_UnknownConfigKey()
    {
        var spec = GeneratorHarness.Mutate("model.json", n => Symbol(n, "C")["config"] = "hidden_sizes");
        var d = Single(spec, "IXC0019", "model.json");
        Assert.Contains("hidden_sizes", LineOf(spec, "model.json", d));
    }

    [Fact]
    public void IXC0020_MissingSpecFile()
    {
        var spec = GeneratorHarness.RealSpec();
        spec.Remove("model.json");
        var d = Single(spec, "IXC0020", "", emit: "model");
        Assert.Contains("model.json", d.GetMessage());
    }

    [Fact]
    public void IXC0021_BadLowering()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "embedding")["lowering"]!["cpu"] = "simd");
        var d = Single(spec, "IXC0021", "ops.json", emit: "ops,cpu");
        Assert.Contains("op 'embedding': lowering.cpu 'simd' needs a kernel", d.GetMessage());
        Assert.Contains("\"cpu\": \"simd\"", LineOf(spec, "ops.json", d));

        spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "gelu")["lowering"]!["tpu"] = "ilgpu");
        d = Single(spec, "IXC0021", "ops.json", emit: "ops,cpu");
        Assert.Contains("unknown backend 'tpu'", d.GetMessage());
        Assert.Contains("\"tpu\"", LineOf(spec, "ops.json", d));

        spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "gelu")["lowering"]!["gpu"] = "cuda");
        d = Single(spec, "IXC0021", "ops.json", emit: "gpu");
        Assert.Contains("lowering.gpu is 'cuda', expected one of none, ilgpu", d.GetMessage());
    }

    [Fact]
    public void IXC0022_BadFold()
    {
        // "..." not first
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "rms_norm")["inputs"]![0]!["shape"] = new JsonArray("T", "...", "C"));
        var d = Single(spec, "IXC0022", "ops.json", emit: "ops");
        Assert.Contains("op 'rms_norm' input 'x': \"...\" stands once, first", d.GetMessage());
        Assert.Contains("\"shape\"", LineOf(spec, "ops.json", d));

        // an output's "..." with no input folding into that symbol
        spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "rms_norm")["outputs"]![0]!["shape"] = new JsonArray("...", "T", "C"));
        d = Single(spec, "IXC0022", "ops.json", emit: "ops");
        Assert.Contains("op 'rms_norm' output 'y': an output's \"...\" must be followed by a symbol that an input's \"...\" folds into", d.GetMessage());
    }

    [Fact]
    public void ASpecWithErrorsEmitsNothingForThatFile()
    {
        var spec = GeneratorHarness.Mutate("ops.json", n => Op(n, "gelu")["tolerance"] = "loose");
        var (result, _, _) = GeneratorHarness.Run(spec, "ops");
        Assert.Empty(result.GeneratedSources);
    }
}
