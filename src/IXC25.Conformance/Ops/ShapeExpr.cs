using System.Globalization;
using IXC25.Runtime;

namespace IXC25.Conformance.Ops;

/// <summary>Integer arithmetic over the spec's shape text ("(H + 2 * HKV) * D", "T - 1"): + - * / and parentheses; division must be exact.</summary>
public static class ShapeExpr
{
    /// <summary>The spec's leading-dimensions marker.</summary>
    public const string Leading = "...";

    public static IEnumerable<string> Symbols(string text)
    {
        if (text == Leading) yield break;
        for (int i = 0; i < text.Length;)
        {
            if (char.IsLetter(text[i]) || text[i] == '_')
            {
                int s = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_')) i++;
                yield return text[s..i];
            }
            else i++;
        }
    }

    public static long Eval(string text, IReadOnlyDictionary<string, long> symbols, string where)
    {
        int pos = 0;
        long v = Sum();
        Skip();
        if (pos != text.Length) throw Error("unexpected '" + text[pos] + "'");
        return v;

        long Sum()
        {
            long a = Product();
            for (Skip(); pos < text.Length && text[pos] is '+' or '-'; Skip())
            {
                char o = text[pos++];
                long b = Product();
                a = o == '+' ? a + b : a - b;
            }
            return a;
        }

        long Product()
        {
            long a = Atom();
            for (Skip(); pos < text.Length && text[pos] is '*' or '/'; Skip())
            {
                char o = text[pos++];
                long b = Atom();
                if (o == '*') a *= b;
                else if (b == 0 || a % b != 0) throw Error($"{a} / {b} is not exact");
                else a /= b;
            }
            return a;
        }

        long Atom()
        {
            Skip();
            if (pos >= text.Length) throw Error("unexpected end");
            if (text[pos] == '(')
            {
                pos++;
                long v = Sum();
                Skip();
                if (pos >= text.Length || text[pos] != ')') throw Error("missing ')'");
                pos++;
                return v;
            }
            if (text[pos] == '-') { pos++; return -Atom(); }
            int s = pos;
            if (char.IsDigit(text[pos]))
            {
                while (pos < text.Length && char.IsDigit(text[pos])) pos++;
                return long.Parse(text[s..pos], CultureInfo.InvariantCulture);
            }
            while (pos < text.Length && (char.IsLetterOrDigit(text[pos]) || text[pos] == '_')) pos++;
            if (s == pos) throw Error("unexpected '" + text[pos] + "'");
            string name = text[s..pos];
            return symbols.TryGetValue(name, out var v2) ? v2 : throw Error($"symbol {name} has no value");
        }

        void Skip()
        {
            while (pos < text.Length && text[pos] == ' ') pos++;
        }

        IxcException Error(string what) => new($"{where}: shape expression '{text}': {what}");
    }
}
