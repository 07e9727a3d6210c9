using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Ops;
using IXC25.Runtime;

namespace IXC25.Conformance.Surfaces;

/// <summary>
/// Generators of one case line per op of spec/ops.json, in the op table's syntax (<see cref="OpTableInputs"/>):
/// sizes 1, primes and non-multiples of every SIMD width (4, 8, 16 floats) next to multiples of them, growing
/// with FsCheck's size; weights f32/bf16/f16; leading dimensions; masks all/none/alt/single/random; NaN and
/// infinities in a row now and then. Each symbol is a literal (so that shrinking can lower it) or an
/// expression of literals where the spec ties sizes (H = HKV * G, S = SK * PZ, N = 1 + RW * CL).
/// </summary>
public static class OpLines
{
    /// <summary>A size: small ones always, ragged and SIMD-width ones, and large ragged ones (up to 129) at larger FsCheck sizes.</summary>
    public static Gen<int> Dim => Gen.Sized(s => s < 50
        ? Gen.Frequency((3, Gen.Elements(1, 2, 3, 5, 7)), (3, Gen.Elements(9, 13, 15, 17, 23, 31, 33)), (2, Gen.Elements(4, 8, 16, 32)))
        : Gen.Frequency((2, Gen.Elements(1, 2, 3, 5, 7)), (3, Gen.Elements(9, 13, 15, 17, 23, 31, 33)), (2, Gen.Elements(4, 8, 16, 32)), (2, Gen.Elements(47, 63, 65, 127, 129))));

    /// <summary>A small size (heads, batch, grid): 1..<paramref name="max"/>.</summary>
    private static Gen<int> Small(int max) => Gen.Choose(1, max);

    private static Gen<string> WeightDType => Gen.Elements("f32", "bf16", "f16");

    /// <summary>An optional token (absent half the time or as weighted).</summary>
    private static Gen<string> Maybe(Gen<string> token, int presentOutOf4 = 2) =>
        Gen.Frequency((presentOutOf4, token), (4 - presentOutOf4, Gen.Constant("")));

    private static Gen<string> Lead => Maybe(Small(3).Select(n => $"LEAD={n}"), 1);

    private static string Join(params string[] tokens) => string.Join(' ', tokens.Where(t => t.Length > 0));

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The line generator of an op (every op of spec/ops.json has one).</summary>
    public static Gen<string> For(string op) => op switch
    {
        "embedding" =>
            from t in Dim from v in Small(40) from c in Dim from dt in WeightDType from ids in Gen.Elements("i64", "i32")
            select Join($"T={t}", $"V={v}", $"C={c}", $"table={dt}", $"ids={ids}", "ids~V"),
        "linear" =>
            from lead in Lead from t in Dim from i in Dim from o in Dim from dt in WeightDType from bias in Gen.Elements("f32", "bf16", "f16", "none")
            select Join(lead, $"T={t}", $"IN={i}", $"OUT={(t == 1 && o == 1 ? 2 : o)}", $"dtype={dt}", $"bias={bias}"),
        "plora_linear" =>
            from t in Dim from i in Dim from o in Dim from r in Small(8) from dt in WeightDType
            from mask in Gen.Elements("all", "none", "alt", "single", "0.5") from scale in Gen.Elements(1.0, 0.5, 2.0)
            select Join($"T={t}", $"IN={i}", $"OUT={(t == 1 && o == 1 ? 2 : o)}", $"R={r}", $"dtype={dt}", $"im_mask~{mask}", $"scale={F(scale)}"),
        "rms_norm" =>
            from t in Dim from c in Dim from dt in WeightDType
            from eps in Gen.Elements(1e-2, 1e-3, 1e-4, 1e-5, 1e-6) from scale in Gen.Elements(1.0, 0.1, 0.01, 0.001)
            from special in Maybe(Gen.Constant("x!"), 1)
            select Join($"T={t}", $"C={c}", $"weight={dt}", $"eps={F(eps)}", $"x~{F(scale)}", special),
        "layer_norm" =>
            from lead in Lead from t in Dim from c in Dim from dt in WeightDType from eps in Gen.Elements(1e-5, 1e-6, 1e-3)
            from scale in Gen.Elements(1.0, 0.01) from special in Maybe(Gen.Constant("x!"), 1)
            select Join(lead, $"T={t}", $"C={c}", $"dtype={dt}", $"eps={F(eps)}", $"x~{F(scale)}", special),
        "gelu" => Unary("C", "x~3"),
        "quick_gelu" => Unary("C", "x~4"),
        "silu_gate" =>
            from lead in Lead from t in Dim from f in Dim from special in Maybe(Gen.Constant("a! b!"), 1)
            select Join(lead, $"T={t}", $"F={f}", "a~4", "b~2", special),
        "add" =>
            from lead in Lead from t in Dim from c in Dim from special in Maybe(Gen.Constant("a! b!"), 1)
            select Join(lead, $"T={t}", $"C={c}", "a~4", "b~2", special),
        "softmax" =>
            from t in Dim from k in Dim from special in Maybe(Gen.Constant("x!-inf"), 1)
            select Join($"T={t}", $"K={k}", "x~6", special),
        "rope" =>
            from hx in Small(4) from t in Dim from d in Gen.Elements(2, 4, 6, 8, 16, 34) from special in Maybe(Gen.Constant("x!"), 1)
            select Join($"HX={hx}", $"T={t}", $"D={d}", "x~2", special),
        "split_qkv" =>
            from t in Dim from hkv in Small(3) from g in Small(3) from d in Small(8)
            select Join($"T={t}", $"HKV={hkv}", $"G={g}", "H=HKV*G", $"D={d}"),
        "sdpa" =>
            from hkv in Small(3) from g in Small(3) from tk in Dim from tq in Gen.Choose(1, tk) from d in Gen.Elements(1, 2, 3, 8, 16)
            from scale in Gen.Elements(0.35, 0.18, 1.0) from causal in Gen.Elements("true", "false") from scaleQ in Gen.Elements("false", "true")
            select Join($"HKV={hkv}", $"G={g}", "H=HKV*G", $"TQ={tq}", $"TK={tk}", $"D={d}", $"scale={F(scale)}", $"causal={causal}", $"scale_q={scaleQ}"),
        "attention" =>
            from hkv in Small(3) from g in Small(3) from d in Gen.Elements(2, 4, 6, 8, 16) from t in Dim from tp in Gen.Elements(0, 1, 5, 13, 40)
            from past in Gen.Elements(true, false)
            select Join($"HKV={hkv}", $"G={g}", "H=HKV*G", $"D={d}", $"T={t}", $"TP={tp}", past ? "" : "k_past=none v_past=none"),
        "attention_cached" =>
            from hkv in Small(3) from g in Small(3) from d in Gen.Elements(2, 4, 6, 8, 16) from t in Dim from tc in Gen.Elements(0, 1, 2, 13, 40)
            select Join($"HKV={hkv}", $"G={g}", "H=HKV*G", $"D={d}", $"T={t}", $"TC={tc}"),
        "mha" =>
            from n in Small(2) from t in Dim from heads in Small(4) from hd in Gen.Elements(1, 2, 4, 5, 8, 16) from scale in Gen.Elements(0.25, 0.1, 0.125)
            select Join($"N={n}", $"T={t}", $"NH={heads}", $"HD={hd}", "C=NH*HD", "heads=NH", $"scale={F(scale)}"),
        "clip_embed" =>
            from n in Small(2) from pz in Small(6) from sk in Small(3) from cv in Dim from dt in WeightDType
            select Join($"N={n}", $"PZ={pz}", $"SK={sk}", "S=SK*PZ", $"CV={cv}", $"dtype={dt}"),
        "merge_gn" =>
            from rw in Small(3) from cl in Small(3) from gh in Small(3) from cv in Small(8) from dt in WeightDType
            select Join($"RW={rw}", $"CL={cl}", $"GH={gh}", "G=2*GH", "N=1+RW*CL", $"CV={cv}", $"dtype={dt}"),
        "drop_first" =>
            from n in Small(3) from t in Dim from c in Dim
            select Join($"N={n}", $"T={t}", $"C={c}"),
        _ => throw new IxcException($"op '{op}' of spec/ops.json has no case generator in OpLines (add one)"),
    };

    private static Gen<string> Unary(string width, string fill) =>
        from lead in Lead from t in Dim from c in Dim from special in Maybe(Gen.Constant("x!"), 1)
        select Join(lead, $"T={t}", $"{width}={c}", fill, special);
}
