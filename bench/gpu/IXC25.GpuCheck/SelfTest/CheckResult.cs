using System.Globalization;
using IXC25.Graph;
using IXC25.Runtime.Spec;

namespace IXC25.GpuCheck.SelfTest;

/// <summary>One line of the self-test: what was checked, whether it passed, the evidence (or the first failures).</summary>
internal sealed record CheckResult(string Name, bool Pass, string Detail, double Seconds)
{
    public override string ToString() =>
        $"{(Pass ? "PASS" : "FAIL")}  {Name}: {Detail} ({Seconds.ToString("0.0", CultureInfo.InvariantCulture)} s)";

    /// <summary>
    /// The tolerance a backend's results are held to against the reference backend: spec/tolerances.json's class, with
    /// its "gpu" override for the ILGPU backends (as OpTableTests and EndToEndGoldenTests apply it), and "exact" for
    /// the reference backend against itself.
    /// </summary>
    public static ToleranceInfo Tolerance(string backend, string toleranceClass, string? weightDType = null) =>
        backend == "reference" ? ToleranceTable.Set.Get("exact")
        : ToleranceTable.Set.Get(toleranceClass, weightDType, backend.StartsWith("gpu", StringComparison.Ordinal) ? "gpu" : backend);
}
