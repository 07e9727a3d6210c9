using System.CommandLine;
using System.Text.Json;
using IXC25.Backends;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 op --list` and `ixc25 op NAME --in IN.safetensors --out OUT.safetensors [--attr k=v]...`:
/// runs one op of spec/ops.json on the tensors of a safetensors file (inputs named as the op's ports).
/// </summary>
internal static class OpCommand
{
    public static Command Create()
    {
        var name = new Argument<string?>("NAME") { Description = "op name (see --list)", Arity = ArgumentArity.ZeroOrOne };
        var list = new Option<bool>("--list") { Description = "list the ops with their inputs, outputs and attributes" };
        var input = new Option<FileInfo?>("--in") { Description = "safetensors file holding the inputs, named as the op's input ports" };
        var output = new Option<FileInfo?>("--out") { Description = "safetensors file to write the outputs to" };
        var attr = new Option<string[]>("--attr") { Description = "attribute as key=value (repeatable)", AllowMultipleArgumentsPerToken = false };
        var backend = new Option<string>("--backend") { Description = $"the backend that runs the op: {string.Join(", ", BackendFactory.Names)} (default: reference, the scalar reference)", DefaultValueFactory = _ => "reference" };
        var device = ModelOptionSet.NewDeviceOption();
        var cmd = new Command("op", "Run one op of the spec on tensors from a safetensors file (the scalar reference, or --backend), or list the ops.")
        {
            name, list, input, output, attr, backend, device,
        };
        cmd.SetAction(r =>
        {
            var stdout = r.InvocationConfiguration.Output;
            if (r.GetValue(list))
            {
                foreach (var op in OpCatalog.All)
                {
                    stdout.WriteLine(op.Name);
                    stdout.WriteLine("  inputs:  " + string.Join("; ", op.Inputs.Select(p => p.ToString())));
                    stdout.WriteLine("  outputs: " + string.Join("; ", op.Outputs.Select(p => p.ToString())));
                    if (op.Attrs.Length > 0)
                        stdout.WriteLine("  attrs:   " + string.Join("; ", op.Attrs.Select(a => $"{a.Name}: {a.Type}{(a.Default is null ? " (required)" : " = " + a.Default)}")));
                    stdout.WriteLine($"  tolerance {op.Tolerance}, accumulate {op.Accum}");
                }
                return 0;
            }
            string opName = r.GetValue(name) ?? throw new IxcException("give an op NAME or --list");
            var inPath = r.GetValue(input) ?? throw new IxcException("--in FILE.safetensors is required");
            var outPath = r.GetValue(output) ?? throw new IxcException("--out FILE.safetensors is required");
            OpInvoker.Require(opName);
            string backendName = r.GetValue(backend)!;
            if (!BackendFactory.Names.Contains(backendName)) throw new IxcException($"unknown backend '{backendName}' ({string.Join(", ", BackendFactory.Names)})");
            SafetensorsWriter.CheckDestination(outPath.FullName);
            var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var kv in r.GetValue(attr) ?? [])
            {
                int eq = kv.IndexOf('=');
                if (eq <= 0) throw new IxcException($"--attr '{kv}' is not key=value");
                if (!attrs.TryAdd(kv[..eq], kv[(eq + 1)..])) throw new IxcException($"--attr {kv[..eq]} given twice");
            }
            IReadOnlyList<NamedTensor> outputs;
            using (var f = new SafetensorsFile(inPath.FullName))
            {
                var inputs = f.Tensors.ToDictionary(t => t.Name, t => t, StringComparer.Ordinal);
                using var ops = BackendFactory.Create(backendName, device: r.GetValue(device));
                outputs = OpInvoker.Invoke(ops, opName, inputs, attrs);
            }
            var meta = new Dictionary<string, string>
            {
                ["op"] = opName,
                ["attrs"] = JsonSerializer.Serialize(attrs),
                ["implementation"] = backendName == "reference" ? "cpu-reference" : backendName,
                ["producer"] = "ixc25 op",
            };
            SafetensorsWriter.Write(outPath.FullName, outputs, meta);
            foreach (var o in outputs) stdout.WriteLine($"{o.Name}: {o.DType.SpecName()}{Shape.Format(o.Shape)}");
            return 0;
        });
        return cmd;
    }
}
