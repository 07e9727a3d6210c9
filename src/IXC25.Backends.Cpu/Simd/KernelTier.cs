using System.Runtime.Intrinsics;

namespace IXC25.Backends.Cpu.Simd;

/// <summary>
/// The ISA tiers of the generated kernels: an explicit vector width each (System.Runtime.Intrinsics),
/// never <c>Vector&lt;float&gt;</c> (whose width is 8 even with AVX-512).
/// </summary>
public enum KernelTier
{
    /// <summary>One float at a time (plain C#), always available.</summary>
    Scalar = 0,
    /// <summary>Vector128&lt;float&gt;: 4 lanes (SSE, NEON).</summary>
    V128 = 1,
    /// <summary>Vector256&lt;float&gt;: 8 lanes (AVX2).</summary>
    V256 = 2,
    /// <summary>Vector512&lt;float&gt;: 16 lanes (AVX-512).</summary>
    V512 = 3,
}

/// <summary>Which tiers the hardware (and the runtime's DOTNET_Enable* switches) accelerates.</summary>
public static class KernelTiers
{
    /// <summary>The widest accelerated tier: what every generated kernel's <c>Run</c> dispatches to.</summary>
    public static KernelTier Best =>
        Vector512.IsHardwareAccelerated ? KernelTier.V512 :
        Vector256.IsHardwareAccelerated ? KernelTier.V256 :
        Vector128.IsHardwareAccelerated ? KernelTier.V128 : KernelTier.Scalar;

    /// <summary>True when the tier runs on hardware instructions (Scalar always does). A tier that is not
    /// accelerated still computes the same results, in software, slowly.</summary>
    public static bool IsAccelerated(KernelTier tier) => tier switch
    {
        KernelTier.V128 => Vector128.IsHardwareAccelerated,
        KernelTier.V256 => Vector256.IsHardwareAccelerated,
        KernelTier.V512 => Vector512.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>Every accelerated tier, narrowest first.</summary>
    public static IReadOnlyList<KernelTier> Accelerated =>
        Enum.GetValues<KernelTier>().Where(IsAccelerated).ToArray();

    /// <summary>Lanes per vector (1 for Scalar).</summary>
    public static int Width(KernelTier tier) => tier switch
    {
        KernelTier.V128 => Vector128<float>.Count,
        KernelTier.V256 => Vector256<float>.Count,
        KernelTier.V512 => Vector512<float>.Count,
        _ => 1,
    };
}
