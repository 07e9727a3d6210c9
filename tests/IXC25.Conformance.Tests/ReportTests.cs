using System.Text.Json.Nodes;
using IXC25.Conformance.Kit;
using IXC25.Conformance.Ports;
using IXC25.Runtime.Compare;

namespace IXC25.Conformance.Tests;

/// <summary>The report: non-finite worst errors (a port's values where the reference's are all zero) still make valid JSON.</summary>
public sealed class ReportTests
{
    [Fact]
    public void Infinite_and_nan_errors_are_written_as_strings()
    {
        var tol = ToleranceLookup.Class("exact");
        var surface = new SurfaceReport("op") { Covered = true };
        surface.Add(new CaseVerdict(Outcome.Fail, ["x"], [new TensorStat("y", "exact", new CompareResult(4, double.PositiveInfinity, double.NaN, double.PositiveInfinity, 0, false, tol))], []));
        var report = new ConformanceReport(new PortInfo("p", "1", ["op"]), 1);
        report.Surfaces.Add(surface);
        var json = JsonNode.Parse(report.ToJson().ToJsonString())!;
        var worst = json["surfaces"]![0]!["worst_by_class"]!["exact"]!;
        Assert.Equal("inf", (string)worst["max_abs"]!);
        Assert.Equal("nan", (string)worst["max_rel"]!);
    }
}
