using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Spec;

/// <summary>
/// Validates a weight source against the spec's parameter catalog before anything is used: every
/// expected tensor present with the expected shape and a floating-point dtype, no unexpected tensor,
/// optional groups present completely or not at all, free symbols (task LoRA ranks) consistent.
/// The first problem found is an <see cref="IxcException"/> naming the tensor, the expected and the
/// actual shape. The generated <c>Bind</c> methods call this, then build the typed tree.
/// </summary>
public static class WeightBinder
{
    /// <summary>dtypes a weight may be stored in.</summary>
    public static readonly DType[] WeightDTypes = [DType.BF16, DType.F16, DType.F32];

    public sealed class Bound
    {
        internal Bound(IWeightSource source, Dictionary<string, ParamInfo> byKey, IReadOnlyDictionary<string, int> free, IReadOnlySet<string> groups)
        {
            Source = source;
            _byKey = byKey;
            FreeSymbols = free;
            Groups = groups;
        }

        private readonly Dictionary<string, ParamInfo> _byKey;
        public IWeightSource Source { get; }
        /// <summary>Values of the free symbols read from the checkpoint (e.g. RSFT = 8).</summary>
        public IReadOnlyDictionary<string, int> FreeSymbols { get; }
        /// <summary>Optional groups present in the checkpoint.</summary>
        public IReadOnlySet<string> Groups { get; }

        public NamedTensor Get(string key) => _byKey.ContainsKey(key) ? Source.Get(key) : throw new InvalidOperationException($"'{key}' is not in the catalog");

        public NamedTensor? GetOptional(string key, string group) => Groups.Contains(group) ? Get(key) : null;
    }

    public static Bound Bind(IReadOnlyList<ParamInfo> catalog, IWeightSource source)
    {
        var byKey = new Dictionary<string, ParamInfo>(StringComparer.Ordinal);
        foreach (var p in catalog) byKey[p.Key] = p;
        var names = new HashSet<string>(source.Names, StringComparer.Ordinal);

        // unexpected tensors first: a renamed tensor shows up here with its new name
        var extra = names.Where(n => !byKey.ContainsKey(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
        {
            source.TryGetInfo(extra[0], out var edt, out var esh);
            string more = extra.Count > 1 ? $" (and {extra.Count - 1} more: {string.Join(", ", extra.Skip(1).Take(3))}{(extra.Count > 4 ? ", ..." : "")})" : "";
            throw new IxcException($"{source.Description}: unexpected tensor '{extra[0]}' {edt.SpecName()}{Shape.Format(esh)} is not part of the IXC-2.5 spec{more}");
        }

        // optional groups: all or nothing
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in catalog.Where(p => p.Group is not null).GroupBy(p => p.Group!))
        {
            var present = g.Where(p => names.Contains(p.Key)).ToList();
            if (present.Count == 0) continue;
            var missing = g.Where(p => !names.Contains(p.Key)).ToList();
            if (missing.Count > 0)
                throw new IxcException($"{source.Description}: optional group '{g.Key}' is incomplete: {present.Count} of {g.Count()} tensors present; missing tensor '{missing[0].Key}' ({missing[0].Path}, expected {ShapeDim.Format(missing[0].Shape)})");
            groups.Add(g.Key);
        }

        var free = new Dictionary<string, (int Value, string Key)>(StringComparer.Ordinal);
        foreach (var p in catalog)
        {
            if (p.Group is not null && !groups.Contains(p.Group)) continue;
            if (!source.TryGetInfo(p.Key, out var dtype, out var shape))
                throw new IxcException($"{source.Description}: missing tensor '{p.Key}' ({p.Path}, expected {ShapeDim.Format(p.Shape)} = {p.ShapeText})");
            if (Array.IndexOf(WeightDTypes, dtype) < 0)
                throw new IxcException($"{source.Description}: tensor '{p.Key}' has dtype {dtype.SpecName()}, expected bf16, f16 or f32");
            bool ok = shape.Length == p.Shape.Length;
            for (int i = 0; ok && i < shape.Length; i++)
            {
                var d = p.Shape[i];
                if (!d.IsFree) { ok = shape[i] == d.Value; continue; }
                if (free.TryGetValue(d.Free!, out var seen))
                {
                    if (seen.Value != shape[i])
                        throw new IxcException($"{source.Description}: tensor '{p.Key}' has shape {Shape.Format(shape)} with {d.Free} = {shape[i]}, but '{seen.Key}' has {d.Free} = {seen.Value}");
                }
                else if (shape[i] < 1 || shape[i] > int.MaxValue) ok = false;
                else free[d.Free!] = ((int)shape[i], p.Key);
            }
            if (!ok)
                throw new IxcException($"{source.Description}: tensor '{p.Key}' has shape {Shape.Format(shape)}, expected {ShapeDim.Format(p.Shape)} ({p.ShapeText}) for {p.Path}");
        }
        return new Bound(source, byKey, free.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal), groups);
    }
}
