using IXC25.Backends;
using IXC25.Graph;
using System.CommandLine;
using System.Globalization;
using IXC25.Model;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 compare A.safetensors B.safetensors [--tolerances FILE]`: compares every tensor present in
/// both files (B is the reference) under its tolerance class: the spec tap's class for trace taps, the
/// op's class for `ixc25 op` outputs, else --default-class. Prints shape check, NaN/Inf parity, max abs
/// and relative error, NMSE and the first offending index; exits 1 when any tensor fails.
/// </summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var a = new Argument<FileInfo>("A") { Description = "safetensors file to check" };
        var b = new Argument<FileInfo>("B") { Description = "reference safetensors file" };
        var tolerances = new Option<FileInfo?>("--tolerances") { Description = "tolerance table in the format of spec/tolerances.json (default: the compiled-in spec table)" };
        var defaultClass = new Option<string>("--default-class") { Description = "class for tensors that are neither spec taps nor op outputs", DefaultValueFactory = _ => "exact" };
        var backend = new Option<string?>("--backend") { Description = "apply the table's overrides for this backend of A (cpu or gpu)" };
        var cmd = new Command("compare", "Compare the tensors two safetensors files have in common (e.g. an engine trace against a reference trace) with the documented tolerances.")
        {
            a, b, tolerances, defaultClass, backend,
        };
        cmd.SetAction(r =>
        {
            var output = r.InvocationConfiguration.Output;
            var set = r.GetValue(tolerances) is { } tf ? ToleranceSet.Load(tf.FullName) : ToleranceTable.Set;
            string fallback = r.GetValue(defaultClass)!;
            set.Get(fallback); // validates the name
            using var fa = new SafetensorsFile(r.GetValue(a)!.FullName);
            using var fb = new SafetensorsFile(r.GetValue(b)!.FullName);
            string? opClass = fb.Metadata.TryGetValue("op", out var op) || fa.Metadata.TryGetValue("op", out op) ? OpCatalog.Find(op)?.Tolerance : null;
            int compared = 0, failed = 0;
            var ci = CultureInfo.InvariantCulture;
            foreach (var tb in fb.Tensors)
            {
                if (!fa.TryGet(tb.Name, out var ta)) continue;
                compared++;
                string cls = Ixc25Taps.Find(tb.Name)?.Tolerance ?? opClass ?? fallback;
                var tol = set.Get(cls, backend: r.GetValue(backend));
                var v = NamedTensorComparer.Compare(ta, tb, tol);
                bool ok = v.Pass;
                string verdict = v.Text;
                if (!ok) failed++;
                output.WriteLine(string.Create(ci, $"{tb.Name,-36} {Shape.Format(tb.Shape),-22} {verdict}"));
            }
            int onlyA = fa.Tensors.Count(t => !fb.Contains(t.Name)), onlyB = fb.Tensors.Count(t => !fa.Contains(t.Name));
            output.WriteLine($"{compared} compared, {failed} failed, {onlyA} only in A, {onlyB} only in B");
            if (compared == 0) throw new IxcException("the two files have no tensor name in common");
            return failed == 0 ? 0 : 1;
        });
        return cmd;
    }
}
