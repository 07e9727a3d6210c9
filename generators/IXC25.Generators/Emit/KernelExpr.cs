using System;
using System.Collections.Generic;
using System.Linq;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>Helpers shared by the CPU and ILGPU kernel emitters: expression walks and naming.</summary>
internal static class KernelExpr
{
    /// <summary>Every numeric literal of an expression, in order of appearance.</summary>
    public static IEnumerable<Num> Numbers(Expr e)
    {
        switch (e)
        {
            case Num n: yield return n; break;
            case Unary u: foreach (var x in Numbers(u.Operand)) yield return x; break;
            case Binary b:
                foreach (var x in Numbers(b.Left)) yield return x;
                foreach (var x in Numbers(b.Right)) yield return x;
                break;
            case Call c: foreach (var a in c.Args) foreach (var x in Numbers(a)) yield return x; break;
        }
    }

    /// <summary>The VMath / GpuMath method implementing a kernel function of the spec.</summary>
    public static string Function(string name) => name switch
    {
        "exp" => "Exp",
        "sigmoid" => "Sigmoid",
        "erf" => "Erf",
        "erfc" => "Erfc",
        "rsqrt" => "Rsqrt",
        "sqrt" => "Sqrt",
        "tanh" => "Tanh",
        "max" => "Max",
        "min" => "Min",
        "abs" => "Abs",
        _ => throw new InvalidOperationException("unknown kernel function " + name),
    };

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while",
    };

    /// <summary>A C# parameter name for a spec port or attribute ("im_mask" -> "imMask").</summary>
    public static string Param(string specName)
    {
        string pascal = ModelParser.Pascal(specName);
        string camel = char.ToLowerInvariant(pascal[0]) + pascal.Substring(1);
        return Keywords.Contains(camel) ? "@" + camel : camel;
    }

    /// <summary>The attributes a kernel's expressions read, in declaration order.</summary>
    public static List<AttrSpec> UsedAttrs(OpSpec op)
    {
        var k = op.Kernel!;
        var texts = new List<string>();
        if (k.Expr is not null) texts.Add(k.Expr);
        if (k.Map is not null) texts.Add(k.Map);
        foreach (var list in new[] { k.Reduce, k.Row, k.Reduce2, k.Row2 })
            foreach (var ne in list) texts.Add(ne.Expr);
        var ids = new HashSet<string>(texts.SelectMany(t => Expr.Parse(t).Identifiers()), StringComparer.Ordinal);
        return op.Attrs.Where(a => ids.Contains(a.Name)).ToList();
    }

    /// <summary>The C# type of an attribute passed to a kernel (float or int).</summary>
    public static string AttrType(AttrSpec a) => a.Type == "int" ? "int" : "float";

    /// <summary>The row_norm element name (x, w, b) of the op's i-th input.</summary>
    public static readonly string[] RowElements = { "x", "w", "b" };
}
