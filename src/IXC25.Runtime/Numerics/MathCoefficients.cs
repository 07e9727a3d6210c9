namespace IXC25.Runtime.Numerics;

/// <summary>
/// The coefficients of the project's vector math (exp, erf, erfc, tanh, ...): one set, used by the CPU's
/// VMath (every SIMD width) and the ILGPU kernels' GpuMath, so that both evaluate the same polynomials.
/// </summary>
public static class MathCoefficients
{
    // exp (vector tiers): e^x = 2^n e^r, n = round(x log2 e), r = x - n ln2 with ln2 = ExpLn2Hi + ExpLn2Lo
    // (ExpLn2Hi has 12 significant bits, so n ExpLn2Hi is exact), e^r = 1 + r + r^2 S(r) by Horner
    public const float ExpLog2E = 1.44269504f;
    public const float ExpLn2Hi = 0.693145751953125f;
    public const float ExpLn2Lo = 1.42860677e-06f;
    /// <summary>Arguments are clamped to [ExpMin, ExpMax]: e^ExpMin rounds to 0, e^ExpMax overflows to +inf.</summary>
    public const float ExpMin = -104f;
    public const float ExpMax = 89f;
    public const float ExpC0 = 1f;
    public const float ExpC1 = 1f;
    public const float ExpC2 = 0.49999994f;
    public const float ExpC3 = 0.166665196f;
    public const float ExpC4 = 0.0416684076f;
    public const float ExpC5 = 0.00836891402f;
    public const float ExpC6 = 0.00138141902f;

    public const float ErfSplit = 0.921875f;
    public const float ErfClamp = 4f;
    public const float TanhSplit = 0.75f;

    // erf(x) = x + x * P(x^2) on |x| < ErfSplit (P fits erf(x)/x - 1)
    public const float ErfP0 = 0.128379166f;
    public const float ErfP1 = -0.376126349f;
    public const float ErfP2 = 0.112836957f;
    public const float ErfP3 = -0.0268593989f;
    public const float ErfP4 = 0.00520103378f;
    public const float ErfP5 = -0.000814271683f;
    public const float ErfP6 = 8.37014231e-05f;

    // erf(x) = 1 - exp(Q(x)) on [ErfSplit, ErfClamp] (Q fits log erfc(x))
    public const float ErfQ0 = 0.000161322198f;
    public const float ErfQ1 = -1.129439f;
    public const float ErfQ2 = -0.633532345f;
    public const float ErfQ3 = -0.108026125f;
    public const float ErfQ4 = 0.0249062553f;
    public const float ErfQ5 = -0.00405884301f;
    public const float ErfQ6 = 0.00039830216f;
    public const float ErfQ7 = -1.45774811e-05f;
    public const float ErfQ8 = -5.02884689e-07f;

    // erfc(t) = exp(-t^2) * H(t - ErfcCenter) on [ErfcSplit1, ErfcSplit2] (H fits exp(t^2) erfc(t))
    public const float ErfcSplit1 = 0.5f;
    public const float ErfcCenter = 1.25f;
    public const float ErfcSplit2 = 2f;
    public const float ErfcClamp = 10.5f;
    public const float ErfcH0 = 0.367822915f;
    public const float ErfcH1 = -0.208821878f;
    public const float ErfcH2 = 0.106795587f;
    public const float ErfcH3 = -0.0502182692f;
    public const float ErfcH4 = 0.0220111161f;
    public const float ErfcH5 = -0.00908165425f;
    public const float ErfcH6 = 0.00355499936f;
    public const float ErfcH7 = -0.00132593629f;
    public const float ErfcH8 = 0.000467524427f;
    public const float ErfcH9 = -0.000161763659f;
    public const float ErfcH10 = 6.40110011e-05f;
    public const float ErfcH11 = -1.98585549e-05f;

    // erfc(t) = exp(-t^2) * G(1/t^2) / t on [ErfcSplit2, ErfcClamp] (G fits t exp(t^2) erfc(t))
    public const float ErfcG0 = 0.564189434f;
    public const float ErfcG1 = -0.282069415f;
    public const float ErfcG2 = 0.421568185f;
    public const float ErfcG3 = -1.01033235f;
    public const float ErfcG4 = 2.87485147f;
    public const float ErfcG5 = -7.2606473f;
    public const float ErfcG6 = 12.3633375f;
    public const float ErfcG7 = -9.83235741f;

    // tanh(x) = x + x * s * R(s), s = x^2, on |x| < TanhSplit (s R(s) fits tanh(x)/x - 1)
    public const float TanhR0 = -0.333333313f;
    public const float TanhR1 = 0.133332774f;
    public const float TanhR2 = -0.053959582f;
    public const float TanhR3 = 0.0218043681f;
    public const float TanhR4 = -0.00859667733f;
    public const float TanhR5 = 0.00296973065f;
    public const float TanhR6 = -0.000632816518f;
}
