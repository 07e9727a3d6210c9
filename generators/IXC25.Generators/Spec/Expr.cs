using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace IXC25.Generators.Spec;

/// <summary>
/// The spec's one expression language, used by shapes ("(H + 2 * HKV) * D"), attribute values
/// ("=rsqrt(CV / HV)") and kernel bodies ("x * sigmoid(1.702 * x)"): numbers, identifiers,
/// + - * /, unary minus, parentheses and calls f(a, b).
/// </summary>
internal abstract record Expr
{
    public static Expr Parse(string text) => new Parser(text).ParseAll();

    /// <summary>The parsed expression, or null when the text does not parse (its diagnostic is reported elsewhere).</summary>
    public static Expr? TryParse(string text)
    {
        try { return Parse(text); }
        catch (Exception) { return null; }
    }

    /// <summary>Every identifier used (not function names).</summary>
    public IEnumerable<string> Identifiers()
    {
        switch (this)
        {
            case Ident id: yield return id.Name; break;
            case Unary u: foreach (var x in u.Operand.Identifiers()) yield return x; break;
            case Binary b:
                foreach (var x in b.Left.Identifiers()) yield return x;
                foreach (var x in b.Right.Identifiers()) yield return x;
                break;
            case Call c: foreach (var a in c.Args) foreach (var x in a.Identifiers()) yield return x; break;
        }
    }

    public IEnumerable<Call> Calls()
    {
        switch (this)
        {
            case Unary u: foreach (var x in u.Operand.Calls()) yield return x; break;
            case Binary b:
                foreach (var x in b.Left.Calls()) yield return x;
                foreach (var x in b.Right.Calls()) yield return x;
                break;
            case Call c:
                yield return c;
                foreach (var a in c.Args) foreach (var x in a.Calls()) yield return x;
                break;
        }
    }

    /// <summary>Renders C# source with <paramref name="ident"/> mapping identifiers and
    /// <paramref name="number"/> rendering literals.</summary>
    public string Render(Func<string, string> ident, Func<Num, string> number, Func<string, IReadOnlyList<string>, string> call)
    {
        switch (this)
        {
            case Num n: return number(n);
            case Ident id: return ident(id.Name);
            case Unary u: return "(-" + u.Operand.Render(ident, number, call) + ")";
            case Binary b: return "(" + b.Left.Render(ident, number, call) + " " + b.Op + " " + b.Right.Render(ident, number, call) + ")";
            case Call c:
                var args = new List<string>();
                foreach (var a in c.Args) args.Add(a.Render(ident, number, call));
                return call(c.Name, args);
            default: throw new InvalidOperationException();
        }
    }

    /// <summary>Evaluates with integers (exact division required); null when an identifier is unknown.</summary>
    public long? EvalInt(Func<string, long?> lookup, out string? error)
    {
        error = null;
        switch (this)
        {
            case Num n:
                if (!n.IsInteger) { error = $"'{n.Raw}' is not an integer"; return null; }
                return (long)n.Value;
            case Ident id:
                var v = lookup(id.Name);
                if (v is null) error = $"unknown symbol '{id.Name}'";
                return v;
            case Unary u:
                var o = u.Operand.EvalInt(lookup, out error);
                return o is null ? null : -o;
            case Binary b:
                var l = b.Left.EvalInt(lookup, out error);
                if (l is null) return null;
                var r = b.Right.EvalInt(lookup, out error);
                if (r is null) return null;
                switch (b.Op)
                {
                    case '+': return l + r;
                    case '-': return l - r;
                    case '*': return l * r;
                    case '/':
                        if (r == 0 || l % r != 0) { error = $"{l} is not divisible by {r}"; return null; }
                        return l / r;
                }
                return null;
            default:
                error = "functions are not allowed in integer expressions";
                return null;
        }
    }

    private sealed class Parser
    {
        private readonly string _s;
        private int _i;

        public Parser(string s) { _s = s; }

        public Expr ParseAll()
        {
            var e = ParseSum();
            Ws();
            if (_i < _s.Length) throw new FormatException($"unexpected '{_s[_i]}' at position {_i + 1}");
            return e;
        }

        private void Ws() { while (_i < _s.Length && char.IsWhiteSpace(_s[_i])) _i++; }

        private Expr ParseSum()
        {
            var left = ParseProduct();
            while (true)
            {
                Ws();
                if (_i < _s.Length && (_s[_i] == '+' || _s[_i] == '-'))
                {
                    char op = _s[_i++];
                    left = new Binary(op, left, ParseProduct());
                }
                else return left;
            }
        }

        private Expr ParseProduct()
        {
            var left = ParseUnary();
            while (true)
            {
                Ws();
                if (_i < _s.Length && (_s[_i] == '*' || _s[_i] == '/'))
                {
                    char op = _s[_i++];
                    left = new Binary(op, left, ParseUnary());
                }
                else return left;
            }
        }

        private Expr ParseUnary()
        {
            Ws();
            if (_i < _s.Length && _s[_i] == '-') { _i++; return new Unary(ParseUnary()); }
            return ParseAtom();
        }

        private Expr ParseAtom()
        {
            Ws();
            if (_i >= _s.Length) throw new FormatException("unexpected end of expression");
            char c = _s[_i];
            if (c == '(')
            {
                _i++;
                var e = ParseSum();
                Ws();
                if (_i >= _s.Length || _s[_i] != ')') throw new FormatException("missing ')'");
                _i++;
                return e;
            }
            if (char.IsDigit(c) || c == '.')
            {
                int start = _i;
                while (_i < _s.Length && (char.IsDigit(_s[_i]) || _s[_i] == '.')) _i++;
                if (_i < _s.Length && (_s[_i] == 'e' || _s[_i] == 'E'))
                {
                    _i++;
                    if (_i < _s.Length && (_s[_i] == '+' || _s[_i] == '-')) _i++;
                    while (_i < _s.Length && char.IsDigit(_s[_i])) _i++;
                }
                string raw = _s.Substring(start, _i - start);
                if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new FormatException($"invalid number '{raw}'");
                return new Num(v, raw);
            }
            if (char.IsLetter(c) || c == '_')
            {
                int start = _i;
                while (_i < _s.Length && (char.IsLetterOrDigit(_s[_i]) || _s[_i] == '_')) _i++;
                string name = _s.Substring(start, _i - start);
                Ws();
                if (_i < _s.Length && _s[_i] == '(')
                {
                    _i++;
                    var args = new List<Expr>();
                    Ws();
                    if (_i < _s.Length && _s[_i] == ')') { _i++; }
                    else
                    {
                        while (true)
                        {
                            args.Add(ParseSum());
                            Ws();
                            if (_i < _s.Length && _s[_i] == ',') { _i++; continue; }
                            if (_i < _s.Length && _s[_i] == ')') { _i++; break; }
                            throw new FormatException($"expected ',' or ')' in call to {name}");
                        }
                    }
                    return new Call(name, args.ToEquatable());
                }
                return new Ident(name);
            }
            throw new FormatException($"unexpected '{c}' at position {_i + 1}");
        }
    }
}

internal sealed record Num(double Value, string Raw) : Expr
{
    public bool IsInteger => Raw.IndexOfAny(new[] { '.', 'e', 'E' }) < 0;
    public string FloatLiteral => Value.ToString("R", CultureInfo.InvariantCulture) + "f";
}

internal sealed record Ident(string Name) : Expr;
internal sealed record Unary(Expr Operand) : Expr;
internal sealed record Binary(char Op, Expr Left, Expr Right) : Expr;
internal sealed record Call(string Name, EquatableArray<Expr> Args) : Expr;
