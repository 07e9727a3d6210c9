using System.Globalization;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Runtime.Tensors;
using static IXC25.Backends.Tests.FastPathData;

namespace IXC25.Backends.Tests;

/// <summary>
/// The fast CPU paths (CpuOps: GEMM, attention, im2col) against PyTorch on every golden case of
/// golden/ops for linear, plora_linear, attention, sdpa, mha and clip_embed, within each op's tolerance class.
/// </summary>
[Trait("Category", "Isa")]
public class FastGoldenTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var op in new[] { "linear", "plora_linear", "attention", "sdpa", "mha", "clip_embed" })
            for (int i = 0; i < OpGolden.Cases(op).Count; i++) data.Add(op, i);
        return data;
    }

    private static int Dim(NamedTensor t, int i) => checked((int)t.Shape[i]);

    private static float Attr(OpCase c, string name) => float.Parse(c.Attrs[name], CultureInfo.InvariantCulture);

    [Theory]
    [MemberData(nameof(Cases))]
    public void FastPathMatchesPyTorch(string op, int index)
    {
        var c = OpGolden.Cases(op)[index];
        var t = c.Tensors;
        var ops = new CpuOps(2);
        var outputs = new Dictionary<string, float[]>();
        switch (op)
        {
            case "linear":
                {
                    var w = t["weight"];
                    int T = Dim(t["x"], 0), OUT = Dim(w, 0);
                    var y = new float[T * OUT];
                    ops.Linear(t["x"].ToFloat32(), T, w, t.GetValueOrDefault("bias"), y);
                    outputs["y"] = y;
                    break;
                }
            case "plora_linear":
                {
                    var w = t["weight"];
                    int T = Dim(t["x"], 0), OUT = Dim(w, 0);
                    var y = new float[T * OUT];
                    ops.PloraLinear(t["x"].ToFloat32(), T, w, t["lora_a"], t["lora_b"], t["im_mask"].AsSpan<byte>(), Attr(c, "scale"), y);
                    outputs["y"] = y;
                    break;
                }
            case "attention":
                {
                    int H = int.Parse(c.Attrs["heads"], CultureInfo.InvariantCulture), HKV = int.Parse(c.Attrs["kv_heads"], CultureInfo.InvariantCulture);
                    int D = int.Parse(c.Attrs["head_dim"], CultureInfo.InvariantCulture), T = Dim(t["qkv"], 0);
                    int TP = t.TryGetValue("k_past", out var kp) ? Dim(kp, 1) : 0;
                    var y = new float[T * H * D];
                    var k = new float[HKV * T * D];
                    var v = new float[HKV * T * D];
                    ops.Attention(t["qkv"].ToFloat32(), T, H, HKV, D, t["cos"].ToFloat32(), t["sin"].ToFloat32(),
                        kp?.ToFloat32() ?? [], t.TryGetValue("v_past", out var vp) ? vp.ToFloat32() : [], TP, y, k, v);
                    outputs["y"] = y;
                    outputs["k_new"] = k;
                    outputs["v_new"] = v;
                    break;
                }
            case "sdpa":
                {
                    var q = t["q"];
                    int H = Dim(q, 0), TQ = Dim(q, 1), D = Dim(q, 2), HKV = Dim(t["k"], 0), TK = Dim(t["k"], 1);
                    var y = new float[TQ * H * D];
                    ops.Sdpa(q.ToFloat32(), t["k"].ToFloat32(), t["v"].ToFloat32(), H, HKV, TQ, TK, D, Attr(c, "scale"),
                        c.Attrs["causal"] == "true", c.Attrs["scale_q"] == "true", y);
                    outputs["y"] = y;
                    break;
                }
            case "mha":
                {
                    var q = t["q"];
                    int N = Dim(q, 0), T = Dim(q, 1), C = Dim(q, 2);
                    var y = new float[N * T * C];
                    ops.Mha(q.ToFloat32(), t["k"].ToFloat32(), t["v"].ToFloat32(), N, T, C, int.Parse(c.Attrs["heads"], CultureInfo.InvariantCulture), Attr(c, "scale"), y);
                    outputs["y"] = y;
                    break;
                }
            case "clip_embed":
                {
                    var px = t["pixels"];
                    var w = t["patch_weight"];
                    int N = Dim(px, 0), S = Dim(px, 2), CV = Dim(w, 0), PZ = Dim(w, 2), P = (S / PZ) * (S / PZ) + 1;
                    var y = new float[N * P * CV];
                    ops.ClipEmbed(px.ToFloat32(), N, S, w, t["class_embedding"], t["position_embedding"], y);
                    outputs["y"] = y;
                    break;
                }
        }
        var tol = Tolerance(op);
        Assert.NotEmpty(outputs);
        foreach (var (name, actual) in outputs)
            AssertClose(actual, c.Tensors[name].ToFloat32(), tol, $"{c} output '{name}'");
    }
}
