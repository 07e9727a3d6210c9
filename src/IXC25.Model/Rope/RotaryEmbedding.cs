using IXC25.Runtime;

namespace IXC25.Model.Rope;

/// <summary>Position scaling of the rotary embedding (config rope_scaling.type).</summary>
public enum RopeScaling { None, Linear, Dynamic }

/// <summary>
/// How the dynamic-NTK base is chosen across forward passes.
/// <list type="bullet">
/// <item><see cref="Hf"/> (the default): upstream's stateful module exactly. The cos/sin cache is rebuilt only when a
/// pass's total length exceeds the largest length seen so far; a rebuild beyond max_position_embeddings
/// replaces inv_freq with the NTK-scaled one, which then stays for the life of the model (later short
/// prompts use the enlarged base too), and each decode step past the previous maximum rebuilds again.</item>
/// <item><see cref="Stateless"/>: the base is chosen from the current total length only (theta up to
/// max_position_embeddings, the NTK base beyond), with no memory between passes.</item>
/// </list>
/// In both modes keys already in the KV cache keep the rotation they were stored with.
/// </summary>
public enum RopeMode { Hf, Stateless }

/// <summary>The rotary embedding's configuration (InternLM2Attention._init_rope).</summary>
public sealed record RopeConfig(int HeadDim, double Theta, int MaxPositionEmbeddings, RopeScaling Scaling, double Factor)
{
    public static RopeConfig FromConfig(Ixc25Config c)
    {
        var d = Ixc25Dims.FromConfig(c);
        var scaling = c.RopeScalingType switch
        {
            null => RopeScaling.None,
            "linear" => RopeScaling.Linear,
            "dynamic" => RopeScaling.Dynamic,
            var s => throw new IxcException($"rope_scaling.type '{s}' is not supported"),
        };
        double factor = scaling == RopeScaling.None ? 1.0 : c.RopeScalingFactor ?? throw new IxcException("config: rope_scaling needs a 'factor'");
        return Validate(new RopeConfig(d.D, c.RopeTheta, c.MaxPositionEmbeddings, scaling, factor));
    }

    public static RopeConfig Validate(RopeConfig r)
    {
        if (r.HeadDim < 2 || r.HeadDim % 2 != 0) throw new IxcException($"rope: head dim {r.HeadDim} must be even and at least 2");
        if (!(r.Theta > 0) || double.IsInfinity(r.Theta)) throw new IxcException($"rope: theta {r.Theta} must be a positive number");
        if (r.MaxPositionEmbeddings < 1) throw new IxcException($"rope: max_position_embeddings {r.MaxPositionEmbeddings} must be positive");
        // upstream's config (_rope_scaling_validation) refuses a factor below 1 (or not a float) before any module exists
        if (r.Scaling != RopeScaling.None && !(r.Factor >= 1) || double.IsInfinity(r.Factor))
            throw new IxcException($"rope: scaling factor {r.Factor} must be a number >= 1 (upstream's rope_scaling validation)");
        return r;
    }
}

/// <summary>
/// InternLM2's rotary embedding module (InternLM2RotaryEmbedding and its Linear / DynamicNTK subclasses):
/// inv_freq[i] = 1 / base^(2i / D) for i &lt; D/2, tables cos/sin(t * inv_freq) duplicated over both halves.
/// The tables are not materialized: a row is a pure function of (position, inv_freq, scaling), computed
/// on demand, so any length (98304 and beyond) costs no memory. Float32 arithmetic follows upstream
/// step by step (f32 base, f32 exponent 2i/D, f32 reciprocal, f32 products t * inv_freq); pow, cos and sin
/// are evaluated in double and rounded once, where torch uses SLEEF's float32 functions (up to 2 ulp
/// apart on inv_freq, 1 ulp on cos/sin: docs/DEVIATIONS.md). Not thread-safe: one instance per model,
/// called once per forward pass.
/// </summary>
public sealed class RotaryEmbedding
{
    private readonly float[] _baseInvFreq;

    public RotaryEmbedding(RopeConfig config, RopeMode mode = RopeMode.Hf)
    {
        Config = RopeConfig.Validate(config);
        Mode = mode;
        _baseInvFreq = InvFreq(config.Theta, config.HeadDim);
        InvFreqCurrent = _baseInvFreq;
        MaxSeqLenCached = config.MaxPositionEmbeddings; // upstream builds the cache for max_position_embeddings at init
    }

    public RopeConfig Config { get; }
    public RopeMode Mode { get; }

    /// <summary>inv_freq [D/2] used by the last pass (HF mode: the module's buffer).</summary>
    public float[] InvFreqCurrent { get; private set; }

    /// <summary>HF mode: the length the cache was last built for (upstream max_seq_len_cached).</summary>
    public int MaxSeqLenCached { get; private set; }

    /// <summary>The base used by the last pass (theta, or the NTK-scaled base).</summary>
    public double CurrentBase { get; private set; } = double.NaN;

    /// <summary>Back to the state of a freshly loaded module (as if no pass had run): base theta, cache built for max_position_embeddings.</summary>
    public void Reset()
    {
        InvFreqCurrent = _baseInvFreq;
        MaxSeqLenCached = Config.MaxPositionEmbeddings;
        CurrentBase = double.NaN;
    }

    /// <summary>
    /// Begins a forward pass whose total length (tokens in the cache + new tokens) is <paramref name="totalLength"/>:
    /// updates the module state as upstream's forward(x, seq_len) does.
    /// </summary>
    public void BeginPass(int totalLength)
    {
        if (totalLength < 1) throw new IxcException($"rope: pass length {totalLength} must be positive");
        var c = Config;
        if (Mode == RopeMode.Hf)
        {
            if (double.IsNaN(CurrentBase)) CurrentBase = c.Theta;
            if (totalLength > MaxSeqLenCached)
            {
                MaxSeqLenCached = totalLength;
                if (c.Scaling == RopeScaling.Dynamic && totalLength > c.MaxPositionEmbeddings)
                {
                    CurrentBase = NtkBase(totalLength);
                    InvFreqCurrent = InvFreq(CurrentBase, c.HeadDim);
                }
            }
        }
        else
        {
            if (c.Scaling == RopeScaling.Dynamic && totalLength > c.MaxPositionEmbeddings)
            {
                CurrentBase = NtkBase(totalLength);
                InvFreqCurrent = InvFreq(CurrentBase, c.HeadDim);
            }
            else
            {
                CurrentBase = c.Theta;
                InvFreqCurrent = _baseInvFreq;
            }
        }
    }

    /// <summary>Dynamic NTK: base * (factor * L / max_pos - (factor - 1)) ^ (D / (D - 2)), in double as upstream's Python.</summary>
    /// <remarks>With a head dim of 2 the exponent D / (D - 2) divides by zero: upstream raises ZeroDivisionError on the
    /// first pass that needs the NTK base (a length beyond max_position_embeddings), not before; so is it refused here.</remarks>
    public double NtkBase(int totalLength)
    {
        var c = Config;
        if (c.HeadDim < 4) throw new IxcException($"rope: dynamic NTK at length {totalLength} with head dim {c.HeadDim} divides by zero (D / (D - 2)); upstream raises ZeroDivisionError");
        return c.Theta * Math.Pow(c.Factor * totalLength / c.MaxPositionEmbeddings - (c.Factor - 1), (double)c.HeadDim / (c.HeadDim - 2));
    }

    /// <summary>inv_freq = 1 / (float(base) ^ (float(2i) / D)) in float32, pow evaluated in double and rounded.</summary>
    public static float[] InvFreq(double @base, int headDim)
    {
        var inv = new float[headDim / 2];
        float b = (float)@base;
        for (int i = 0; i < inv.Length; i++)
        {
            float exponent = (float)(2 * i) / headDim;
            float p = (float)Math.Pow(b, exponent);
            inv[i] = 1f / p;
        }
        return inv;
    }

    /// <summary>
    /// Writes the cos and sin rows [D] of the current tables at each position (apply_rotary_pos_emb's gather).
    /// cos/sin: [positions.Length, D].
    /// </summary>
    public void Gather(ReadOnlySpan<long> positions, Span<float> cos, Span<float> sin) =>
        Rows(positions, InvFreqCurrent, Config.Scaling == RopeScaling.Linear ? (float)Config.Factor : 1f, cos, sin);

    /// <summary>
    /// Table rows for any inv_freq [D/2]: t = float(position) (divided by <paramref name="linearFactor"/> in float32
    /// for linear scaling), f = t * inv_freq[i] in float32, row = cat(cos f, cos f) and cat(sin f, sin f).
    /// </summary>
    public static void Rows(ReadOnlySpan<long> positions, ReadOnlySpan<float> invFreq, float linearFactor, Span<float> cos, Span<float> sin)
    {
        int half = invFreq.Length, D = 2 * half;
        if (cos.Length != positions.Length * D || sin.Length != positions.Length * D)
            throw new ArgumentException("cos/sin must hold positions.Length * head_dim values");
        for (int n = 0; n < positions.Length; n++)
        {
            long p = positions[n];
            if (p < 0) throw new IxcException($"rope: negative position {p}");
            float t = p;                                  // torch.arange(..., dtype=float32)
            if (linearFactor != 1f) t /= linearFactor;    // t = t / scaling_factor
            var c = cos.Slice(n * D, D);
            var s = sin.Slice(n * D, D);
            for (int i = 0; i < half; i++)
            {
                float f = t * invFreq[i];                 // einsum("i,j->ij", t, inv_freq)
                float cv = (float)Math.Cos(f), sv = (float)Math.Sin(f);
                c[i] = cv; c[i + half] = cv;              // cat((freqs, freqs), -1)
                s[i] = sv; s[i + half] = sv;
            }
        }
    }
}
