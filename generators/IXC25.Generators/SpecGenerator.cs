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
/// <item><c>ops</c>: op registry, typed attributes, shape checks, tolerance table, the IGraphOps backend interface (IXC25.Backends.Cpu)</item>
/// <item><c>graph</c>: the forward pass, one method per graph block (IXC25.Model)</item>
/// <item><c>cpu</c>: SIMD kernels per ISA tier and the CPU lowering table (IXC25.Backends.Cpu)</item>
/// <item><c>gpu</c>: ILGPU kernels and the GPU lowering table (IXC25.Backends.Gpu)</item>
/// </list>
/// Spec problems are reported as diagnostics IXC0001.. located in the spec file.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class SpecGenerator : IIncrementalGenerator
{
    public const string ParseStep = "IXC25.SpecParse";
    public const string TargetsStep = "IXC25.EmitTargets";

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

        context.RegisterSourceOutput(bundle.Combine(targets).Combine(files.Select(static (fs, _) => fs.Length)), static (spc, input) =>
        {
            var ((spec, emit), fileCount) = input;
            if (emit.Targets.Count == 0) return;
            foreach (var d in spec.Diagnostics) spc.ReportDiagnostic(ToDiagnostic(d));
            bool Want(string t) => emit.Targets.Contains(t);
            if ((Want("model") || Want("taps")) && spec.Model is null && !spec.Diagnostics.Any(d => d.Path.EndsWith(SpecParser.ModelFile, StringComparison.Ordinal)))
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.MissingSpecFile, Location.None, $"IXC25Emit asks for model/taps but no spec/{SpecParser.ModelFile} is among the AdditionalFiles"));
            foreach (var t in new[] { "ops", "cpu", "gpu" })
                if (Want(t) && spec.Ops is null && !spec.Diagnostics.Any(d => d.Path.EndsWith(SpecParser.OpsFile, StringComparison.Ordinal)))
                    spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.MissingSpecFile, Location.None, $"IXC25Emit asks for {t} but no spec/{SpecParser.OpsFile} is among the AdditionalFiles"));

            if (Want("model") && spec.Model is not null)
                foreach (var (hint, src) in ModelEmitter.Emit(spec.Model)) spc.AddSource(hint, src);
            if (Want("taps") && spec.Model is not null)
                spc.AddSource("Ixc25Taps.g.cs", TapsEmitter.Emit(spec.Model));
            if (Want("ops") && spec.Ops is not null)
                foreach (var (hint, src) in OpsEmitter.Emit(spec.Ops, spec.Tolerances.ToList())) spc.AddSource(hint, src);
            if (Want("graph") && spec.Model is not null && spec.Ops is not null)
                spc.AddSource("Ixc25Graph.g.cs", GraphEmitter.Emit(spec.Model, spec.Ops));
            if (Want("cpu") && spec.Ops is not null)
            {
                foreach (var (hint, src) in CpuKernelEmitter.Emit(spec.Ops)) spc.AddSource(hint, src);
                spc.AddSource("CpuLowering.g.cs", LoweringEmitter.EmitCpu(spec.Ops));
            }
            if (Want("gpu") && spec.Ops is not null)
            {
                foreach (var (hint, src) in GpuKernelEmitter.Emit(spec.Ops)) spc.AddSource(hint, src);
                spc.AddSource("GpuLowering.g.cs", LoweringEmitter.EmitGpu(spec.Ops));
            }
            if (Want("cpu") && spec.Ops is not null) foreach (var (hint, src) in GemmEmitter.Emit(spec.Ops)) spc.AddSource(hint, src);
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
}
