using System.Reflection;
using IXC25.Runtime.Tensors;

namespace IXC25.Model;

/// <summary>
/// Every tensor a bound model holds (<see cref="Ixc25Weights"/>: the generated weight classes of spec/model.json,
/// walked by their properties, so a weight the spec adds is found without a hand-kept list), each once, in a fixed
/// order. A device backend uploads them at load (<see cref="IXC25.Graph.IDeviceBackend.UploadWeights"/>).
/// </summary>
public static class WeightTensors
{
    public static IReadOnlyList<NamedTensor> Of(Ixc25Weights weights)
    {
        var seen = new HashSet<NamedTensor>(ReferenceEqualityComparer.Instance);
        var list = new List<NamedTensor>();
        Walk(weights, seen, list);
        return list;
    }

    private static void Walk(object? node, HashSet<NamedTensor> seen, List<NamedTensor> list)
    {
        switch (node)
        {
            case null: return;
            case NamedTensor t:
                if (seen.Add(t)) list.Add(t);
                return;
            case System.Collections.IEnumerable items when node is not string:
                foreach (var item in items) Walk(item, seen, list);
                return;
        }
        var type = node.GetType();
        if (type.Namespace != typeof(Ixc25Weights).Namespace) return; // only the generated weight classes
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.GetIndexParameters().Length == 0 && IsWeightMember(p.PropertyType))
                Walk(p.GetValue(node), seen, list);
    }

    private static bool IsWeightMember(Type t) =>
        t == typeof(NamedTensor) || (t.IsArray && IsWeightMember(t.GetElementType()!)) || (t.IsClass && t.Namespace == typeof(Ixc25Weights).Namespace);
}
