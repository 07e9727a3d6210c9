namespace IXC25.Runtime.Tensors;

/// <summary>Element types, named as in the safetensors format.</summary>
public enum DType
{
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this DType t) => t switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 or DType.I16 => 2,
        DType.F64 or DType.I64 => 8,
        DType.I8 or DType.U8 or DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, null),
    };

    /// <summary>The safetensors header spelling ("F32", "BF16", "BOOL", ...).</summary>
    public static string SafetensorsName(this DType t) => t == DType.Bool ? "BOOL" : t.ToString();

    /// <summary>Lower-case spelling used by the spec and the CLI ("f32", "bf16", ...).</summary>
    public static string SpecName(this DType t) => t.ToString().ToLowerInvariant();

    public static bool TryParseSafetensors(string s, out DType t)
    {
        switch (s)
        {
            case "F32": t = DType.F32; return true;
            case "F16": t = DType.F16; return true;
            case "BF16": t = DType.BF16; return true;
            case "F64": t = DType.F64; return true;
            case "I64": t = DType.I64; return true;
            case "I32": t = DType.I32; return true;
            case "I16": t = DType.I16; return true;
            case "I8": t = DType.I8; return true;
            case "U8": t = DType.U8; return true;
            case "BOOL": t = DType.Bool; return true;
            default: t = default; return false;
        }
    }

    public static bool TryParseSpec(string s, out DType t) => TryParseSafetensors(s.ToUpperInvariant(), out t);

    public static bool IsFloat(this DType t) => t is DType.F32 or DType.F16 or DType.BF16 or DType.F64;
}
