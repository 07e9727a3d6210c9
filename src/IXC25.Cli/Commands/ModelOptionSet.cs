using IXC25.Backends;
using IXC25.Backends.Cpu.Quant;
using IXC25.Graph;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using IXC25.Model.Inference;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Commands;

/// <summary>The options every command that runs the model shares: --model, --threads, --kv-dtype, --rope-mode, --format, --max-context, --backend, --device, --ignore-memory-check.</summary>
internal sealed class ModelOptionSet
{
    public Option<DirectoryInfo> Model { get; } = new("--model") { Description = "Hugging Face model folder (config.json, checkpoint, tokenizer.model)", Required = true };
    public Option<int> Threads { get; } = new Option<int>("--threads") { Description = "CPU threads (0: all; results do not depend on it)", DefaultValueFactory = _ => 0 }.Within(0, OptionLimits.MaxThreads);
    public Option<string> KvDType { get; } = new("--kv-dtype") { Description = "KV cache storage: f32 (exact), bf16 or f16 (half the memory)", DefaultValueFactory = _ => "f32" };
    public Option<string> RopeMode { get; } = new("--rope-mode") { Description = "dynamic-NTK state: hf (upstream's stateful module) or stateless", DefaultValueFactory = _ => "hf" };
    public Option<string> Format { get; } = new("--format") { Description = "checkpoint form when both are present: auto, safetensors or bin", DefaultValueFactory = _ => "auto" };
    public Option<int> MaxContext { get; } = new Option<int>("--max-context") { Description = "largest context (prompt + generated tokens) a KV cache may hold", DefaultValueFactory = _ => 131072 }.Within(1, int.MaxValue);
    public Option<bool> IgnoreMemoryCheck { get; } = new(LoadMemoryCheck.OverrideFlag) { Description = "load and run even when the estimated RAM (weights as stored + KV cache for the context + work) exceeds what the machine has available" };
    public Option<string> Backend { get; } = new("--backend") { Description = BackendHelp, DefaultValueFactory = _ => "cpu" };
    public Option<int> Device { get; } = NewDeviceOption();

    /// <summary>What --backend takes (every command with --backend that runs the model).</summary>
    public const string BackendHelp = "cpu; reference (the scalar references, slow); gpu (ILGPU: every graph op on the device, weights, activations and KV cache resident; on CUDA, else OpenCL, else ILGPU's CPU simulator; the load line says which); gpu-sim (the same on ILGPU's CPU simulator); gpu-ocl (the same on OpenCL)";

    /// <summary>--device N: which device of the kind the gpu backends choose.</summary>
    public static Option<int> NewDeviceOption() =>
        new Option<int>("--device") { Description = "which device of the kind the gpu backend chooses (0: the first; the error names how many there are)", DefaultValueFactory = _ => 0 }.Within(0, OptionLimits.MaxDevice);

    public Option<string?> Weights { get; } = new("--weights") { Description = "hold the linears block-quantized: q8_0 or q4_0 (quantized at load, LoRA weights kept as stored; docs/QUANT.md). Default: the stored weights (a checkpoint written by 'ixc25 quantize' runs in its own format)" };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(Weights);
        cmd.Options.Add(Model);
        cmd.Options.Add(Threads);
        cmd.Options.Add(KvDType);
        cmd.Options.Add(RopeMode);
        cmd.Options.Add(Format);
        cmd.Options.Add(MaxContext);
        cmd.Options.Add(Backend);
        cmd.Options.Add(Device);
        cmd.Options.Add(IgnoreMemoryCheck);
    }

    public ModelOptions Options(ParseResult r)
    {
        int threads = r.GetValue(Threads);
        if (threads < 0) throw new IxcException($"--threads must be >= 0 (got {threads})");
        int maxContext = r.GetValue(MaxContext);
        if (maxContext < 1) throw new IxcException($"--max-context must be positive (got {maxContext})");
        return new ModelOptions(threads, InfoCommand.ParseKv(r.GetValue(KvDType)!), r.GetValue(RopeMode) switch
        {
            "hf" => IXC25.Model.Rope.RopeMode.Hf,
            "stateless" => IXC25.Model.Rope.RopeMode.Stateless,
            var s => throw new IxcException($"--rope-mode must be hf or stateless (got '{s}')"),
        }, InfoCommand.ParseFormat(r.GetValue(Format)!), maxContext, Backend: r.GetValue(Backend)!,
            // an explicit --max-context is the context the load-time memory check reserves; else the checkpoint's max_length
            LoadContext: r.GetResult(MaxContext) is { Implicit: false } ? maxContext : null,
            IgnoreMemoryCheck: r.GetValue(IgnoreMemoryCheck),
            Weights: r.GetValue(Weights) is { } w ? QuantFormat.Parse(w).Name : null,
            Device: r.GetValue(Device));
    }

    public Ixc25Model Open(ParseResult r, TextWriter progress)
    {
        var options = Options(r); // bad options are refused before any work
        var sw = Stopwatch.StartNew();
        progress.WriteLine($"loading {r.GetValue(Model)!.FullName} ...");
        var model = Ixc25Model.Open(r.GetValue(Model)!.FullName, options);
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loaded in {sw.Elapsed.TotalSeconds:0.0} s ({model.Format}, {model.Dims.L} layers, {model.BackendName}{(model.Options.Weights is { } q ? ", weights " + q : "")}, {(model.Options.Threads == 0 ? Environment.ProcessorCount : model.Options.Threads)} threads)"));
        return model;
    }

    /// <summary>With --weights: how many linears the run held quantized, their bytes, and those kept as stored.</summary>
    public static void ReportWeights(Ixc25Model model, TextWriter progress)
    {
        if (model.Backend is not QuantizedGraphOps q) return;
        var (n, bytes, kept) = q.Stats();
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"weights {q.Format}: {n} linears held quantized ({bytes / 1048576.0:0.0} MiB); {kept.Count} kept as stored (LoRA factors, input width not a multiple of 32){(kept.Count > 0 ? ": " + string.Join(", ", kept.Take(3)) + (kept.Count > 3 ? ", ..." : "") : "")}"));
    }
}
