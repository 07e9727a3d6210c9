using System.Diagnostics;
using IXC25.Backends.Tests.OpTable;
using IXC25.Conformance.Ops;
using IXC25.Graph;
using IXC25.Runtime.Compare;
using IXC25.Runtime.Tensors;

namespace IXC25.GpuCheck.SelfTest;

/// <summary>
/// The op table on one backend, as OpTableTests runs it in the test suite: every case of every op of spec/ops.json
/// (the one case list, OpTableCases) through <see cref="OpInvoker"/> on the backend, compared with the reference
/// backend under the op's tolerance class (<see cref="CheckResult.Tolerance"/>), and run a second time on the
/// backend, which must give bit-identical outputs. Every op runs: the backend executes the ones it lowers elsewhere on
/// its own fallback, and those results are held to the same bar. One result per op.
/// </summary>
internal static class OpTableCheck
{
    /// <param name="backendName">The --backend name (it picks the tolerance override).</param>
    public static CheckResult Run(IGraphOps backend, string backendName, IGraphOps reference, string op)
    {
        var clock = Stopwatch.StartNew();
        var info = OpInvoker.Require(op);
        var failures = new List<string>();
        IReadOnlyList<OpTableCase> cases;
        try
        {
            cases = OpTableCases.Cases(op);
        }
        catch (Exception e) when (e is InvalidOperationException or Runtime.IxcException)
        {
            return new CheckResult($"op {op}", false, e.Message, clock.Elapsed.TotalSeconds);
        }
        foreach (var c in cases)
        {
            var inputs = OpTableInputs.Make(c);
            IReadOnlyList<NamedTensor> expected, actual, again;
            try
            {
                expected = OpInvoker.Invoke(reference, op, inputs, c.Attrs);
            }
            catch (Exception e)
            {
                failures.Add($"{c} on the reference (the oracle): {e.GetType().Name}: {e.Message}");
                continue;
            }
            try
            {
                actual = OpInvoker.Invoke(backend, op, inputs, c.Attrs);
                again = OpInvoker.Invoke(backend, op, inputs, c.Attrs);
            }
            catch (Exception e)
            {
                failures.Add($"{c}: {e.GetType().Name}: {e.Message}");
                continue;
            }
            var tol = CheckResult.Tolerance(backendName, info.Tolerance, c.WeightDType);
            foreach (var e in expected)
            {
                var a = actual.FirstOrDefault(t => t.Name == e.Name);
                if (a is null)
                {
                    failures.Add($"{c}: output '{e.Name}' missing");
                    continue;
                }
                var v = NamedTensorComparer.Compare(a, e, tol);
                if (!v.Pass) failures.Add($"{c}: '{e.Name}' vs reference ({tol.Name}): {v.Text}");
                var b = again.FirstOrDefault(t => t.Name == e.Name);
                if (b is null || !b.Data.Bytes.SequenceEqual(a.Data.Bytes)) failures.Add($"{c}: '{e.Name}' differs between two runs (not deterministic)");
            }
            if (actual.Count != expected.Count)
                failures.Add($"{c}: outputs {string.Join(", ", actual.Select(t => t.Name))}, the reference gives {string.Join(", ", expected.Select(t => t.Name))}");
        }
        string detail = failures.Count == 0
            ? $"{cases.Count} cases within '{info.Tolerance}' of the reference, second run bit-identical"
            : $"{failures.Count} failure(s) in {cases.Count} cases: {string.Join(" | ", failures.Take(3))}{(failures.Count > 3 ? " | ..." : "")}";
        return new CheckResult($"op {op}", failures.Count == 0, detail, clock.Elapsed.TotalSeconds);
    }
}
