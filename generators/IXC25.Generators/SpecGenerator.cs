using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using IXC25.Generators.Emit;
using IXC25.Generators.Spec;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace IXC25.Generators;

/// <summary>
/// Reads spec/*.json (AdditionalFiles) and emits, according to the consuming project's
/// <c>IXC25Emit</c> MSBuild property (a comma-separated list; ';' would start an .editorconfig comment):
/// <list type="bullet">
/// <item><c>model</c>: typed config, dimension symbols, parameter tree + checkpoint binding (IXC25.Model)</item>
/// <item><c>taps</c>: trace tap names (IXC25.Model)</item>
/// <item><c>ops</c>: op registry, typed attributes, shape checks (<c>OpShapes</c>, <c>&lt;Op&gt;Dims</c>), tolerance table, the IGraphOps backend interface (IXC25.Graph)</item>
/// <item><c>graph</c>: the forward pass, one method per graph block (IXC25.Model)</item>
/// <item><c>cpu</c>: SIMD kernels per ISA tier, GEMM micro-kernels, the quantized integer dot kernels (spec/quant.json), the CPU lowering table, <c>ICpuKernels</c> and the <c>CpuGraphOps</c> adapter (IXC25.Backends.Cpu)</item>
/// <item><c>gpu</c>: ILGPU kernels, the GPU lowering table, <c>IGpuKernels</c> and the <c>GpuGraphOps</c> adapter (IXC25.Backends.Gpu)</item>
/// <item><c>ref</c>: <c>IRefKernels</c> and the <c>RefGraphOps</c> adapter (IXC25.Backends.Reference)</item>
/// </list>
/// Spec problems are reported as diagnostics IXC0001.. located in the spec file.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class SpecGenerator : IIncrementalGenerator
{
    public const string ParseStep = "IXC25.SpecParse";
    public const string TargetsStep = "IXC25.EmitTargets";
    public const string OpsStep = "IXC25.Ops";
    public const string ModelStep = "IXC25.Model";
    public const string TolerancesStep = "IXC25.Tolerances";

    // the input of each target's output (tracked so tests can tell which emitters re-ran)
    public const string ModelTargetStep = "IXC25.Target.model";
    public const string TapsTargetStep = "IXC25.Target.taps";
    public const string GraphTargetStep = "IXC25.Target.graph";
    public const string OpsTargetStep = "IXC25.Target.ops";
    public const string ToleranceTargetStep = "IXC25.Target.tolerances";
    public const string CpuTargetStep = "IXC25.Target.cpu";
    public const string GemmTargetStep = "IXC25.Target.gemm";
    public const string GpuTargetStep = "IXC25.Target.gpu";
    public const string RefTargetStep = "IXC25.Target.ref";
    public const string QuantTargetStep = "IXC25.Target.quant";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var files = context.AdditionalTextsProvider
            .Where(static f => SpecParser.IsSpecFile(f.Path))
            .Select(static (f, ct) => new SpecFile(f.Path, f.GetText(ct)?.ToString() ?? ""))
            .Collect();

        var bundle = files
            .Select(static (fs, _) => SpecParser.Parse(fs.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => (f.Path, f.Text)).ToList()))
            .WithTrackingName(ParseStep);

        var targets = context.AnalyzerConfigOptionsProvider
            .Select(static (o, _) => o.GlobalOptions.TryGetValue("build_property.IXC25Emit", out var v) ? v ?? "" : "")
            .Select(static (v, _) => new EmitTargets(v.Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).ToEquatable()))
            .WithTrackingName(TargetsStep);

        // Each target is its own output over the part of the spec it reads (value-equatable models), so an
        // edit re-runs only the emitters that depend on it: a tolerance edit re-emits ToleranceTable, not the
        // kernels; an edit of model.json re-emits the model, taps and graph, not the backends.
        var ops = bundle.Select(static (b, _) => b.Ops).WithTrackingName(OpsStep);
        var model = bundle.Select(static (b, _) => b.Model).WithTrackingName(ModelStep);
        var tolerances = bundle.Select(static (b, _) => b.Tolerances).WithTrackingName(TolerancesStep);
        var quant = bundle.Select(static (b, _) => b.Quant);
        var problems = bundle.Select(static (b, _) => new SpecProblems(b.Diagnostics, b.Ops is not null, b.Model is not null));

        context.RegisterSourceOutput(problems.Combine(targets), static (spc, input) =>
        {
            var (p, emit) = input;
            if (emit.Targets.Count == 0) return;
            foreach (var d in p.Diagnostics) spc.ReportDiagnostic(ToDiagnostic(d));
            bool Want(string t) => emit.Targets.Contains(t);
            if ((Want("model") || Want("taps")) && !p.HasModel && !p.Diagnostics.Any(d => d.Path.EndsWith(SpecParser.ModelFile, StringComparison.Ordinal)))
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.MissingSpecFile, Location.None, $"IXC25Emit asks for model/taps but no spec/{SpecParser.ModelFile} is among the AdditionalFiles"));
            foreach (var t in new[] { "ops", "cpu", "gpu", "ref" })
                if (Want(t) && !p.HasOps && !p.Diagnostics.Any(d => d.Path.EndsWith(SpecParser.OpsFile, StringComparison.Ordinal)))
                    spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.MissingSpecFile, Location.None, $"IXC25Emit asks for {t} but no spec/{SpecParser.OpsFile} is among the AdditionalFiles"));
        });

        // the input of one target: the part of the spec it reads, or null when the project does not ask for it
        IncrementalValueProvider<T?> For<T>(IncrementalValueProvider<T?> part, string target, string step) where T : class =>
            part.Combine(targets).Select((x, _) => x.Right.Targets.Contains(target) ? x.Left : null).WithTrackingName(step);

        context.RegisterSourceOutput(For(model, "model", ModelTargetStep), static (spc, m) =>
        {
            if (m is not null) foreach (var (hint, src) in ModelEmitter.Emit(m)) spc.AddSource(hint, src);
        });
        context.RegisterSourceOutput(For(model, "taps", TapsTargetStep), static (spc, m) =>
        {
            if (m is not null) spc.AddSource("Ixc25Taps.g.cs", TapsEmitter.Emit(m));
        });
        context.RegisterSourceOutput(For(model, "graph", GraphTargetStep).Combine(ops), static (spc, x) =>
        {
            if (x.Left is not null && x.Right is not null) spc.AddSource("Ixc25Graph.g.cs", GraphEmitter.Emit(x.Left, x.Right));
        });
        context.RegisterSourceOutput(For(ops, "ops", OpsTargetStep), static (spc, o) =>
        {
            if (o is not null) foreach (var (hint, src) in OpsEmitter.Emit(o)) spc.AddSource(hint, src);
        });
        context.RegisterSourceOutput(tolerances.Combine(targets).Combine(ops.Select(static (o, _) => o is not null))
            .Select(static (x, _) => x.Left.Right.Targets.Contains("ops") && x.Right ? new TolerancesInput(x.Left.Left) : null)
            .WithTrackingName(ToleranceTargetStep), static (spc, t) =>
        {
            if (t is not null) spc.AddSource("ToleranceTable.g.cs", OpsEmitter.EmitTolerances(t.Tolerances.ToList()));
        });
        context.RegisterSourceOutput(For(ops, "cpu", CpuTargetStep), static (spc, o) =>
        {
            if (o is null) return;
            foreach (var (hint, src) in CpuKernelEmitter.Emit(o)) spc.AddSource(hint, src);
            spc.AddSource("CpuLowering.g.cs", LoweringEmitter.EmitCpu(o));
            foreach (var (hint, src) in AdapterEmitter.Emit(o, AdapterEmitter.Cpu)) spc.AddSource(hint, src);
        });
        context.RegisterSourceOutput(For(ops, "cpu", GemmTargetStep), static (spc, o) =>
        {
            if (o is not null) foreach (var (hint, src) in GemmEmitter.Emit(o)) spc.AddSource(hint, src);
        });
        // the integer dot kernels of the quantized formats (spec/quant.json), with the CPU kernels
        context.RegisterSourceOutput(For(quant, "cpu", QuantTargetStep), static (spc, q) =>
        {
            if (q is not null) foreach (var (hint, src) in QuantEmitter.Emit(q)) spc.AddSource(hint, src);
        });
        context.RegisterSourceOutput(For(ops, "gpu", GpuTargetStep), static (spc, o) =>
        {
            if (o is null) return;
            foreach (var (hint, src) in GpuKernelEmitter.Emit(o)) spc.AddSource(hint, src);
            spc.AddSource("GpuLowering.g.cs", LoweringEmitter.EmitGpu(o));
            foreach (var (hint, src) in AdapterEmitter.Emit(o, AdapterEmitter.Gpu)) spc.AddSource(hint, src);
        });
        context.RegisterSourceOutput(For(ops, "ref", RefTargetStep), static (spc, o) =>
        {
            if (o is not null) foreach (var (hint, src) in AdapterEmitter.Emit(o, AdapterEmitter.Ref)) spc.AddSource(hint, src);
        });
    }

    private static Diagnostic ToDiagnostic(DiagnosticInfo d)
    {
        var span = new TextSpan(Math.Max(0, d.Start), Math.Max(0, d.Length));
        var lines = new LinePositionSpan(new LinePosition(d.Line, d.Column), new LinePosition(d.EndLine, d.EndColumn));
        return Diagnostic.Create(Diagnostics.ById(d.Id), Location.Create(d.Path, span, lines), d.Message);
    }

    private sealed record SpecFile(string Path, string Text);

    private sealed record EmitTargets(EquatableArray<string> Targets);

    private sealed record SpecProblems(EquatableArray<DiagnosticInfo> Diagnostics, bool HasOps, bool HasModel);

    private sealed record TolerancesInput(EquatableArray<ToleranceSpec> Tolerances);
}
