using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace IXC25.Generators.Json;

/// <summary>Where a JSON value sits in its file (0-based offsets, lines and columns).</summary>
internal readonly record struct SourceSpan(int Start, int Length, int Line, int Column, int EndLine, int EndColumn);

internal enum JsonKind { Object, Array, String, Number, Bool, Null }

/// <summary>
/// A parsed JSON value that remembers its position, so spec errors can be reported as compiler
/// diagnostics located in the spec file. A small hand-written reader: a JSON library would have to
/// ship inside the analyzer package (see DEPENDENCIES.md).
/// </summary>
internal sealed class JsonValue
{
    private JsonValue(JsonKind kind, SourceSpan span)
    {
        Kind = kind;
        Span = span;
    }

    public JsonKind Kind { get; }
    public SourceSpan Span { get; private set; }
    public string? StringValue { get; private set; }
    public double NumberValue { get; private set; }
    public string? RawNumber { get; private set; }
    public bool BoolValue { get; private set; }
    public List<JsonValue> Items { get; } = new();
    /// <summary>Object members in file order, with the span of each key.</summary>
    public List<(string Key, SourceSpan KeySpan, JsonValue Value)> Members { get; } = new();

    public JsonValue? this[string key]
    {
        get
        {
            foreach (var m in Members) if (m.Key == key) return m.Value;
            return null;
        }
    }

    public bool IsInteger => Kind == JsonKind.Number && RawNumber!.IndexOfAny(new[] { '.', 'e', 'E' }) < 0;

    public string Describe() => Kind switch
    {
        JsonKind.Object => "an object",
        JsonKind.Array => "an array",
        JsonKind.String => "a string",
        JsonKind.Number => "a number",
        JsonKind.Bool => "a boolean",
        _ => "null",
    };

    public static JsonValue Parse(string text) => new Reader(text).ParseDocument();

    private sealed class Reader
    {
        private readonly string _s;
        private int _i;
        private int _line;
        private int _lineStart;
        private int _depth;

        public Reader(string s) { _s = s; }

        public JsonValue ParseDocument()
        {
            SkipWs();
            var v = ParseValue();
            SkipWs();
            if (_i < _s.Length) throw Error("unexpected text after the top-level value");
            return v;
        }

        private JsonException Error(string message) => new JsonException(message, _i, _line, _i - _lineStart);

        private void SkipWs()
        {
            while (_i < _s.Length)
            {
                char c = _s[_i];
                if (c == '\n') { _i++; _line++; _lineStart = _i; }
                else if (c == ' ' || c == '\t' || c == '\r') _i++;
                else break;
            }
        }

        private (int start, int line, int col) Mark() => (_i, _line, _i - _lineStart);

        private SourceSpan SpanFrom((int start, int line, int col) m) =>
            new SourceSpan(m.start, _i - m.start, m.line, m.col, _line, _i - _lineStart);

        private JsonValue ParseValue()
        {
            if (_i >= _s.Length) throw Error("unexpected end of file");
            if (++_depth > 64) throw Error("nesting too deep");
            try
            {
                char c = _s[_i];
                switch (c)
                {
                    case '{': return ParseObject();
                    case '[': return ParseArray();
                    case '"':
                        {
                            var m = Mark();
                            string str = ParseString();
                            return new JsonValue(JsonKind.String, SpanFrom(m)) { StringValue = str };
                        }
                    case 't': return Literal("true", JsonKind.Bool, true);
                    case 'f': return Literal("false", JsonKind.Bool, false);
                    case 'n': return Literal("null", JsonKind.Null, false);
                    default:
                        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
                        throw Error($"unexpected character '{c}'");
                }
            }
            finally { _depth--; }
        }

        private JsonValue Literal(string word, JsonKind kind, bool value)
        {
            var m = Mark();
            if (string.CompareOrdinal(_s, _i, word, 0, word.Length) != 0) throw Error($"expected '{word}'");
            _i += word.Length;
            return new JsonValue(kind, SpanFrom(m)) { BoolValue = value };
        }

        private JsonValue ParseNumber()
        {
            var m = Mark();
            int start = _i;
            if (_s[_i] == '-') _i++;
            if (_i >= _s.Length || !char.IsDigit(_s[_i])) throw Error("invalid number");
            if (_s[_i] == '0') _i++;
            else while (_i < _s.Length && char.IsDigit(_s[_i])) _i++;
            if (_i < _s.Length && _s[_i] == '.')
            {
                _i++;
                if (_i >= _s.Length || !char.IsDigit(_s[_i])) throw Error("invalid number: digits expected after '.'");
                while (_i < _s.Length && char.IsDigit(_s[_i])) _i++;
            }
            if (_i < _s.Length && (_s[_i] == 'e' || _s[_i] == 'E'))
            {
                _i++;
                if (_i < _s.Length && (_s[_i] == '+' || _s[_i] == '-')) _i++;
                if (_i >= _s.Length || !char.IsDigit(_s[_i])) throw Error("invalid number: digits expected in exponent");
                while (_i < _s.Length && char.IsDigit(_s[_i])) _i++;
            }
            string raw = _s.Substring(start, _i - start);
            return new JsonValue(JsonKind.Number, SpanFrom(m))
            {
                RawNumber = raw,
                NumberValue = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
        }

        private string ParseString()
        {
            _i++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (_i >= _s.Length) throw Error("unterminated string");
                char c = _s[_i++];
                if (c == '"') break;
                if (c == '\n' || c < ' ') throw Error("control character in string");
                if (c != '\\') { sb.Append(c); continue; }
                if (_i >= _s.Length) throw Error("unterminated escape");
                char e = _s[_i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (_i + 4 > _s.Length || !int.TryParse(_s.Substring(_i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code))
                            throw Error("invalid \\u escape");
                        sb.Append((char)code);
                        _i += 4;
                        break;
                    default: throw Error($"invalid escape '\\{e}'");
                }
            }
            return sb.ToString();
        }

        private JsonValue ParseArray()
        {
            var m = Mark();
            _i++;
            var list = new List<JsonValue>();
            SkipWs();
            if (_i < _s.Length && _s[_i] == ']') { _i++; }
            else
            {
                while (true)
                {
                    SkipWs();
                    list.Add(ParseValue());
                    SkipWs();
                    if (_i >= _s.Length) throw Error("unterminated array");
                    if (_s[_i] == ',') { _i++; continue; }
                    if (_s[_i] == ']') { _i++; break; }
                    throw Error("expected ',' or ']'");
                }
            }
            var v = new JsonValue(JsonKind.Array, SpanFrom(m));
            v.Items.AddRange(list);
            return v;
        }

        private JsonValue ParseObject()
        {
            var m = Mark();
            _i++;
            var members = new List<(string, SourceSpan, JsonValue)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            SkipWs();
            if (_i < _s.Length && _s[_i] == '}') { _i++; }
            else
            {
                while (true)
                {
                    SkipWs();
                    if (_i >= _s.Length || _s[_i] != '"') throw Error("expected a quoted member name");
                    var km = Mark();
                    string key = ParseString();
                    var keySpan = SpanFrom(km);
                    if (!seen.Add(key)) throw new JsonException($"duplicate member '{key}'", keySpan.Start, keySpan.Line, keySpan.Column);
                    SkipWs();
                    if (_i >= _s.Length || _s[_i] != ':') throw Error("expected ':'");
                    _i++;
                    SkipWs();
                    var value = ParseValue();
                    members.Add((key, keySpan, value));
                    SkipWs();
                    if (_i >= _s.Length) throw Error("unterminated object");
                    if (_s[_i] == ',') { _i++; continue; }
                    if (_s[_i] == '}') { _i++; break; }
                    throw Error("expected ',' or '}'");
                }
            }
            var v = new JsonValue(JsonKind.Object, SpanFrom(m));
            v.Members.AddRange(members);
            return v;
        }
    }
}

internal sealed class JsonException : Exception
{
    public JsonException(string message, int offset, int line, int column) : base(message)
    {
        Offset = offset;
        Line = line;
        Column = column;
    }

    public int Offset { get; }
    public int Line { get; }
    public int Column { get; }
}
