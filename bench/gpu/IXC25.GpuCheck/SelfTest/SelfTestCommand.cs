using System.Diagnostics;
using IXC25.Backends;
using IXC25.Graph;

namespace IXC25.GpuCheck.SelfTest;

/// <summary>
/// <c>selftest [--backend gpu] [--ops all|none] [--golden all|none]</c>: the GPU test suite of the device check, one line
/// per check on stdout: the op table (<see cref="OpTableCheck"/>, one line per op of spec/ops.json) and the whole model
/// against the PyTorch goldens (<see cref="GoldenCheck"/>: taps, greedy tokens, determinism). Exit code 1 when any
/// check fails.
/// </summary>
internal static class SelfTestCommand
{
    public const string Help =
        "selftest [--backend gpu|gpu-sim|cpu|reference] [--ops all|none] [--golden all|none]\n" +
        "    the op table of spec/ops.json on the backend against the reference backend (spec/tolerances.json, \"gpu\" override),\n" +
        "    each case run twice (bit-identical), and the tiny checkpoint through the whole model against the PyTorch goldens\n" +
        "    (golden/model/traces: taps, greedy tokens, two prefills bit-identical); one line per check; exit 1 on any failure";

    public static int Run(CheckArgs a)
    {
        string backend = a.Text("backend", "gpu", [.. BackendFactory.Names]);
        bool ops = a.Text("ops", "all", "all", "none") == "all";
        bool golden = a.Text("golden", "all", "all", "none") == "all";
        a.Done("selftest");
        var clock = Stopwatch.StartNew();
        var results = new List<CheckResult>();
        void Report(CheckResult r)
        {
            results.Add(r);
            Console.WriteLine(r);
        }
        if (ops)
        {
            using var reference = BackendFactory.Create("reference");
            using var b = BackendFactory.Create(backend);
            Console.WriteLine($"selftest: backend {b.Name}");
            foreach (var op in OpCatalog.All) Report(OpTableCheck.Run(b, backend, reference, op.Name));
        }
        if (golden)
        {
            foreach (var name in GoldenCheck.Names)
            {
                Report(GoldenCheck.Trace(backend, name));
                Report(GoldenCheck.Greedy(backend, name));
            }
            Report(GoldenCheck.Determinism(backend, "single_image"));
        }
        int failed = results.Count(r => !r.Pass);
        Console.WriteLine($"selftest on {backend}: {results.Count} checks, {results.Count - failed} passed, {failed} failed ({clock.Elapsed.TotalSeconds:0.0} s)");
        return failed == 0 ? 0 : 1;
    }
}
