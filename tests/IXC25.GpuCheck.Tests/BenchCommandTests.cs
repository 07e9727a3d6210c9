using System.Text.Json;
using IXC25.GpuCheck.Bench;
using IXC25.Runtime;

namespace IXC25.GpuCheck.Tests;

/// <summary>The bench end to end on the CPU backend at the small preset: every case timed, its JSON line written with the counts.</summary>
public class BenchCommandTests
{
    [Fact]
    public void EveryCaseIsTimedAndWrittenWithItsCounts()
    {
        string json = Path.Combine(Directory.CreateTempSubdirectory("ixc25-gpucheck-").FullName, "ours.jsonl");
        int rc = BenchCommand.Run(new CheckArgs(["--backend", "cpu", "--dims", "small", "--runs", "1", "--budget", "1", "--threads", "2", "--peak-bw", "0.02", "--json", json]));
        Assert.Equal(0, rc);
        var w = Workloads.Load("small");
        var rows = File.ReadAllLines(json).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var cases = BenchCase.Of(w);
        Assert.Equal(cases.Select(c => c.Name), rows.Select(r => r.GetProperty("case").GetString()));
        foreach (var (c, r) in cases.Zip(rows))
        {
            double s = r.GetProperty("median_s").GetDouble();
            Assert.True(s > 0, $"{c.Name}: {s} s");
            Assert.Equal(1, r.GetProperty("runs").GetInt32());
            Assert.Equal(WorkCounts.Flops(w, c), r.GetProperty("flops").GetDouble());
            Assert.Equal(WorkCounts.Bytes(w, c, 2, 4, 4), r.GetProperty("bytes").GetDouble());
            Assert.Equal(WorkCounts.Bytes(w, c, 2, 4, 4) / s / 0.02e12, r.GetProperty("bandwidth_fraction").GetDouble(), 1e-9);
            Assert.Equal("ixc25", r.GetProperty("side").GetString());
        }
    }

    [Fact]
    public void AGpuBackendWithoutItsDeviceIsAOneLineError()
    {
        // gpu falls back to the CPU accelerator (DeviceSelection); gpu-ocl has no fallback
        if (IXC25.Backends.Gpu.DeviceSelection.Unavailable(IXC25.Backends.Gpu.GpuDevice.OpenCL) is null) return;
        var e = Assert.Throws<IxcException>(() => BenchCommand.Run(new CheckArgs(["--backend", "gpu-ocl", "--dims", "small"])));
        Assert.Contains("OpenCL", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
