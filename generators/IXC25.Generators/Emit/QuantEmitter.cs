using System;
using System.Collections.Generic;
using System.Linq;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>
/// Emits the integer dot-product kernels of the block-quantized formats of spec/quant.json (docs/QUANT.md), one struct
/// per ISA tier implementing the hand-written <c>IXC25.Backends.Cpu.Quant.IQuantKernels</c>:
/// <list type="bullet">
/// <item><c>BlockSums</c>: s[b] = sum over block b of q * qa, q the stored value (int8 for packing <c>bytes</c>, the
/// nibble 0..15 for <c>nibbles_half</c>), qa the int8 activations: exact int32 (|s| &lt;= 32 * 127 * 127 &lt; 2^31).
/// AvxVnni: <c>vpdpbusd</c> on 256 bits (the widest int8 dot .NET 10 exposes here: no Avx512Vnni class, Avx10v1 absent);
/// Avx2: <c>pmaddubsw</c> + <c>pmaddwd</c> (no saturation: pair sums &lt;= 2 * 127 * 127); Ssse3: the same on 128 bits;
/// Scalar: a loop. Signed int8 weights enter the unsigned slot as |w| with the sign moved onto the activation.</item>
/// <item><c>Combine</c>: the float part, the one order of the spec for every tier: p_b = float(s_b - off_b) * (scale_w[b]
/// * scale_a[b]), lane b mod 16 accumulates in block order from +0, lanes summed pairwise (h = 8, 4, 2, 1). Vector
/// float multiply and add round exactly as scalar ones, so the tiers agree bitwise.</item>
/// </list>
/// f16 scales are widened exactly by bits: ((h &amp; 0x7FFF) &lt;&lt; 13) as float times 2^112, sign or-ed back (finite scales only:
/// the loaders refuse others).
/// </summary>
internal static partial class QuantEmitter
{
    public const string Namespace = "IXC25.Backends.Cpu.Quant";

    private sealed record Tier(string Name, string Display, string Supported, string Doc);

    private static readonly Tier[] Tiers =
    {
        new("VnniKernels", "AvxVnni", "global::System.Runtime.Intrinsics.X86.AvxVnni.IsSupported && global::System.Runtime.Intrinsics.X86.Avx2.IsSupported",
            "AVX-VNNI: vpdpbusd on 256 bits, 8 blocks transposed into 8 sums by phaddd."),
        new("Avx2Kernels", "Avx2", "global::System.Runtime.Intrinsics.X86.Avx2.IsSupported", "AVX2: pmaddubsw + pmaddwd on 256 bits."),
        new("Ssse3Kernels", "Ssse3", "global::System.Runtime.Intrinsics.X86.Ssse3.IsSupported", "SSSE3: pmaddubsw + pmaddwd on 128 bits."),
        new("ScalarQuantKernels", "Scalar", "true", "No SIMD: the loops of the definition."),
    };

    public static IEnumerable<(string HintName, string Source)> Emit(QuantSpec q)
    {
        if (q.Formats.Count == 0) yield break;
        var w = new CodeWriter();
        w.Line("using System.Runtime.CompilerServices;");
        w.Line("using System.Runtime.Intrinsics;");
        w.Line("using System.Runtime.Intrinsics.X86;");
        w.Line();
        EmitCatalog(w, q);
        foreach (var t in Tiers) EmitTier(w, t, q);
        yield return ("QuantKernels.g.cs", CodeWriter.Header(Namespace) + w);
    }

    /// <summary>The format's name with a capital first letter (q8_0: Q8_0), for member names.</summary>
    private static string Pascal(string name) => char.ToUpperInvariant(name[0]) + name.Substring(1);

    private static void EmitCatalog(CodeWriter w, QuantSpec q)
    {
        w.Doc("The formats of spec/quant.json in spec order: the format id the kernels take is the index.");
        w.Open("internal static class QuantCatalog");
        w.Line($"public const int Block = {q.Block};");
        w.Line($"public const int Lanes = {q.Lanes};");
        for (int i = 0; i < q.Formats.Count; i++) w.Line($"public const int {Pascal(q.Formats[i].Name)} = {i};");
        w.Doc("(name, ggml type, bits, block bytes, offset, qmin, qmax, packing) per format.");
        w.Line("public static readonly (string Name, int GgmlType, int Bits, int BlockBytes, int Offset, int QMin, int QMax, string Packing)[] Formats =");
        w.Open("");
        foreach (var f in q.Formats)
            w.Line($"({CodeWriter.Str(f.Name)}, {f.GgmlType}, {f.Bits}, {f.BlockBytes}, {f.Offset}, {f.QMin}, {f.QMax}, {CodeWriter.Str(f.Packing)}),");
        w.Close(";");
        w.Close();
        w.Line();
    }

    private const string Hot = "[MethodImpl(MethodImplOptions.AggressiveOptimization)]";
    private const string Inline = "[MethodImpl(MethodImplOptions.AggressiveInlining)]";

    private static void EmitTier(CodeWriter w, Tier t, QuantSpec q)
    {
        w.Doc(t.Doc);
        var blocking = BlockingOf(t);
        w.Open($"internal unsafe struct {t.Name} : {(blocking is null ? "IQuantKernels" : "IQuantBlockedKernels")}");
        w.Line($"public static bool IsSupported => {t.Supported};");
        w.Line($"public static string Name => {CodeWriter.Str(t.Display)};");
        w.Line();
        w.Doc("s[b] = sum over block b of (stored value) * a, exact int32, for b < nb; w points at the row's first block.");
        w.Line(Hot);
        w.Open("public static void BlockSums(int format, void* w, sbyte* a, int nb, int* s)");
        w.Open("switch (format)");
        for (int i = 0; i < q.Formats.Count; i++) w.Line($"case {i}: Sums{Pascal(q.Formats[i].Name)}((byte*)w, a, nb, s); break;");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(format));");
        w.Close();
        w.Close();
        w.Line();
        foreach (var f in q.Formats) EmitSums(w, t, f);
        EmitCombine(w, t);
        if (blocking is not null) EmitBlocked(w, t, blocking, q);
        w.Close();
        w.Line();
    }

    /// <summary>Bytes of stored values per block.</summary>
    private static int QsBytes(QuantFormatSpec f) => 32 * f.Bits / 8;

    private static void EmitSums(CodeWriter w, Tier t, QuantFormatSpec f)
    {
        int qb = QsBytes(f);
        bool nib = f.Packing == "nibbles_half";
        w.Line(Hot);
        w.Open($"private static void Sums{Pascal(f.Name)}(byte* w, sbyte* a, int nb, int* s)");
        if (t.Display == "Scalar")
        {
            w.Open("for (int b = 0; b < nb; b++)");
            w.Line($"byte* wb = w + (nint)b * {qb};");
            w.Line("sbyte* ab = a + (nint)b * 32;");
            w.Line("int sum = 0;");
            if (nib)
            {
                w.Line("for (int j = 0; j < 16; j++) sum += (wb[j] & 15) * ab[j];");
                w.Line("for (int j = 0; j < 16; j++) sum += (wb[j] >> 4) * ab[j + 16];");
            }
            else w.Line("for (int j = 0; j < 32; j++) sum += (sbyte)wb[j] * ab[j];");
            w.Line("s[b] = sum;");
            w.Close();
            w.Close();
            w.Line();
            return;
        }
        bool v256 = t.Display != "Ssse3";
        int group = v256 ? 8 : 4;
        string vi = v256 ? "Vector256<int>" : "Vector128<int>";
        w.Line("int b = 0;");
        w.Open($"for (; b + {group} <= nb; b += {group})");
        for (int i = 0; i < group; i++) w.Line($"{vi} v{i} = Blk{Pascal(f.Name)}(w + (nint)(b + {i}) * {qb}, a + (nint)(b + {i}) * 32);");
        if (v256)
        {
            w.Line("Vector256<int> h01 = Avx2.HorizontalAdd(v0, v1), h23 = Avx2.HorizontalAdd(v2, v3), h45 = Avx2.HorizontalAdd(v4, v5), h67 = Avx2.HorizontalAdd(v6, v7);");
            w.Line("Vector256<int> lo = Avx2.HorizontalAdd(h01, h23), hi = Avx2.HorizontalAdd(h45, h67);");
            w.Line("Vector256.Store(Avx2.Permute2x128(lo, hi, 0x20) + Avx2.Permute2x128(lo, hi, 0x31), s + b);");
        }
        else
        {
            w.Line("Vector128.Store(Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(v0, v1), Ssse3.HorizontalAdd(v2, v3)), s + b);");
        }
        w.Close();
        w.Line($"for (; b < nb; b++) s[b] = {(v256 ? "Vector256" : "Vector128")}.Sum(Blk{Pascal(f.Name)}(w + (nint)b * {qb}, a + (nint)b * 32));");
        w.Close();
        w.Line();

        // one block's partial sums (lanes add up to the block sum)
        w.Line(Inline);
        w.Open($"private static {vi} Blk{Pascal(f.Name)}(byte* w, sbyte* a)");
        if (t.Display == "Ssse3")
        {
            w.Line("Vector128<short> ones = Vector128.Create((short)1);");
            w.Line("Vector128<sbyte> a0 = Vector128.Load(a), a1 = Vector128.Load(a + 16);");
            if (nib)
            {
                w.Line("Vector128<byte> raw = Vector128.Load(w), m = Vector128.Create((byte)15);");
                w.Line("Vector128<byte> lo = raw & m, hi = Vector128.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & m;");
                w.Line("return Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(lo, a0), ones) + Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(hi, a1), ones);");
            }
            else
            {
                w.Line("Vector128<sbyte> w0 = Vector128.Load((sbyte*)w), w1 = Vector128.Load((sbyte*)w + 16);");
                w.Line("return Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(Ssse3.Abs(w0), Ssse3.Sign(a0, w0)), ones)");
                w.Line("    + Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(Ssse3.Abs(w1), Ssse3.Sign(a1, w1)), ones);");
            }
        }
        else
        {
            w.Line("Vector256<sbyte> av = Vector256.Load(a);");
            if (nib)
            {
                w.Line("Vector128<byte> raw = Vector128.Load(w);");
                w.Line("Vector256<byte> u = Vector256.Create(raw, Vector128.ShiftRightLogical(raw.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)15);");
                w.Line("Vector256<sbyte> sv = av;");
            }
            else
            {
                w.Line("Vector256<sbyte> wv = Vector256.Load((sbyte*)w);");
                w.Line("Vector256<byte> u = Avx2.Abs(wv);");
                w.Line("Vector256<sbyte> sv = Avx2.Sign(av, wv);");
            }
            w.Line(t.Display == "AvxVnni"
                ? "return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, sv);"
                : "return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, sv), Vector256.Create((short)1));");
        }
        w.Close();
        w.Line();
    }

    private static void EmitCombine(CodeWriter w, Tier t)
    {
        w.Doc("The float part of the spec's dot over nb blocks: sum_b float(s[b] - off[b]) * (f16(dw[b]) * da[b]) in 16 lanes, pairwise (off may be null).");
        w.Line(Hot);
        w.Open("public static float Combine(int* s, int* off, ushort* dw, float* da, int nb)");
        int per; // lanes per accumulator
        string vf;
        switch (t.Display)
        {
            case "Scalar": per = 1; vf = "float"; break;
            case "Ssse3": per = 4; vf = "Vector128<float>"; break;
            default: per = 8; vf = "Vector256<float>"; break;
        }
        int nacc = 16 / per;
        w.Line($"{vf} {string.Join(", ", Enumerable.Range(0, nacc).Select(i => $"c{i} = {(per == 1 ? "0f" : "default")}"))};");
        w.Line("int b = 0;");
        w.Open("for (; b + 16 <= nb; b += 16)");
        for (int i = 0; i < nacc; i++) w.Line($"c{i} = Step(c{i}, s + b + {i * per}, off == null ? null : off + b + {i * per}, dw + b + {i * per}, da + b + {i * per});");
        w.Close();
        w.Open("if (b < nb)");
        w.Line("int* ps = stackalloc int[16]; int* po = stackalloc int[16]; ushort* pw = stackalloc ushort[16]; float* pa = stackalloc float[16];");
        w.Open("for (int j = 0; j < 16; j++)");
        w.Line("bool has = b + j < nb;");
        w.Line("ps[j] = has ? s[b + j] : 0; po[j] = has && off != null ? off[b + j] : 0; pw[j] = has ? dw[b + j] : (ushort)0; pa[j] = has ? da[b + j] : 0f;");
        w.Close();
        for (int i = 0; i < nacc; i++) w.Line($"c{i} = Step(c{i}, ps + {i * per}, po + {i * per}, pw + {i * per}, pa + {i * per});");
        w.Close();
        // pairwise: h = 8, 4, 2, 1
        switch (per)
        {
            case 8:
                w.Line("Vector256<float> r8 = c0 + c1;");
                w.Line("Vector128<float> r4 = r8.GetLower() + r8.GetUpper();");
                break;
            case 4:
                w.Line("Vector128<float> r4 = (c0 + c2) + (c1 + c3);");
                break;
        }
        if (per == 1)
        {
            for (int j = 0; j < 8; j++) w.Line($"c{j} = c{j} + c{j + 8};");
            for (int j = 0; j < 4; j++) w.Line($"c{j} = c{j} + c{j + 4};");
            w.Line("c0 = c0 + c2; c1 = c1 + c3;");
            w.Line("return c0 + c1;");
        }
        else
        {
            w.Line("float x0 = r4.GetElement(0) + r4.GetElement(2), x1 = r4.GetElement(1) + r4.GetElement(3);");
            w.Line("return x0 + x1;");
        }
        w.Close();
        w.Line();
        // one step of per lanes
        w.Line(Inline);
        w.Open($"private static {vf} Step({vf} acc, int* s, int* off, ushort* dw, float* da)");
        switch (per)
        {
            case 1:
                w.Line("int si = off == null ? *s : *s - *off;");
                w.Line("uint h = *dw;");
                w.Line("float mag = global::System.BitConverter.UInt32BitsToSingle((h & 0x7FFFu) << 13) * 5.192296858534828E+33f;");
                w.Line("float wd = global::System.BitConverter.UInt32BitsToSingle(global::System.BitConverter.SingleToUInt32Bits(mag) | ((h & 0x8000u) << 16));");
                w.Line("float prod = wd * *da;");
                w.Line("float p = (float)si * prod;");
                w.Line("return acc + p;");
                break;
            case 4:
                w.Line("Vector128<int> si = Vector128.Load(s);");
                w.Line("if (off != null) si -= Vector128.Load(off);");
                w.Line("Vector128<uint> h = Vector128.WidenLower(Vector128.CreateScalar(*(ulong*)dw).AsUInt16());");
                w.Line("Vector128<float> mag = ((h & Vector128.Create(0x7FFFu)) << 13).AsSingle() * Vector128.Create(5.192296858534828E+33f);");
                w.Line("Vector128<float> wd = (mag.AsUInt32() | ((h & Vector128.Create(0x8000u)) << 16)).AsSingle();");
                w.Line("Vector128<float> prod = wd * Vector128.Load(da);");
                w.Line("Vector128<float> p = Vector128.ConvertToSingle(si) * prod;");
                w.Line("return acc + p;");
                break;
            default:
                w.Line("Vector256<int> si = Vector256.Load(s);");
                w.Line("if (off != null) si -= Vector256.Load(off);");
                w.Line("Vector256<uint> h = Avx2.ConvertToVector256Int32(dw).AsUInt32();");
                w.Line("Vector256<float> mag = ((h & Vector256.Create(0x7FFFu)) << 13).AsSingle() * Vector256.Create(5.192296858534828E+33f);");
                w.Line("Vector256<float> wd = (mag.AsUInt32() | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();");
                w.Line("Vector256<float> prod = wd * Vector256.Load(da);");
                w.Line("Vector256<float> p = Vector256.ConvertToSingle(si) * prod;");
                w.Line("return acc + p;");
                break;
        }
        w.Close();
        w.Line();
    }
}
