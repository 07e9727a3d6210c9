using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Checkpoints;

// The values a torch state-dict pickle can produce. Plain values are boxed .NET values: null (None),
// bool, long (int), BigInteger (an int wider than 64 bits), double, string, byte[] (bytes).

/// <summary>A Python tuple.</summary>
internal sealed class PickleTuple(object?[] items)
{
    public object?[] Items { get; } = items;
}

/// <summary>A Python list.</summary>
internal sealed class PickleList
{
    public List<object?> Items { get; } = [];
}

/// <summary>A Python dict or collections.OrderedDict: insertion-ordered; setting a string key again replaces its value in place.</summary>
internal sealed class PickleDict
{
    private readonly Dictionary<string, int> _stringKeys = new(StringComparer.Ordinal);
    public List<KeyValuePair<object?, object?>> Items { get; } = [];
    public bool Ordered { get; init; }

    public void Set(object? key, object? value)
    {
        if (key is string s)
        {
            if (_stringKeys.TryGetValue(s, out int i)) { Items[i] = new(key, value); return; }
            _stringKeys[s] = Items.Count;
        }
        Items.Add(new(key, value));
    }

    public bool TryGet(string key, out object? value)
    {
        if (_stringKeys.TryGetValue(key, out int i)) { value = Items[i].Value; return true; }
        value = null;
        return false;
    }
}

/// <summary>One of the allow-listed globals (never a Python callable: a tag our own handlers switch on).</summary>
internal sealed record PickleGlobal(string Module, string Name, PickleGlobalKind Kind, DType StorageDType = default)
{
    public string FullName => Module + "." + Name;
}

internal enum PickleGlobalKind { OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter, RebuildParameterWithState, StorageType }

/// <summary>A typed storage named by a persistent id: <c>&lt;archive&gt;/data/&lt;Key&gt;</c> holds <see cref="Numel"/> elements.</summary>
internal sealed record TorchStorageRef(string Key, DType DType, string Location, long Numel);

/// <summary>A tensor as torch rebuilds it: a strided view (element units) of a storage.</summary>
internal sealed record TorchTensorRef(TorchStorageRef Storage, long StorageOffset, long[] Shape, long[] Stride);

/// <summary>
/// A safe interpreter for the pickles that <c>torch.save</c> writes (data.pkl): it understands the
/// binary opcodes of protocols 2 to 5 that a state dict uses and EXECUTES NOTHING. A global
/// (GLOBAL, STACK_GLOBAL, INST) is resolved only against a fixed allow-list — collections.OrderedDict,
/// torch._utils._rebuild_tensor(_v2), torch._utils._rebuild_parameter(_with_state) and the torch.*Storage
/// types — to handlers of ours; any other global is refused at that opcode, before anything else is
/// read, with an <see cref="IxcException"/> naming the module, the name and the file. Unknown opcodes,
/// truncation, implausible lengths and type confusion are <see cref="IxcException"/>s too; the cost is
/// linear in the input (every opcode consumes bytes; references share objects, nothing is copied).
/// </summary>
internal sealed class TorchPickle
{
    private readonly string _source;
    private readonly byte[] _data;
    private int _pos;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private readonly Dictionary<string, TorchStorageRef> _storages = new(StringComparer.Ordinal);

    private TorchPickle(ReadOnlySpan<byte> data, string source)
    {
        _data = data.ToArray();
        _source = source;
    }

    /// <summary>Interprets <paramref name="data"/> and returns the unpickled value (see the value classes above).</summary>
    /// <param name="source">How to name the input in messages (e.g. "model.bin: archive/data.pkl").</param>
    public static object? Load(ReadOnlySpan<byte> data, string source) => new TorchPickle(data, source).Run();

    /// <summary>The allow-list: module and name of every global a torch state dict may use.</summary>
    public static PickleGlobal? Resolve(string module, string name)
    {
        switch (module, name)
        {
            case ("collections", "OrderedDict"): return new(module, name, PickleGlobalKind.OrderedDict);
            case ("torch._utils", "_rebuild_tensor_v2"): return new(module, name, PickleGlobalKind.RebuildTensorV2);
            case ("torch._utils", "_rebuild_tensor"): return new(module, name, PickleGlobalKind.RebuildTensor);
            case ("torch._utils", "_rebuild_parameter"): return new(module, name, PickleGlobalKind.RebuildParameter);
            case ("torch._utils", "_rebuild_parameter_with_state"): return new(module, name, PickleGlobalKind.RebuildParameterWithState);
        }
        if (module == "torch" && StorageDType(name) is DType dt) return new(module, name, PickleGlobalKind.StorageType, dt);
        return null;
    }

    private static DType? StorageDType(string name) => name switch
    {
        "FloatStorage" => DType.F32,
        "HalfStorage" => DType.F16,
        "BFloat16Storage" => DType.BF16,
        "DoubleStorage" => DType.F64,
        "LongStorage" => DType.I64,
        "IntStorage" => DType.I32,
        "ShortStorage" => DType.I16,
        "CharStorage" => DType.I8,
        "ByteStorage" => DType.U8,
        "BoolStorage" => DType.Bool,
        _ => null,
    };

    private IxcException Error(string what) => new($"{_source}: {what}");

    private object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Error($"truncated pickle: no STOP opcode before the end ({_data.Length} bytes)");
            int at = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    {
                        int proto = ReadByte();
                        if (proto > 5) throw Error($"unsupported pickle protocol {proto} at byte {at}");
                        break;
                    }
                case 0x95: // FRAME: only a hint for buffered readers; the opcodes continue inline
                    {
                        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
                        if (n > (ulong)(_data.Length - _pos)) throw Error($"truncated pickle: frame of {n} bytes at byte {at} runs past the end");
                        break;
                    }
                case (byte)'.': // STOP
                    {
                        if (_marks.Count != 0 || _stack.Count != 1)
                            throw Error($"malformed pickle: STOP at byte {at} with {_stack.Count} values on the stack and {_marks.Count} open marks");
                        return _stack[0];
                    }
                case (byte)'(': _marks.Push(_stack.Count); break; // MARK
                case (byte)'0': Pop(at); break; // POP
                case (byte)'1': PopMark(at); break; // POP_MARK
                case (byte)'2': Push(Peek(at)); break; // DUP
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte(), at)); break; // LONG1
                case 0x8b: Push(ReadLong(ReadLength(4, at), at)); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                case (byte)'X': Push(Utf8(Take(ReadLength(4, at)), at)); break; // BINUNICODE
                case 0x8c: Push(Utf8(Take(ReadByte()), at)); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Take(ReadLength(8, at)), at)); break; // BINUNICODE8
                case (byte)'T': Push(Encoding.Latin1.GetString(Take(ReadLength(4, at)))); break; // BINSTRING (Python 2 str)
                case (byte)'U': Push(Encoding.Latin1.GetString(Take(ReadByte()))); break; // SHORT_BINSTRING
                case (byte)'B': Push(Take(ReadLength(4, at)).ToArray()); break; // BINBYTES
                case (byte)'C': Push(Take(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case 0x8e: Push(Take(ReadLength(8, at)).ToArray()); break; // BINBYTES8
                case (byte)')': Push(new PickleTuple([])); break; // EMPTY_TUPLE
                case (byte)'t': Push(new PickleTuple(PopMark(at))); break; // TUPLE
                case 0x85: Push(new PickleTuple([Pop(at)])); break; // TUPLE1
                case 0x86: { var b = Pop(at); var a = Pop(at); Push(new PickleTuple([a, b])); break; } // TUPLE2
                case 0x87: { var c = Pop(at); var b = Pop(at); var a = Pop(at); Push(new PickleTuple([a, b, c])); break; } // TUPLE3
                case (byte)']': Push(new PickleList()); break; // EMPTY_LIST
                case (byte)'l': { var l = new PickleList(); l.Items.AddRange(PopMark(at)); Push(l); break; } // LIST
                case (byte)'a': { var v = Pop(at); ListAt(at, Peek(at)).Items.Add(v); break; } // APPEND
                case (byte)'e': { var items = PopMark(at); ListAt(at, Peek(at)).Items.AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)'d': { var items = PopMark(at); var d = new PickleDict(); SetItems(at, d, items); Push(d); break; } // DICT
                case (byte)'s': { var v = Pop(at); var k = Pop(at); DictAt(at, Peek(at)).Set(k, v); break; } // SETITEM
                case (byte)'u': { var items = PopMark(at); SetItems(at, DictAt(at, Peek(at)), items); break; } // SETITEMS
                case (byte)'q': Memo(ReadByte(), at); break; // BINPUT
                case (byte)'r': Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), at); break; // LONG_BINPUT
                case 0x94: Memo(_memo.Count, at); break; // MEMOIZE
                case (byte)'h': Push(Recall(ReadByte(), at)); break; // BINGET
                case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), at)); break; // LONG_BINGET
                case (byte)'c': // GLOBAL module\nname\n
                    {
                        string module = ReadLine(at), name = ReadLine(at);
                        Push(Global(module, name, at));
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop(at);
                        var module = Pop(at);
                        if (module is not string m || name is not string n)
                            throw Error($"malformed pickle: STACK_GLOBAL at byte {at} needs two strings, got {Describe(module)} and {Describe(name)}");
                        Push(Global(m, n, at));
                        break;
                    }
                case (byte)'i': // INST module\nname\n: instantiates a class; never used by torch.save
                    {
                        string module = ReadLine(at), name = ReadLine(at);
                        Global(module, name, at); // refuses anything outside the allow-list, naming it
                        throw Error($"unsupported pickle opcode INST ({Printable(module)}.{Printable(name)}) at byte {at}");
                    }
                case (byte)'R': // REDUCE
                    {
                        var args = Pop(at);
                        var callable = Pop(at);
                        Push(Reduce(callable, args, at));
                        break;
                    }
                case 0x81: // NEWOBJ cls.__new__(cls, *args)
                    {
                        var args = Pop(at);
                        var cls = Pop(at);
                        if (cls is PickleGlobal { Kind: PickleGlobalKind.OrderedDict } && args is PickleTuple { Items.Length: 0 })
                            Push(new PickleDict { Ordered = true });
                        else
                            throw Error($"unsupported pickle: NEWOBJ of {Describe(cls)} at byte {at}");
                        break;
                    }
                case (byte)'b': // BUILD: only attribute state on an OrderedDict (a state dict's _metadata), which we ignore
                    {
                        var state = Pop(at);
                        var obj = Peek(at);
                        if (obj is not PickleDict || state is not (PickleDict or PickleTuple or null))
                            throw Error($"unsupported pickle: BUILD of {Describe(obj)} with {Describe(state)} at byte {at}");
                        break;
                    }
                case (byte)'Q': // BINPERSID: a storage reference
                    Push(PersistentLoad(Pop(at), at));
                    break;
                default:
                    throw Error($"unsupported or corrupt pickle opcode 0x{op:x2} at byte {at}");
            }
        }
    }

    // ---------------------------------------------------------------- globals and calls

    private PickleGlobal Global(string module, string name, int at)
    {
        var g = Resolve(module, name);
        if (g is not null) return g;
        if (module == "torch" && name.EndsWith("Storage", StringComparison.Ordinal))
            throw Error($"storage type torch.{Printable(name)} is not supported (at byte {at}); supported: float, half, bfloat16, double, long, int, short, char, byte, bool");
        throw Error($"refusing pickle global '{Printable(module)}.{Printable(name)}' at byte {at}: only the globals of a torch state dict " +
                    "(collections.OrderedDict, torch._utils._rebuild_*, torch.*Storage) are allowed; the file may be malicious");
    }

    private object? Reduce(object? callable, object? args, int at)
    {
        if (callable is not PickleGlobal g) throw Error($"malformed pickle: REDUCE of {Describe(callable)} at byte {at}");
        if (args is not PickleTuple t) throw Error($"malformed pickle: REDUCE of {g.FullName} with {Describe(args)} instead of an argument tuple at byte {at}");
        var a = t.Items;
        switch (g.Kind)
        {
            case PickleGlobalKind.OrderedDict:
                if (a.Length != 0) throw Error($"unsupported pickle: collections.OrderedDict called with {a.Length} arguments at byte {at}");
                return new PickleDict { Ordered = true };
            case PickleGlobalKind.RebuildTensorV2 when a.Length is 6 or 7: // (storage, offset, size, stride, requires_grad, hooks[, metadata])
            case PickleGlobalKind.RebuildTensor when a.Length == 4: // (storage, offset, size, stride)
                return RebuildTensor(g, a, at);
            case PickleGlobalKind.RebuildParameter when a.Length == 3: // (data, requires_grad, hooks)
            case PickleGlobalKind.RebuildParameterWithState when a.Length == 4: // (data, requires_grad, hooks, state)
                return a[0] is TorchTensorRef tensor ? tensor : throw Error($"malformed pickle: {g.FullName} of {Describe(a[0])} at byte {at}");
            default:
                throw Error($"malformed pickle: {g.FullName} called with {a.Length} arguments at byte {at}");
        }
    }

    private TorchTensorRef RebuildTensor(PickleGlobal g, object?[] a, int at)
    {
        if (a[0] is not TorchStorageRef storage) throw Error($"malformed pickle: {g.FullName} of {Describe(a[0])} instead of a storage at byte {at}");
        if (a[1] is not long offset || offset < 0) throw Error($"malformed pickle: {g.FullName} storage offset {Describe(a[1])} at byte {at}");
        long[] shape = Longs(a[2], g, "size", at), stride = Longs(a[3], g, "stride", at);
        if (shape.Length != stride.Length)
            throw Error($"malformed pickle: {g.FullName} with {shape.Length} sizes and {stride.Length} strides at byte {at}");
        return new TorchTensorRef(storage, offset, shape, stride);
    }

    private long[] Longs(object? v, PickleGlobal g, string what, int at)
    {
        if (v is not PickleTuple t) throw Error($"malformed pickle: {g.FullName} {what} is {Describe(v)}, expected a tuple, at byte {at}");
        if (t.Items.Length > 64) throw Error($"malformed pickle: {g.FullName} {what} has {t.Items.Length} dimensions at byte {at}");
        var r = new long[t.Items.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = t.Items[i] is long x && x >= 0 ? x : throw Error($"malformed pickle: {g.FullName} {what}[{i}] is {Describe(t.Items[i])} at byte {at}");
        return r;
    }

    /// <summary>persistent id ('storage', storage type, key, location, numel) as torch's persistent_id writes it.</summary>
    private TorchStorageRef PersistentLoad(object? pid, int at)
    {
        if (pid is not PickleTuple { Items: [string tag, var type, string key, string location, long numel] } || tag != "storage")
            throw Error($"malformed pickle: persistent id {Describe(pid)} at byte {at} is not ('storage', type, key, location, numel)");
        if (type is not PickleGlobal { Kind: PickleGlobalKind.StorageType } st)
            throw Error($"malformed pickle: storage '{Printable(key)}' has type {Describe(type)} at byte {at}");
        if (numel < 0) throw Error($"malformed pickle: storage '{Printable(key)}' has {numel} elements");
        if (_storages.TryGetValue(key, out var known))
        {
            if (known.DType != st.StorageDType || known.Numel != numel)
                throw Error($"malformed pickle: storage '{Printable(key)}' is referenced as {known.DType.SpecName()}[{known.Numel}] and as {st.StorageDType.SpecName()}[{numel}]");
            return known;
        }
        var r = new TorchStorageRef(key, st.StorageDType, location, numel);
        _storages[key] = r;
        return r;
    }

    // ---------------------------------------------------------------- stack, memo, containers

    private void Push(object? v) => _stack.Add(v);

    private int Floor => _marks.Count > 0 ? _marks.Peek() : 0;

    private object? Pop(int at)
    {
        if (_stack.Count <= Floor) throw Error($"malformed pickle: stack underflow at byte {at}");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek(int at)
    {
        if (_stack.Count <= Floor) throw Error($"malformed pickle: stack underflow at byte {at}");
        return _stack[^1];
    }

    private object?[] PopMark(int at)
    {
        if (_marks.Count == 0) throw Error($"malformed pickle: no MARK before byte {at}");
        int m = _marks.Pop();
        var items = _stack.GetRange(m, _stack.Count - m).ToArray();
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private PickleList ListAt(int at, object? v) => v as PickleList ?? throw Error($"malformed pickle: append to {Describe(v)} at byte {at}");
    private PickleDict DictAt(int at, object? v) => v as PickleDict ?? throw Error($"malformed pickle: set item on {Describe(v)} at byte {at}");

    private void SetItems(int at, PickleDict d, object?[] items)
    {
        if (items.Length % 2 != 0) throw Error($"malformed pickle: odd number of items ({items.Length}) for a dict at byte {at}");
        for (int i = 0; i < items.Length; i += 2) d.Set(items[i], items[i + 1]);
    }

    private void Memo(long index, int at) => _memo[index] = Peek(at);

    private object? Recall(long index, int at) =>
        _memo.TryGetValue(index, out var v) ? v : throw Error($"malformed pickle: memo entry {index} read before it was written at byte {at}");

    // ---------------------------------------------------------------- raw reads

    private int ReadByte()
    {
        if (_pos >= _data.Length) throw Error($"truncated pickle at byte {_pos}");
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> Take(long n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Error($"truncated pickle: {n} bytes wanted at byte {_pos}, {_data.Length - _pos} left");
        var s = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    private long ReadLength(int width, int at)
    {
        ulong n = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Take(4)) : BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        if (n > (ulong)(_data.Length - _pos)) throw Error($"truncated or corrupt pickle: length {n} at byte {at} runs past the end ({_data.Length - _pos} bytes left)");
        return (long)n;
    }

    private object ReadLong(long n, int at)
    {
        var b = Take(n);
        if (b.Length == 0) return 0L;
        if (b.Length <= 8)
        {
            long v = 0;
            for (int i = b.Length - 1; i >= 0; i--) v = (v << 8) | b[i];
            int shift = 64 - 8 * b.Length;
            return shift == 0 ? v : (v << shift) >> shift; // sign-extend the two's complement value
        }
        if (b.Length > 1024) throw Error($"unsupported pickle: integer of {b.Length} bytes at byte {at}");
        return new BigInteger(b, isUnsigned: false, isBigEndian: false);
    }

    private string ReadLine(int at)
    {
        int nl = Array.IndexOf(_data, (byte)'\n', _pos);
        if (nl < 0) throw Error($"truncated pickle: unterminated global name at byte {at}");
        string s = Encoding.UTF8.GetString(_data, _pos, nl - _pos);
        _pos = nl + 1;
        return s;
    }

    private string Utf8(ReadOnlySpan<byte> b, int at)
    {
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(b); }
        catch (DecoderFallbackException) { throw Error($"corrupt pickle: invalid UTF-8 string at byte {at}"); }
    }

    private static string Printable(string s) => ZipDirectory.Printable(s);

    /// <summary>A short description of a value for messages (never recursive).</summary>
    internal static string Describe(object? v) => v switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => "int " + l,
        BigInteger => "a big int",
        double d => "float " + d.ToString(System.Globalization.CultureInfo.InvariantCulture),
        string s => "'" + Printable(s.Length > 40 ? s[..40] + "…" : s) + "'",
        byte[] b => $"bytes[{b.Length}]",
        PickleTuple t => $"a tuple of {t.Items.Length}",
        PickleList l => $"a list of {l.Items.Count}",
        PickleDict d => $"a dict of {d.Items.Count}",
        PickleGlobal g => g.FullName,
        TorchStorageRef s => $"storage '{Printable(s.Key)}'",
        TorchTensorRef t => $"a tensor {t.Storage.DType.SpecName()}{Shape.Format(t.Shape)}",
        _ => v.GetType().Name,
    };
}
