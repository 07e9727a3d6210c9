using System.Linq;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>
/// The register-blocked kernels of the 256-bit tiers (AvxVnni, Avx2), implementing the hand-written
/// <c>IQuantBlockedKernels</c> (docs/QUANT.md, "Kernels"). Both compute every output with the spec's dot, bit for bit:
/// the integer block sums are exact in any order, and the float part runs per output in the one order of the spec
/// (p_b = float(s_b - off_b) * (scale_w * scale_a), lane b mod 16 in block order from +0, lanes summed pairwise).
/// <list type="bullet">
/// <item><b>GEMM</b> (T &gt; 1): a panel of <c>TileRows</c> weight rows and each x row are repacked so that a group of 8
/// blocks is 8 vectors whose dword lane j holds 4 values of block j (<c>PackPanel</c>, <c>PackActivations</c>): 8
/// <c>vpdpbusd</c> then leave the 8 block sums in the 8 lanes, no horizontal reduction. A tile of TileRows x TileCols
/// outputs keeps its integer sums in registers, sharing each weight vector over the x rows and each activation vector
/// over the weight rows; the float lanes of each output live in a small stack buffer. Panel values are unsigned: the
/// q4_0 nibble, or on AvxVnni the q8_0 value + 128 (<c>PanelOffset</c>); the offset comes back exactly as
/// <c>- offset * sum(qa)</c> per block, the accumulator's start. Avx2 keeps q8_0 signed (|w| and the sign moved onto the
/// activation: <c>pmaddubsw</c> pairs of 255 * 127 would saturate).</item>
/// <item><b>GEMV</b> (decode): four weight rows per pass over one x row in the stored layout. q4_0 loads two blocks (32
/// bytes) at once against activations stored in pairs of half blocks, so each vector holds 4 partial sums of 2 blocks and
/// 8 blocks reduce in 3 <c>phaddd</c> and one lane permutation; q8_0 reduces 8 blocks in the 8-to-8 <c>phaddd</c> tree.
/// The block sums go straight into the float part, held in registers (two 8-lane accumulators per row).</item>
/// </list>
/// </summary>
internal static partial class QuantEmitter
{
    /// <summary>The blocked shape of a tier: GEMM tile TileRows x TileCols, and whether the integer step is vpdpbusd.</summary>
    private sealed record Blocking(int TileRows, int TileCols, bool Vnni);

    private static Blocking? BlockingOf(Tier t) => t.Display switch
    {
        "AvxVnni" => new Blocking(4, 4, true),
        "Avx2" => new Blocking(4, 2, false),
        _ => null,
    };

    private static bool Nibbles(QuantFormatSpec f) => f.Packing == "nibbles_half";

    private static void EmitBlocked(CodeWriter w, Tier t, Blocking k, QuantSpec q)
    {
        int R = k.TileRows, T = k.TileCols;
        w.Line($"public static int TileRows => {R};");
        w.Line($"public static int TileCols => {T};");
        w.Line();
        w.Doc("Added to the stored value in a GEMM panel (so that panel values are unsigned bytes).");
        w.Open("public static int PanelOffset(int format)");
        w.Open("switch (format)");
        for (int i = 0; i < q.Formats.Count; i++)
            w.Line($"case {i}: return {(Nibbles(q.Formats[i]) ? q.Formats[i].Offset : k.Vnni ? 128 : 0)};");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(format));");
        w.Close();
        w.Close();
        w.Line();

        // the integer step
        w.Line(Inline);
        w.Open("private static Vector256<int> Dp(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s)");
        w.Line(k.Vnni
            ? "return AvxVnni.MultiplyWideningAndAdd(acc, u, s);"
            : "return acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1));");
        w.Close();
        w.Line();

        // exact f16 -> f32 of 8 scales
        w.Line(Inline);
        w.Open("private static Vector256<float> Wd(ushort* h)");
        w.Line("Vector256<uint> x = Avx2.ConvertToVector256Int32(h).AsUInt32();");
        w.Line("Vector256<float> mag = ((x & Vector256.Create(0x7FFFu)) << 13).AsSingle() * Vector256.Create(5.192296858534828E+33f);");
        w.Line("return (mag.AsUInt32() | ((x & Vector256.Create(0x8000u)) << 16)).AsSingle();");
        w.Close();
        w.Line();

        // the pairwise end of the 16 lanes
        w.Line(Inline);
        w.Open("private static float Final(Vector256<float> e, Vector256<float> o)");
        w.Line("Vector256<float> r8 = e + o;");
        w.Line("Vector128<float> r4 = r8.GetLower() + r8.GetUpper();");
        w.Line("return (r4.GetElement(0) + r4.GetElement(2)) + (r4.GetElement(1) + r4.GetElement(3));");
        w.Close();
        w.Line();

        EmitInterleave(w);
        EmitPackPanel(w, k, q);
        EmitPackActivations(w);
        w.Doc($"One tile of the GEMM: outv[t * {R} + r] = dot(panel row r, x row t) for r < {R}, t < {T}; act holds {T} packed rows (PackActivations with kStride {T * 32}), da and off {T} rows at stride sStride (blocks), nbp blocks (a multiple of 8).");
        w.Line(Hot);
        w.Open("public static void GemmTile(int format, byte* panel, float* pscales, sbyte* act, float* da, int* off, nint sStride, int nbp, float* outv)");
        w.Open("switch (format)");
        for (int i = 0; i < q.Formats.Count; i++)
            w.Line($"case {i}: Tile{Pascal(q.Formats[i].Name)}(panel, pscales, act, da, off, sStride, nbp, outv); break;");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(format));");
        w.Close();
        w.Close();
        w.Line();
        foreach (var f in q.Formats) EmitTile(w, k, f);
        EmitGemv(w, q);
    }

    /// <summary>Interleave: 8 blocks of 32 values (256 bytes, natural order) become 8 vectors, vector j holding dword j of every block.</summary>
    private static void EmitInterleave(CodeWriter w)
    {
        w.Doc("dst[k * dstStride + 4 j + i] = src[32 j + 4 k + i] ^ xor: vector k of a group holds values 4k..4k+3 of each of its 8 blocks.");
        w.Line(Inline);
        w.Open("private static void Interleave(byte* src, byte* dst, nint dstStride, byte xor)");
        w.Line("// an 8 x 8 transpose of dwords: unpack 32-bit, unpack 64-bit, swap 128-bit halves");
        for (int j = 0; j < 8; j++) w.Line($"Vector256<int> v{j} = Vector256.Load((int*)(src + {j * 32}));");
        for (int j = 0; j < 8; j += 2)
            w.Line($"Vector256<long> t{j} = Avx2.UnpackLow(v{j}, v{j + 1}).AsInt64(), t{j + 1} = Avx2.UnpackHigh(v{j}, v{j + 1}).AsInt64();");
        w.Line("Vector256<byte> u0 = Avx2.UnpackLow(t0, t2).AsByte(), u1 = Avx2.UnpackHigh(t0, t2).AsByte(), u2 = Avx2.UnpackLow(t1, t3).AsByte(), u3 = Avx2.UnpackHigh(t1, t3).AsByte();");
        w.Line("Vector256<byte> u4 = Avx2.UnpackLow(t4, t6).AsByte(), u5 = Avx2.UnpackHigh(t4, t6).AsByte(), u6 = Avx2.UnpackLow(t5, t7).AsByte(), u7 = Avx2.UnpackHigh(t5, t7).AsByte();");
        w.Line("Vector256<byte> x = Vector256.Create(xor);");
        for (int k = 0; k < 4; k++)
        {
            w.Line($"Vector256.Store(Avx2.Permute2x128(u{k}, u{k + 4}, 0x20) ^ x, dst + {k} * dstStride);");
            w.Line($"Vector256.Store(Avx2.Permute2x128(u{k}, u{k + 4}, 0x31) ^ x, dst + {k + 4} * dstStride);");
        }
        w.Close();
        w.Line();
    }

    private static void EmitPackPanel(CodeWriter w, Blocking k, QuantSpec q)
    {
        int R = k.TileRows;
        w.Doc($"Packs weight rows [0, rows) (rows <= {R}; the others are zero) of nb blocks into a GEMM panel: panel[((g * 8 + k) * {R} + r) * 32 + 4 j + i] = value 4k + i of block 8g + j of row r, plus PanelOffset; pscales[(g * {R} + r) * 8 + j] = the block's scale as float32 (exact), 0 past nb.");
        w.Line(Hot);
        w.Open("public static void PackPanel(int format, byte* w, nint wStride, ushort* ws, nint sStride, int rows, int nb, byte* panel, float* pscales)");
        w.Line("int ng = (nb + 7) >> 3;");
        w.Line("byte* tmp = stackalloc byte[256];");
        w.Line("int qb = format switch { " + string.Join(", ", q.Formats.Select((f, i) => $"{i} => {QsBytes(f)}")) + ", _ => throw new global::System.ArgumentOutOfRangeException(nameof(format)) };");
        w.Line("bool nib = " + (q.Formats.Any(Nibbles) ? string.Join(" || ", q.Formats.Select((f, i) => (f, i)).Where(p => Nibbles(p.f)).Select(p => $"format == {p.i}")) : "false") + ";");
        w.Line("byte xor = (byte)PanelOffset(format);");
        w.Line("if (nib) xor = 0; // nibbles are unsigned already: the offset is in the definition");
        w.Open($"for (int r = 0; r < {R}; r++)");
        w.Open("for (int g = 0; g < ng; g++)");
        w.Line("int n = r < rows ? global::System.Math.Min(8, nb - 8 * g) : 0;");
        w.Line("byte* src = w + r * wStride + (nint)g * 8 * qb;");
        w.Line("if (n < 8) new global::System.Span<byte>(tmp, 256).Clear();");
        w.Open("if (nib)");
        w.Line("for (int j = 0; j < n; j++) { Vector128<byte> raw = Vector128.Load(src + j * 16); Vector128<byte> m = Vector128.Create((byte)15); Vector256.Store(Vector256.Create(raw & m, Vector128.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & m), tmp + j * 32); }");
        w.Line("src = tmp;");
        w.Close();
        w.Open("else if (n < 8)");
        w.Line("global::System.Buffer.MemoryCopy(src, tmp, 256, n * 32);");
        w.Line("src = tmp;");
        w.Close();
        w.Line($"Interleave(src, panel + ((nint)g * 8 * {R} + r) * 32, {R} * 32, xor);");
        w.Line($"float* ps = pscales + ((nint)g * {R} + r) * 8;");
        w.Line("if (n == 8) Vector256.Store(Wd(ws + r * sStride + g * 8), ps);");
        w.Line("else for (int j = 0; j < 8; j++) ps[j] = j < n ? (float)global::System.BitConverter.UInt16BitsToHalf(ws[r * sStride + g * 8 + j]) : 0f;");
        w.Close();
        w.Close();
        w.Close();
        w.Line();
    }

    private static void EmitPackActivations(CodeWriter w)
    {
        w.Doc("Packs one row of q8 activations (nb blocks) for the GEMM: groups of 8 blocks interleaved like the panel (vector k of group g at dst + (8 g + k) * kStride), zero past nb up to a multiple of 8 blocks.");
        w.Line(Hot);
        w.Open("public static void PackActivations(sbyte* a, int nb, sbyte* dst, nint kStride)");
        w.Line("byte* tmp = stackalloc byte[256];");
        w.Open("for (int g = 0; g < (nb + 7) >> 3; g++)");
        w.Line("int n = global::System.Math.Min(8, nb - 8 * g);");
        w.Line("byte* src = (byte*)a + (nint)g * 256;");
        w.Open("if (n < 8)");
        w.Line("new global::System.Span<byte>(tmp, 256).Clear();");
        w.Line("global::System.Buffer.MemoryCopy(src, tmp, 256, n * 32);");
        w.Line("src = tmp;");
        w.Close();
        w.Line("Interleave(src, (byte*)dst + (nint)g * 8 * kStride, kStride, 0);");
        w.Close();
        w.Close();
        w.Line();
    }

    private static void EmitTile(CodeWriter w, Blocking k, QuantFormatSpec f)
    {
        int R = k.TileRows, T = k.TileCols;
        bool signedPanel = !Nibbles(f) && !k.Vnni; // Avx2 q8_0: |w| and the sign moved onto the activation
        var rs = Enumerable.Range(0, R).ToArray();
        var ts = Enumerable.Range(0, T).ToArray();
        w.Line(Hot);
        w.Open($"private static void Tile{Pascal(f.Name)}(byte* panel, float* pscales, sbyte* act, float* da, int* off, nint sStride, int nbp, float* outv)");
        w.Line($"float* acc = stackalloc float[{R * T * 16}];");
        w.Line($"new global::System.Span<float>(acc, {R * T * 16}).Clear();");
        w.Open("for (int g = 0; g < nbp >> 3; g++)");
        foreach (int t in ts) w.Line($"Vector256<int> n{t} = Vector256<int>.Zero - Vector256.Load(off + {t} * sStride + g * 8);");
        w.Line("Vector256<int> " + string.Join(", ", rs.SelectMany(r => ts.Select(t => $"c{r}{t} = n{t}"))) + ";");
        w.Line($"byte* pg = panel + (nint)g * {8 * R * 32};");
        w.Line($"sbyte* ag = act + (nint)g * {8 * T * 32};");
        w.Open($"for (int k = 0; k < 8; k++, pg += {R * 32}, ag += {T * 32})");
        foreach (int r in rs) w.Line($"Vector256<byte> w{r} = Vector256.Load(pg + {r * 32});");
        if (signedPanel) foreach (int r in rs) w.Line($"Vector256<byte> u{r} = Avx2.Abs(w{r}.AsSByte());");
        foreach (int t in ts) w.Line($"Vector256<sbyte> a{t} = Vector256.Load(ag + {t * 32});");
        foreach (int r in rs)
            foreach (int t in ts)
                w.Line(signedPanel ? $"c{r}{t} = Dp(c{r}{t}, u{r}, Avx2.Sign(a{t}, w{r}.AsSByte()));" : $"c{r}{t} = Dp(c{r}{t}, w{r}, a{t});");
        w.Close();
        foreach (int t in ts) w.Line($"Vector256<float> d{t} = Vector256.Load(da + {t} * sStride + g * 8);");
        foreach (int r in rs) w.Line($"Vector256<float> s{r} = Vector256.Load(pscales + ((nint)g * {R} + {r}) * 8);");
        w.Line("float* ah = acc + ((g & 1) << 3);");
        foreach (int r in rs)
            foreach (int t in ts)
                w.Line($"Vector256.Store(Vector256.Load(ah + {(r * T + t) * 16}) + Vector256.ConvertToSingle(c{r}{t}) * (s{r} * d{t}), ah + {(r * T + t) * 16});");
        w.Close();
        foreach (int r in rs)
            foreach (int t in ts)
                w.Line($"outv[{t * R + r}] = Final(Vector256.Load(acc + {(r * T + t) * 16}), Vector256.Load(acc + {(r * T + t) * 16 + 8}));");
        w.Close();
        w.Line();
    }

    private static void EmitGemv(CodeWriter w, QuantSpec q)
    {
        w.Doc("Lays out one row of q8 activations (nb blocks) for GemvRows, zero past nb up to a multiple of 8 blocks: q8_0 as is; q4_0 in pairs of blocks (b, b + 1) as [b 0..15, b+1 0..15, b 16..31, b+1 16..31].");
        w.Line(Hot);
        w.Open("public static void PackGemvActivations(int format, sbyte* a, int nb, sbyte* dst)");
        w.Line("int nbp = (nb + 7) & ~7;");
        w.Open("switch (format)");
        for (int i = 0; i < q.Formats.Count; i++)
        {
            w.Open($"case {i}:");
            if (Nibbles(q.Formats[i]))
            {
                w.Open("for (int p = 0; p < nbp / 2; p++)");
                w.Line("Vector256<sbyte> x = 2 * p < nb ? Vector256.Load(a + (nint)p * 64) : default, y = 2 * p + 1 < nb ? Vector256.Load(a + (nint)p * 64 + 32) : default;");
                w.Line("Vector256.Store(Avx2.Permute2x128(x, y, 0x20), dst + (nint)p * 64);");
                w.Line("Vector256.Store(Avx2.Permute2x128(x, y, 0x31), dst + (nint)p * 64 + 32);");
                w.Close();
            }
            else
            {
                w.Line("global::System.Buffer.MemoryCopy(a, dst, (long)nbp * 32, (long)nb * 32);");
                w.Line("new global::System.Span<sbyte>(dst + (nint)nb * 32, (nbp - nb) * 32).Clear();");
            }
            w.Line("break;");
            w.Close();
        }
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(format));");
        w.Close();
        w.Close();
        w.Line();

        w.Doc("outv[r] = dot(weight row r, x row) for r < rows (rows <= 4), weights in the stored layout (row stride wStride bytes, scales sStride), activations from PackGemvActivations, da and off (offset * sum(qa)) padded to a multiple of 8 blocks.");
        w.Line(Hot);
        w.Open("public static void GemvRows(int format, byte* w, nint wStride, ushort* ws, nint sStride, int rows, sbyte* a, float* da, int* off, int nb, float* outv)");
        w.Open("switch (format)");
        for (int i = 0; i < q.Formats.Count; i++)
            w.Line($"case {i}: Gemv{Pascal(q.Formats[i].Name)}(w, wStride, ws, sStride, rows, a, da, off, nb, outv); break;");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(format));");
        w.Close();
        w.Close();
        w.Line();
        foreach (var f in q.Formats)
        {
            EmitGroupSums(w, f);
            EmitGemvFormat(w, f);
        }
    }

    /// <summary>The 8 block sums of one group of a weight row (stored layout) against GemvRows' activations, in block order.</summary>
    private static void EmitGroupSums(CodeWriter w, QuantFormatSpec f)
    {
        w.Line(Inline);
        w.Open($"private static Vector256<int> Group{Pascal(f.Name)}(byte* w, sbyte* a)");
        if (Nibbles(f))
        {
            w.Line("Vector256<byte> m = Vector256.Create((byte)15);");
            for (int p = 0; p < 4; p++)
            {
                w.Line($"Vector256<byte> r{p} = Vector256.Load(w + {p * 32});");
                w.Line($"Vector256<int> v{p} = Dp(Dp(Vector256<int>.Zero, r{p} & m, Vector256.Load(a + {p * 64})), Vector256.ShiftRightLogical(r{p}.AsUInt16(), 4).AsByte() & m, Vector256.Load(a + {p * 64 + 32}));");
            }
            w.Line("// lanes 0-3 of v_p hold block 2p, lanes 4-7 block 2p + 1: the phaddd tree leaves blocks 0 2 4 6 | 1 3 5 7");
            w.Line("Vector256<int> h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v0, v1), Avx2.HorizontalAdd(v2, v3));");
            w.Line("return Avx2.PermuteVar8x32(h, Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7));");
        }
        else
        {
            for (int j = 0; j < 8; j++)
                w.Line($"Vector256<sbyte> w{j} = Vector256.Load((sbyte*)w + {j * 32}); Vector256<int> v{j} = Dp(Vector256<int>.Zero, Avx2.Abs(w{j}), Avx2.Sign(Vector256.Load(a + {j * 32}), w{j}));");
            w.Line("Vector256<int> lo = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v0, v1), Avx2.HorizontalAdd(v2, v3)), hi = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v4, v5), Avx2.HorizontalAdd(v6, v7));");
            w.Line("return Avx2.Permute2x128(lo, hi, 0x20) + Avx2.Permute2x128(lo, hi, 0x31);");
        }
        w.Close();
        w.Line();
    }

    /// <summary>GEMV software prefetch distance in groups of 8 blocks (about 2 KiB ahead in each of the four rows).</summary>
    private static int PrefetchGroups(QuantFormatSpec f) => 2048 / (8 * QsBytes(f));

    private static void EmitGemvFormat(CodeWriter w, QuantFormatSpec f)
    {
        int qb = QsBytes(f);
        bool nib = Nibbles(f);
        var rs = Enumerable.Range(0, 4).ToArray();
        w.Line(Hot);
        w.Open($"private static void Gemv{Pascal(f.Name)}(byte* w, nint wStride, ushort* ws, nint sStride, int rows, sbyte* a, float* da, int* off, int nb, float* outv)");
        foreach (int r in rs)
            w.Line(r == 0 ? "byte* w0 = w; ushort* h0 = ws;" : $"byte* w{r} = rows > {r} ? w + {r} * wStride : w; ushort* h{r} = rows > {r} ? ws + {r} * sStride : ws;");
        w.Line("int ng = nb >> 3, ngp = (nb + 7) >> 3;");
        w.Line($"byte* tq = stackalloc byte[{4 * 8 * qb}];");
        w.Line("ushort* th = stackalloc ushort[32];");
        w.Line("Vector256<float> " + string.Join(", ", rs.Select(r => $"e{r} = default, o{r} = default")) + ";");
        w.Open("for (int g = 0; g < ngp; g++)");
        w.Open("if (g == ng)");
        w.Line("// the last, partial group: its blocks copied to zeroed buffers, the row pointers moved so that group g lands there");
        w.Line($"new global::System.Span<byte>(tq, {4 * 8 * qb}).Clear();");
        w.Line("new global::System.Span<ushort>(th, 32).Clear();");
        w.Line("int n = nb - 8 * g;");
        foreach (int r in rs)
        {
            w.Line($"global::System.Buffer.MemoryCopy(w{r} + (nint)g * {8 * qb}, tq + {r * 8 * qb}, {8 * qb}, n * {qb});");
            w.Line($"global::System.Buffer.MemoryCopy(h{r} + (nint)g * 8, th + {r * 8}, 16, n * 2);");
            w.Line($"w{r} = tq + {r * 8 * qb} - (nint)g * {8 * qb}; h{r} = th + {r * 8} - (nint)g * 8;");
        }
        w.Close();
        w.Line("Vector256<float> dg = Vector256.Load(da + g * 8);");
        if (nib) w.Line("Vector256<int> og = Vector256.Load(off + g * 8);");
        w.Line("sbyte* ag = a + (nint)g * 256;");
        // software prefetch: the weight streams of the four rows, PrefetchGroups groups ahead (past the row end is harmless)
        foreach (int r in rs)
            for (int line = 0; line < 8 * qb; line += 64)
                w.Line($"Sse.Prefetch0(w{r} + (nint)(g + {PrefetchGroups(f)}) * {8 * qb} + {line});");
        foreach (int r in rs)
            w.Line($"Vector256<float> p{r} = Vector256.ConvertToSingle(Group{Pascal(f.Name)}(w{r} + (nint)g * {8 * qb}, ag){(nib ? " - og" : "")}) * (Wd(h{r} + (nint)g * 8) * dg);");
        w.Line("if ((g & 1) == 0) { " + string.Join(" ", rs.Select(r => $"e{r} += p{r};")) + " }");
        w.Line("else { " + string.Join(" ", rs.Select(r => $"o{r} += p{r};")) + " }");
        w.Close();
        w.Line("outv[0] = Final(e0, o0);");
        foreach (int r in rs.Skip(1)) w.Line($"if (rows > {r}) outv[{r}] = Final(e{r}, o{r});");
        w.Close();
        w.Line();
    }
}
