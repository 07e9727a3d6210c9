using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Tests;

/// <summary>The bundled tiny golden checkpoint, and modified copies of it for negative tests.</summary>
internal static class TinyCheckpoint
{
    public static string Safetensors => RepoLayout.Path("golden", "model", "tiny", "safetensors");
    public static string Bin => RepoLayout.Path("golden", "model", "tiny", "bin");
    public static string Config7B => RepoLayout.Path("golden", "model", "config-7b");

    /// <summary>
    /// Copies the safetensors form (or the sharded safetensors folder <paramref name="from"/>) into <paramref name="dir"/>,
    /// passing every tensor through <paramref name="transform"/> (return null to drop it, or a tensor with another name or shape).
    /// </summary>
    public static void CopyWith(string dir, Func<NamedTensor, NamedTensor?> transform, Action<JsonObject>? editConfig = null, string? from = null)
    {
        string src = from ?? Safetensors;
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "model.safetensors.index.json")))!.AsObject();
        var map = new JsonObject();
        foreach (var shard in index["weight_map"]!.AsObject().Select(kv => (string)kv.Value!).Distinct())
        {
            using var f = new SafetensorsFile(Path.Combine(src, shard));
            using var w = new SafetensorsWriter(Path.Combine(dir, shard));
            foreach (var t in f.Tensors)
            {
                var u = transform(t);
                if (u is null) continue;
                w.Add(u);
                map[u.Name] = shard;
            }
            w.Commit(f.Metadata);
        }
        index["weight_map"] = map;
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), index.ToJsonString());
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Copy(Path.Combine(src, "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
    }

    public static NamedTensor Renamed(NamedTensor t, string name) => new(name, t.DType, t.Shape, t.Data);

    /// <summary>A tensor with one dimension less in its last axis (data truncated accordingly).</summary>
    public static NamedTensor Narrowed(NamedTensor t)
    {
        var shape = (long[])t.Shape.Clone();
        shape[^1] -= 1;
        var bytes = t.Data.Bytes.Slice(0, checked((int)(Shape.Numel(shape) * t.DType.Size()))).ToArray();
        return new NamedTensor(t.Name, t.DType, shape, TensorBuffer.FromArray(bytes));
    }
}
