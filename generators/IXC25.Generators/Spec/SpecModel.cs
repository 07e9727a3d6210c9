using System;

namespace IXC25.Generators.Spec;

// The parsed spec: immutable, equatable records with no Roslyn symbols or syntax, so the
// incremental pipeline can cache on content. Field meanings are documented in spec/README.md.

/// <summary>A spec problem, carried through the pipeline as plain data and reported as a diagnostic.</summary>
internal sealed record DiagnosticInfo(string Id, string Message, string Path, int Start, int Length, int Line, int Column, int EndLine, int EndColumn);

internal sealed record SpecBundle(
    OpSet? Ops,
    ModelSpec? Model,
    EquatableArray<ToleranceSpec> Tolerances,
    EquatableArray<DiagnosticInfo> Diagnostics,
    QuantSpec? Quant = null);

// ---------------------------------------------------------------- ops.json

internal sealed record OpSet(EquatableArray<OpSpec> Ops);

/// <param name="Graph">The generated graph may call the op (IGraphOps); false marks an oracle-only op
/// (the scalar reference and the op table run it; IOracleOps lists it).</param>
internal sealed record OpSpec(
    string Name,
    string Doc,
    EquatableArray<PortSpec> Inputs,
    EquatableArray<PortSpec> Outputs,
    EquatableArray<AttrSpec> Attrs,
    EquatableArray<SymbolBinding> SymbolBindings,
    string Accum,
    string Tolerance,
    KernelSpec? Kernel,
    string CpuLowering,
    string GpuLowering,
    bool Graph = true);

/// <param name="Shape">Each dimension as expression text ("T", "(H + 2 * HKV) * D", "3").</param>
/// <param name="Inout">The op updates this input in place (KV caches).</param>
internal sealed record PortSpec(string Name, EquatableArray<string> DTypes, EquatableArray<string> Shape, bool Optional, bool Inout)
{
    /// <summary>A backend KV cache object rather than a tensor (dtype "kv").</summary>
    public bool IsCache => DTypes.Count == 1 && DTypes[0] == "kv";
}

/// <param name="Type">int, float, bool or string.</param>
/// <param name="Default">The default as invariant text, or null when the attribute is required.</param>
internal sealed record AttrSpec(string Name, string Type, string? Default, string Doc);

/// <summary>An op shape symbol whose value is an int attribute (e.g. H = heads).</summary>
internal sealed record SymbolBinding(string Symbol, string Attr);

internal sealed record NamedExpr(string Name, string Expr);

internal sealed record KernelSpec(
    string Pattern,
    string? Expr,
    EquatableArray<NamedExpr> Reduce,
    EquatableArray<NamedExpr> Row,
    EquatableArray<NamedExpr> Reduce2,
    EquatableArray<NamedExpr> Row2,
    string? Map,
    EquatableArray<string> Widen);

// ---------------------------------------------------------------- tolerances.json

/// <param name="Class">For an override: the class it refines (Name is the class for plain classes).</param>
internal sealed record ToleranceSpec(string Name, double Atol, double Rtol, double Nmse, string Reason, string? Class = null, string? DType = null, string? Backend = null, double AtolPerPosition = 0);

// ---------------------------------------------------------------- model.json

internal sealed record ModelSpec(
    string Name,
    string Doc,
    EquatableArray<ConfigKeySpec> Config,
    EquatableArray<SymbolSpec> Symbols,
    EquatableArray<RuntimeSymbol> RuntimeSymbols,
    EquatableArray<GroupSpec> Groups,
    EquatableArray<ModeSpec> Modes,
    ModuleNode Root,
    EquatableArray<ParamSpec> Params,
    EquatableArray<BlockSpec> Graph,
    EquatableArray<TapSpec> Taps);

/// <param name="Type">int, float, bool or string.</param>
/// <param name="Default">Default as JSON text, or null.</param>
/// <param name="DefaultFrom">Another key whose value is the default.</param>
/// <param name="Allowed">Allowed values as JSON text (empty: any).</param>
/// <param name="Range">For an int key, the smallest and largest value read (both included) as integer text, or null: any.</param>
internal sealed record ConfigKeySpec(string Key, string Type, string? Default, string? DefaultFrom, bool Optional, EquatableArray<string> Allowed, string Doc, EquatableArray<string> Range = default);

/// <param name="Kind">config, expr, value or free.</param>
/// <param name="Source">config key, expression text or integer text (empty for free symbols).</param>
internal sealed record SymbolSpec(string Name, string Kind, string Source, string Doc);

internal sealed record RuntimeSymbol(string Name, string Doc);

internal sealed record GroupSpec(string Name, string Doc);

internal sealed record ModeSpec(string Name, string Doc, EquatableArray<string> Merge);

/// <summary>A node of the parameter tree.</summary>
/// <param name="Kind">root, group (plain container), repeat (array of a type), class (instance of a class template) or param (one tensor).</param>
/// <param name="TypeName">C# type emitted for this node (groups, repeats, classes).</param>
/// <param name="RepeatSymbol">for repeat: the count symbol.</param>
/// <param name="IndexVar">for repeat: the index variable used in keys and taps.</param>
/// <param name="ParamIndex">for param: index into ModelSpec.Params.</param>
internal sealed record ModuleNode(
    string Name,
    string Kind,
    string TypeName,
    string Doc,
    string? RepeatSymbol,
    string? IndexVar,
    int ParamIndex,
    bool Unused,
    EquatableArray<ModuleNode> Children);

/// <param name="Path">Spec path with index placeholders, e.g. "llm.layers[{i}].wqkv.weight".</param>
/// <param name="Key">Checkpoint name pattern, e.g. "model.layers.{i}.attention.wqkv.weight".</param>
/// <param name="Shape">Dimensions as expression text over model symbols.</param>
/// <param name="IndexVars">Enclosing repeat index variables, outermost first.</param>
/// <param name="RepeatSymbols">Matching repeat count symbols.</param>
internal sealed record ParamSpec(string Path, string Key, EquatableArray<string> Shape, string? Group, bool Unused,
    EquatableArray<string> IndexVars, EquatableArray<string> RepeatSymbols);

/// <param name="Kind">"tensor", or "kv" for a KV cache object.</param>
internal sealed record BlockInput(string Name, EquatableArray<string> Shape, bool Optional, string Kind);

/// <summary>One step of a block: an op invocation or a call of another block (possibly repeated).</summary>
internal sealed record StepSpec(
    string? Op,
    string? Call,
    string? RepeatSymbol,
    string? IndexVar,
    EquatableArray<KeyValue> In,
    EquatableArray<KeyValue> Attrs,
    EquatableArray<KeyValue> Out,
    string? Tap);

internal sealed record KeyValue(string Key, string Value);

internal sealed record BlockSpec(string Name, string Doc, string Scope, EquatableArray<BlockInput> Inputs, EquatableArray<StepSpec> Steps, EquatableArray<string> Outputs);

internal sealed record TapSpec(string Name, string DType, EquatableArray<string> Shape, string Tolerance, string Doc);

// ---------------------------------------------------------------- quant.json

/// <summary>spec/quant.json: the block-quantized weight formats and the quantized dot's float order.</summary>
internal sealed record QuantSpec(int Block, int Lanes, EquatableArray<QuantFormatSpec> Formats, string Doc);

/// <param name="Offset">Subtracted from the stored value to give the signed integer (q4_0: 8).</param>
/// <param name="Packing"><c>bytes</c> (one int8 per value) or <c>nibbles_half</c> (byte j: element j low, j + 16 high).</param>
internal sealed record QuantFormatSpec(string Name, int GgmlType, int Bits, int BlockBytes, string QsDType, int Offset, int QMin, int QMax,
    string Packing, string Scale, string Encode, string Doc);
