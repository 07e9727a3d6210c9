namespace IXC25.Cli.Commands;

/// <summary>
/// The upper bounds of numeric options that are not the type's own (docs/CLI-LIMITS.md gives each bound's reason).
/// Counts whose real limit is memory (context, new tokens, pixels) are bounded by their type here and by the
/// memory checks at run time.
/// </summary>
internal static class OptionLimits
{
    /// <summary>Worker threads: far above any machine this runs on; results do not depend on the count.</summary>
    public const int MaxThreads = 1024;

    /// <summary>hd_num: upstream uses 24 (one image), 6 (several) and 55 (its 4K examples); 256 leaves room, and an
    /// image is never enlarged past ceil(long side / 560) crops whatever hd_num says.</summary>
    public const int MaxHdNum = 256;

    /// <summary>drift --steps: each step runs the reference and the quantized model once more and keeps both logits rows.</summary>
    public const int MaxDriftSteps = 4096;

    /// <summary>Beams: each holds its own KV cache; upstream's examples use 3.</summary>
    public const int MaxBeams = 64;

    /// <summary>Temperature above 0 (HF refuses 0 and below); past 100 every distribution is already flat to within float precision.</summary>
    public const double MaxTemperature = 100;

    /// <summary>Repetition penalty above 0 (HF refuses 0 and below); upstream uses 1.005.</summary>
    public const double MaxRepetitionPenalty = 100;

    /// <summary>demo: the golden holds 32 greedy tokens; more runs on without a comparison.</summary>
    public const int MaxDemoTokens = 4096;

    /// <summary>conform: cases per surface.</summary>
    public const int MaxCases = 1_000_000;

    /// <summary>conform: seconds one request may take (one day).</summary>
    public const double MaxTimeoutSeconds = 86400;

    /// <summary>rope-table: head dimension (the model's is 128).</summary>
    public const int MaxHeadDim = 65536;

    /// <summary>--device: an index among the GPUs of one kind, far above the 8-16 one machine holds; the backend
    /// names how many there are when the index is past them.</summary>
    public const int MaxDevice = 255;
}
