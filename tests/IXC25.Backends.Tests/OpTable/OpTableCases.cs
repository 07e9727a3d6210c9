using IXC25.Conformance.Ops;

namespace IXC25.Backends.Tests.OpTable;

/// <summary>
/// The op table: one line of cases per op of spec/ops.json (as llama.cpp's test-backend-ops). Every case runs
/// through <c>OpInvoker.Invoke</c> on every backend this machine has and is compared with the reference
/// backend under the op's tolerance class (<see cref="OpTableTests"/>). Inputs are made from the spec's port
/// shapes and dtypes (<see cref="OpTableInputs"/>), so a line names only sizes, attributes and dtypes.
/// <para>Each string of a line is the cross product of its space-separated tokens:</para>
/// <list type="bullet">
/// <item><c>LEAD=2</c>: the leading dimension a port shape's "..." stands for (the vision tower's [N, T, C]); none when absent.</item>
/// <item><c>SYM=1,5,33</c>: values of a shape symbol; a value may be an expression of earlier symbols (<c>N=1+RW*CL</c>).
/// A symbol the spec ties to an attribute ("symbols" of the op) sets that attribute too.</item>
/// <item><c>attr=v1,v2</c>: attribute values (an int attribute may be a symbol expression: <c>patch=PZ</c>); unset attributes take the spec default.</item>
/// <item><c>port=f32,bf16,f16,none</c>: a port's dtype (<c>none</c> leaves an optional port out); <c>dtype=...</c> sets every
/// port that takes that dtype and is not named otherwise (the weights). Default: the port's first spec dtype.</item>
/// <item><c>port~v</c>: a float port's scale (default 1; weights of rank &gt;= 2 default to 1/sqrt(fan-in)), a u8 port's
/// probability of 1 (default 0.5) or pattern (all, none, alt, single), an integer port's exclusive upper bound (required, may be a symbol: <c>ids~V</c>).</item>
/// <item><c>port!</c>: NaN, +inf and -inf sprinkled over row 1 of the port (rows 0 and 2 stay clean);
/// <c>port!-inf</c>: also row 2 partly and row 3 wholly -inf (masked attention rows).</item>
/// </list>
/// Attention lines include more keys than one key block (256) with more queries than the decode path takes (8).
/// Sizes: 1, primes and non-multiples of every SIMD width (4, 8, 16 floats) next to multiples of them. A matmul
/// output of one element is avoided: its NMSE is its squared relative error, which cancellation near zero can
/// push past the class's bar (the matmul class is calibrated on tensors of unit-scale outputs).
/// </summary>
public static class OpTableCases
{
    public static readonly IReadOnlyDictionary<string, string[]> Lines = new Dictionary<string, string[]>
    {
        ["embedding"] = ["T=1,5,33 V=1,7 C=1,17,64 table=f32,bf16,f16 ids=i64,i32 ids~V"],
        ["linear"] = ["T=1,5,33 IN=1,7,32,129 OUT=13,48 dtype=f32,bf16,f16 bias=f32,bf16,none", "LEAD=2 T=5 IN=17 OUT=13 dtype=bf16", "T=33 IN=7,129 OUT=1 dtype=f32,bf16",
            // the GEMM driver's paths: two row blocks, three K blocks and a ragged column panel; K blocks with a short tail;
            // the dot path with a K tail of 8 and at its largest row count; the smallest blocked row count with one output
            // column; K shorter than a vector; the model's longest K (w2) on the blocked and the dot path
            "T=600 IN=530 OUT=77 dtype=f32,bf16,f16 bias=none,f32", "T=40 IN=777 OUT=45 dtype=f32,bf16,f16 bias=none,bf16",
            "T=3 IN=1000 OUT=37 dtype=f32,bf16,f16 bias=none,f16", "T=6 IN=257 OUT=70 dtype=f32,bf16,f16 bias=none,f32",
            "T=7 IN=64 OUT=1 dtype=f32,bf16,f16 bias=none,f32", "T=1 IN=2 OUT=300 dtype=f32,bf16,f16 bias=none,f32",
            "T=20,2 IN=14336 OUT=40 dtype=f32,bf16,f16 bias=none,bf16", "T=1,4,17 IN=7,129 OUT=13 dtype=f32,bf16,f16 bias=none,f32 row_exact=true"],
        ["plora_linear"] = ["T=1,7,33 IN=31,64 OUT=33 R=8 dtype=f32,bf16,f16 im_mask~0,0.5,1", "T=13 IN=33 OUT=100 R=256 im_mask~0.5 scale=0.5",
            "T=1,5,19 IN=31 OUT=33 R=8 dtype=f32,bf16 im_mask~0,0.5,1 row_exact=true"],
        ["rms_norm"] = ["T=1,5,33 C=1,7,32,129", "T=5 C=129 weight=bf16,f16", "T=3 C=4099 eps=1e-5", "T=3 C=1,40 x!"],
        ["layer_norm"] = ["T=1,5,33 C=1,7,32,129", "LEAD=2,3 T=5 C=17", "T=5 C=129 dtype=bf16,f16", "T=3 C=4099 eps=1e-6", "T=3 C=1,40 x!"],
        ["gelu"] = ["T=1,5,33 C=1,7,32,129 x~3", "T=3 C=40 x!"],
        ["quick_gelu"] = ["T=1,5,33 C=1,7,32,129 x~4", "T=3 C=40 x!"],
        ["silu_gate"] = ["T=1,5,33 F=1,7,32,129 a~4 b~2", "T=3 F=40 a! b!"],
        ["add"] = ["T=1,5,33 C=1,7,32,129 a~4 b~2", "LEAD=3 T=5 C=17", "T=3 C=40 a! b!"],
        ["softmax"] = ["T=1,5,33 K=1,7,32,129 x~6", "T=4 K=1,7,40 x~6 x!-inf"],
        ["rope"] = ["HX=1,3 T=1,5,33 D=2,8,34,128 x~2", "HX=2 T=3 D=34 x!"],
        ["split_qkv"] = ["T=1,5,33 H=1,4 HKV=1 D=2,6", "T=5 H=4,6 HKV=2 D=8"],
        ["sdpa"] = ["H=4 HKV=2 TQ=1,5,33 TK=33 D=8,16 scale=0.35 causal=true,false scale_q=false,true", "H=2 HKV=1 TQ=1 TK=70 D=32 scale=0.18"],
        ["attention"] = ["H=4 HKV=2 D=8 T=1,5,33 TP=13", "H=3 HKV=3 D=6 T=1,33 k_past=none v_past=none", "H=8 HKV=1 D=32 T=9 TP=70,600", "H=4 HKV=4 D=16 T=300 TP=0"],
        ["attention_cached"] = ["H=4 HKV=2 D=8 T=1,5,33 TC=0,13", "H=3 HKV=3 D=6 T=7 TC=2", "H=8 HKV=1 D=32 T=1 TC=300", "H=4 HKV=2 D=16 T=40 TC=260"],
        ["mha"] = ["N=1,2 T=1,5,33 C=16,48 heads=1,2,4 scale=0.25", "N=1 T=40 C=60 heads=3 scale=0.1", "N=1 T=300 C=128 heads=2 scale=0.125"],
        ["clip_embed"] = ["N=1,2 PZ=5,14 S=2*PZ,3*PZ CV=1,33 patch=PZ dtype=f32,bf16,f16"],
        ["merge_gn"] = ["RW=1,2 CL=1,3 G=2,4 N=1+RW*CL CV=1,5 dtype=f32,bf16,f16"],
        ["drop_first"] = ["N=1,3 T=1,2,33 C=1,7,32"],
    };

    private static readonly Dictionary<string, IReadOnlyList<OpTableCase>> Cache = new();

    /// <summary>Every case of an op's line; an op without a line, or a line that does not fit the spec, is an error naming it.</summary>
    public static IReadOnlyList<OpTableCase> Cases(string opName)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(opName, out var c)) return c;
            if (!Lines.TryGetValue(opName, out var line))
                throw new InvalidOperationException($"op '{opName}' has no line of cases in tests/IXC25.Backends.Tests/OpTable/OpTableCases.cs");
            var list = new List<OpTableCase>();
            foreach (var text in line) list.AddRange(OpTableInputs.Parse(opName, text, list.Count));
            Cache[opName] = list;
            return list;
        }
    }
}
