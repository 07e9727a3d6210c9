namespace IXC25.Runtime.Spec;

/// <summary>
/// Binds an op's shape symbols (spec/ops.json) to the shapes of actual inputs, used by the generated
/// <c>OpShapes</c>: bare symbols bind on first sight and must agree afterwards; expression dimensions
/// are checked once every symbol is bound. Errors name the op, the port, the dimension and both values.
/// </summary>
public sealed class ShapeUnifier(string op, IReadOnlyDictionary<string, long[]> shapes)
{
    private readonly Dictionary<string, long> _values = new(StringComparer.Ordinal);
    // what bound each symbol (an attribute, or a port's dimension), formatted only for an error message
    private readonly Dictionary<string, (string Port, int Dim, bool Attr)> _boundBy = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Values => _values;

    public long this[string symbol] => _values.TryGetValue(symbol, out var v) ? v : throw new IxcException($"op '{op}': symbol {symbol} is not determined by the inputs");

    public void BindAttr(string symbol, long value, string attr)
    {
        _values[symbol] = value;
        _boundBy[symbol] = (attr, -1, true);
    }

    /// <summary>Checks that a present input has the given rank; returns false for an absent optional input.</summary>
    public bool Port(string name, int rank, bool optional)
    {
        if (!shapes.TryGetValue(name, out var s))
        {
            if (optional) return false;
            throw new IxcException($"op '{op}': missing input '{name}'");
        }
        if (s.Length != rank)
            throw new IxcException($"op '{op}': input '{name}' has rank {s.Length} (shape {Tensors.Shape.Format(s)}), expected rank {rank}");
        return true;
    }

    public void Bind(string port, int dim, string symbol)
    {
        long actual = shapes[port][dim];
        if (_values.TryGetValue(symbol, out var v))
        {
            if (v != actual)
                throw new IxcException($"op '{op}': input '{port}' dimension {dim} is {actual}, but {symbol} = {v} (from {BoundBy(symbol)}); shape {Tensors.Shape.Format(shapes[port])}");
            return;
        }
        _values[symbol] = actual;
        _boundBy[symbol] = (port, dim, false);
    }

    private string BoundBy(string symbol) => _boundBy[symbol] is var (port, dim, attr) && attr ? $"attribute {port}" : $"'{port}' dimension {dim}";

    public void Check(string port, int dim, string text, Func<long> expected)
    {
        long actual = shapes[port][dim];
        long e = expected();
        if (e != actual)
            throw new IxcException($"op '{op}': input '{port}' dimension {dim} is {actual}, expected {text} = {e}; shape {Tensors.Shape.Format(shapes[port])}");
    }

    /// <summary>A symbol's value as an int (the dimensions kernels take); 0 when only an absent optional input would bind it.</summary>
    public int Int(string symbol) => _values.TryGetValue(symbol, out var v) ? checked((int)v) : 0;

    /// <summary>
    /// The shape a port with a leading "..." (spec/README.md) is checked as: its leading dimensions folded into
    /// the first of the <paramref name="dims"/> the spec names after "..." (the same array when there are none).
    /// </summary>
    public static long[] Fold(string op, string port, long[] shape, int dims)
    {
        if (shape.Length < dims)
            throw new IxcException($"op '{op}': input '{port}' has rank {shape.Length} (shape {Tensors.Shape.Format(shape)}), expected rank {dims} or more");
        if (shape.Length == dims) return shape;
        var f = new long[dims];
        long lead = 1;
        for (int i = 0; i <= shape.Length - dims; i++) lead = checked(lead * shape[i]);
        f[0] = lead;
        Array.Copy(shape, shape.Length - dims + 1, f, 1, dims - 1);
        return f;
    }

    /// <summary>The dimensions of a port with a leading "..." that fold into the dimension after it.</summary>
    public static ReadOnlyMemory<long> Folded(long[] shape, int dims) => shape.AsMemory(0, shape.Length - dims + 1);

    /// <summary>Two ports folding into the same symbol fold the same dimensions.</summary>
    public static void SameFold(string op, string port, long[] shape, int dims, string firstPort, long[] firstShape, int firstDims)
    {
        if (!Folded(shape, dims).Span.SequenceEqual(Folded(firstShape, firstDims).Span))
            throw new IxcException($"op '{op}': input '{port}' {Tensors.Shape.Format(shape)} and input '{firstPort}' {Tensors.Shape.Format(firstShape)} differ in their leading dimensions");
    }

    /// <summary>Exact division in an output shape.</summary>
    public static long Divide(string op, long a, long b, string text)
    {
        if (b == 0 || a % b != 0) throw new IxcException($"op '{op}': {text} needs {a} to be divisible by {b}");
        return a / b;
    }

    /// <summary>Exact division for expression dimensions.</summary>
    public long Div(long a, long b, string text)
    {
        if (b == 0 || a % b != 0) throw new IxcException($"op '{op}': {text} needs {a} to be divisible by {b}");
        return a / b;
    }
}
