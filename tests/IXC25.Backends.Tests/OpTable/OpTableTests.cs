using System.Diagnostics;
using IXC25.Backends.Cpu;
using IXC25.Backends.Gpu;
using IXC25.Conformance.Ops;
using IXC25.Graph;
using IXC25.Runtime.Compare;
using IXC25.Runtime.Tensors;
using Xunit.Abstractions;

namespace IXC25.Backends.Tests.OpTable;

/// <summary>The backends of the op table, made once per test class (ILGPU compiles its kernels once per backend).</summary>
public sealed class OpTableBackends : IDisposable
{
    private readonly Dictionary<string, IOracleOps> _made = new(StringComparer.Ordinal);

    /// <summary>The backend BackendFactory makes under this name, with 2 CPU threads (results do not depend on it); gpu-sim with groups of 4.</summary>
    public IOracleOps Get(string name)
    {
        lock (_made)
        {
            if (!_made.TryGetValue(name, out var ops))
                _made[name] = ops = name == "gpu-sim"
                    // groups of 4 simulated threads: the kernels' group reductions and barriers are exercised
                    // (the default gpu-sim runs groups of one thread for speed: DeviceSelection.SimulatorDevice)
                    ? new GpuGraphOps(new GpuOps(GpuDevice.Cpu, simulatorGroup: 4), BackendFactory.Create("cpu", threads: 2), "gpu-sim (groups of 4)")
                    : BackendFactory.Create(name, threads: 2);
            return ops;
        }
    }

    public void Dispose()
    {
        foreach (var ops in _made.Values) ops.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// The op table (<see cref="OpTableCases"/>): every case of every op of spec/ops.json through
/// <c>OpInvoker.Invoke</c> on each backend, against the reference backend within the op's tolerance class
/// (refined for the case's weight dtype and the backend: "gpu" for ILGPU). Rows are (backend, op); a failure
/// lists every failing case with its output and comparison. The Cpu rows carry Category Isa, so ./test.sh runs
/// them again with AVX-512, AVX2 and all hardware intrinsics switched off (every kernel tier).
/// </summary>
public sealed class OpTableTests(OpTableBackends backends, ITestOutputHelper output) : IClassFixture<OpTableBackends>
{
    /// <summary>Every op of the spec (not of the table: an op missing from the table fails its rows).</summary>
    public static TheoryData<string> Ops()
    {
        var data = new TheoryData<string>();
        foreach (var op in OpCatalog.All) data.Add(op.Name);
        return data;
    }

    [Fact]
    public void EveryOpOfTheSpecHasALineOfCasesAndEveryLineFitsTheSpec()
    {
        var missing = OpCatalog.All.Select(o => o.Name).Where(n => !OpTableCases.Lines.ContainsKey(n)).ToList();
        Assert.True(missing.Count == 0, $"ops of spec/ops.json without a line in OpTable/OpTableCases.cs: {string.Join(", ", missing)}");
        var unknown = OpTableCases.Lines.Keys.Where(n => OpCatalog.Find(n) is null).ToList();
        Assert.True(unknown.Count == 0, $"lines of OpTable/OpTableCases.cs for ops spec/ops.json does not define: {string.Join(", ", unknown)}");
        foreach (var op in OpCatalog.All)
        {
            var cases = OpTableCases.Cases(op.Name); // throws naming the op and token for a line that does not fit
            Assert.True(cases.Count >= 2, $"op '{op.Name}' has fewer than 2 cases in the op table");
            Assert.True(cases.Select(c => c.Text).Distinct().Count() == cases.Count, $"op '{op.Name}' has duplicate cases");
        }
    }

    [Fact]
    public void SkipReasonsFollowTheLoweringTables()
    {
        foreach (var op in OpCatalog.All)
        {
            Assert.Null(OpTableTheoryAttribute.SkipReason("cpu", op.Name));
            Assert.Null(OpTableTheoryAttribute.SkipReason("reference", op.Name));
            Assert.Equal(GpuOps.Supports(op.Name), OpTableTheoryAttribute.SkipReason("gpu-sim", op.Name) is null);
            Assert.NotNull(CpuLowering.KindOf(op.Name));
        }
    }

    /// <summary>The reference backend: every case runs, outputs have the spec's shapes, and a second run is bit-identical.</summary>
    [OpTableTheory("reference")]
    [MemberData(nameof(Ops))]
    public void Reference(string op) => Check("reference", op);

    /// <summary>The CPU backend (generated SIMD kernels at this process's best tier, drivers; ops lowered to "reference" via the reference backend).</summary>
    [OpTableTheory("cpu")]
    [Trait("Category", "Isa")]
    [MemberData(nameof(Ops))]
    public void Cpu(string op) => Check("cpu", op);

    /// <summary>ILGPU's CPU accelerator: the generated ILGPU kernels and the ILGPU drivers over device tensors; ops lowered to "none" are skipped (they run on the CPU fallback).</summary>
    [OpTableTheory("gpu-sim")]
    [Trait("Category", "Gpu")]
    [Trait("Accelerator", "Cpu")]
    [MemberData(nameof(Ops))]
    public void GpuSim(string op) => Check("gpu-sim", op);

    /// <summary>The first CUDA device (--backend gpu picks CUDA first); skipped with the reason where there is none.</summary>
    [OpTableTheory("gpu")]
    [Trait("Category", "Gpu")]
    [Trait("Accelerator", "Cuda")]
    [MemberData(nameof(Ops))]
    public void Cuda(string op) => Check("gpu", op);

    /// <summary>The first OpenCL device ILGPU accepts; skipped with the reason where there is none.</summary>
    [OpTableTheory("gpu-ocl")]
    [Trait("Category", "Gpu")]
    [Trait("Accelerator", "OpenCL")]
    [MemberData(nameof(Ops))]
    public void OpenCL(string op) => Check("gpu-ocl", op);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<NamedTensor>> Expected = new(StringComparer.Ordinal);

    private void Check(string backend, string op)
    {
        var info = OpInvoker.Require(op);
        var cases = OpTableCases.Cases(op);
        var reference = backends.Get("reference");
        var ops = backends.Get(backend);
        var gpu = ops as GpuGraphOps;
        int onAccelerator = gpu?.GpuCalls.GetValueOrDefault(op) ?? 0;
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        foreach (var c in cases)
        {
            var inputs = OpTableInputs.Make(c);
            IReadOnlyList<NamedTensor> actual;
            // the reference's outputs, computed once per case and process (the reference row then runs it a second time)
            if (!Expected.TryGetValue(c.ToString(), out var expected))
            {
                try
                {
                    expected = OpInvoker.Invoke(reference, op, inputs, c.Attrs);
                }
                catch (Exception e)
                {
                    failures.Add($"{c} on reference (the oracle): threw {e.GetType().Name}: {e.Message}");
                    continue;
                }
                Expected[c.ToString()] = expected;
            }
            foreach (var p in info.Outputs)
            {
                var shape = OpTableInputs.ShapeOf(p, c);
                var y = expected.FirstOrDefault(t => t.Name == p.Name);
                if (y is null || !y.Shape.AsSpan().SequenceEqual(shape))
                    failures.Add($"{c} on reference: output '{p.Name}' is {y?.ToString() ?? "missing"}, the spec says {Shape.Format(shape)}");
            }
            try
            {
                actual = OpInvoker.Invoke(ops, op, inputs, c.Attrs);
            }
            catch (Exception e)
            {
                failures.Add($"{c} on {backend}: threw {e.GetType().Name}: {e.Message}");
                continue;
            }
            // the reference is compared with itself bit for bit (determinism); the others under the op's class
            var tol = backend == "reference" ? ToleranceTable.Set.Get("exact")
                : ToleranceTable.Set.Get(info.Tolerance, c.WeightDType, backend is "gpu" or "gpu-sim" or "gpu-ocl" ? "gpu" : backend);
            foreach (var e in expected)
            {
                var a = actual.FirstOrDefault(t => t.Name == e.Name);
                if (a is null) { failures.Add($"{c} on {backend}: output '{e.Name}' missing"); continue; }
                var v = NamedTensorComparer.Compare(a, e, tol);
                if (!v.Pass) failures.Add($"{c} on {backend}: output '{e.Name}' vs reference ({tol.Name}: atol {tol.Atol:G3} rtol {tol.Rtol:G3} nmse {tol.Nmse:G3}): {v.Text}");
            }
            if (actual.Count != expected.Count)
                failures.Add($"{c} on {backend}: outputs {string.Join(", ", actual.Select(t => t.Name))}, the reference gives {string.Join(", ", expected.Select(t => t.Name))}");
        }
        string where = gpu is null ? (backend == "cpu" ? $"lowering {CpuLowering.Of(op)}, kernel tier {IXC25.Backends.Cpu.Simd.KernelTiers.Best}" : "scalar references")
            : $"{gpu.GpuCalls.GetValueOrDefault(op) - onAccelerator} of them on the accelerator ({gpu.Gpu.DeviceName}, {GpuLowering.Of(op)})";
        output.WriteLine($"{op} on {backend}: {cases.Count} cases in {clock.ElapsedMilliseconds} ms, {where}");
        if (gpu is not null && gpu.GpuCalls.GetValueOrDefault(op) - onAccelerator != cases.Count)
            failures.Add($"{op} on {backend}: {gpu.GpuCalls.GetValueOrDefault(op) - onAccelerator} of {cases.Count} cases ran on the accelerator; the rest went to the CPU fallback");
        if (failures.Count > 0)
            Assert.Fail($"{failures.Count} failure(s) of op '{op}' on backend '{backend}' ({cases.Count} cases):\n  " +
                string.Join("\n  ", failures.Take(25)) + (failures.Count > 25 ? $"\n  ... and {failures.Count - 25} more" : ""));
    }
}
