using System.CommandLine;
using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Commands;

/// <summary>`ixc25 info --model DIR`: config summary, parameters per module, storage, RAM estimate.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Hugging Face model folder (config.json + checkpoint or its index)", Required = true };
        var format = new Option<string>("--format") { Description = "checkpoint form to read when both are present: auto, safetensors or bin", DefaultValueFactory = _ => "auto" };
        var context = new Option<int>("--context") { Description = "context length (tokens) for the KV cache estimate", DefaultValueFactory = _ => 8192 }.Within(1, int.MaxValue);
        var kv = new Option<string>("--kv-dtype") { Description = "KV cache dtype for the estimate: f32, bf16 or f16", DefaultValueFactory = _ => "f32" };
        var weights = new Option<string?>("--weights") { Description = "report the memory with the linears held block-quantized at load: q8_0 or q4_0 (a quantized checkpoint: its own format only)" };
        var backend = new Option<string>("--backend") { Description = "also size the load for a backend: gpu, gpu-sim or gpu-ocl prints the device memory the context needs (weights as stored, f32 KV cache, work) and whether the device has it; cpu (default) prints the RAM estimate only", DefaultValueFactory = _ => "cpu" };
        var cmd = new Command("info", "Describe a model folder: config, parameter count per module, storage dtype, file format, weight format(s) and their bytes, estimated RAM to run. Works on a folder with only config.json and an index.")
        {
            model, format, context, kv, weights, backend,
        };
        cmd.SetAction(r =>
        {
            int ctx = r.GetValue(context);
            var q = r.GetValue(weights) is { } w ? QuantFormat.Parse(w) : null;
            using var dir = ModelDirectory.Open(r.GetValue(model)!.FullName, ParseFormat(r.GetValue(format)!));
            var report = ModelReport.Build(dir, ctx, ParseKv(r.GetValue(kv)!), q);
            r.InvocationConfiguration.Output.Write(report.ToText());
            string b = r.GetValue(backend)!;
            if (b is "gpu" or "gpu-sim" or "gpu-ocl")
                r.InvocationConfiguration.Output.Write(DeviceSection(dir, ctx, b));
            else if (!IXC25.Backends.BackendFactory.Names.Contains(b))
                throw new IxcException($"unknown backend '{b}' ({string.Join(", ", IXC25.Backends.BackendFactory.Names)})");
            return 0;
        });
        return cmd;
    }

    /// <summary>The device memory a load needs (weights as stored, f32 KV cache for the context, work) and whether the backend's device has it.</summary>
    private static string DeviceSection(ModelDirectory dir, int context, string backend)
    {
        var e = IXC25.Model.Inference.DeviceMemoryCheck.Estimate(dir, new IXC25.Model.Inference.ModelOptions(LoadContext: context));
        using var ops = IXC25.Backends.BackendFactory.Create(backend);
        var device = (IXC25.Graph.IDeviceBackend)ops;
        return $"device memory ({backend}):\n" + e.ToText("  ") + "  " + IXC25.Model.Inference.DeviceMemoryCheck.Verdict(e, device.DeviceName, device.DeviceMemoryBytes) + "\n";
    }

    internal static CheckpointFormat ParseFormat(string s) => s switch
    {
        "auto" => CheckpointFormat.Auto,
        "safetensors" => CheckpointFormat.Safetensors,
        "bin" => CheckpointFormat.TorchBin,
        _ => throw new IxcException($"--format must be auto, safetensors or bin (got '{s}')"),
    };

    internal static DType ParseKv(string s) => s switch
    {
        "f32" => DType.F32,
        "bf16" => DType.BF16,
        "f16" => DType.F16,
        _ => throw new IxcException($"--kv-dtype must be f32, bf16 or f16 (got '{s}')"),
    };
}
