using System.Text.Json;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Tests;

/// <summary>One case of golden/ops/data/&lt;op&gt;.safetensors (written by golden/ops/make_op_goldens.py).</summary>
public sealed record OpCase(string Op, int Index, string Note, IReadOnlyDictionary<string, string> Attrs, IReadOnlyDictionary<string, NamedTensor> Tensors)
{
    public override string ToString() => $"{Op}#{Index}{(Note.Length > 0 ? " (" + Note + ")" : "")}";
}

public static class OpGolden
{
    private static readonly Dictionary<string, List<OpCase>> Cache = new();

    /// <summary>All cases of an op; tensors are copied out of the file (small).</summary>
    public static IReadOnlyList<OpCase> Cases(string op)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(op, out var c)) return c;
            using var f = new SafetensorsFile(RepoLayout.Path("golden", "ops", "data", op + ".safetensors"));
            using var doc = JsonDocument.Parse(f.Metadata["cases"]);
            var list = new List<OpCase>();
            int i = 0;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                var attrs = e.GetProperty("attrs").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind switch
                {
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => p.Value.GetRawText(),
                });
                string prefix = $"c{i}.";
                var tensors = f.Tensors.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal))
                    .ToDictionary(t => t.Name[prefix.Length..], t => new NamedTensor(t.Name[prefix.Length..], t.DType, t.Shape, TensorBuffer.FromArray(t.Data.Bytes.ToArray())));
                list.Add(new OpCase(op, i, e.GetProperty("note").GetString() ?? "", attrs, tensors));
                i++;
            }
            Cache[op] = list;
            return list;
        }
    }

    public static TheoryData<string, int> AllCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var op in IXC25.Graph.OpCatalog.All)
            for (int i = 0; i < Cases(op.Name).Count; i++) data.Add(op.Name, i);
        return data;
    }
}
