using System.Buffers;
using System.Text;

namespace IXC25.Tokenizer.SentencePiece;

/// <summary>
/// SentencePiece-BPE encoding and decoding, id-exact with the <c>sentencepiece</c> library for models
/// of the InternLM2 kind (see <see cref="SentencePieceModel"/>). The goldens come from 0.1.97 (Debian);
/// upstream pins 0.1.99, and <c>bpe_model.cc</c>, <c>normalizer.cc</c>, <c>model_interface.cc</c> and
/// <c>sentencepiece_processor.cc</c> are identical in the two releases.
/// <para>
/// Why our own: Microsoft.ML.Tokenizers 2.0.1 loads the InternLM2 model but is not id-exact with
/// sentencepiece. It breaks score ties at the rightmost pair (sentencepiece: leftmost) and lets merges
/// reach CONTROL pieces (the text <c>"&lt;s&gt;"</c> becomes id 1); on a code corpus 97.7% of lines
/// matched. See DEPENDENCIES.md.
/// </para>
/// <para>What sentencepiece does for this model, step by step (and what we do):</para>
/// <list type="number">
/// <item>Normalization (<c>normalizer.cc</c>, identity rule, no dummy prefix, whitespace kept): each
/// ASCII space U+0020 becomes the meta symbol U+2581 "▁"; every other character is kept, including
/// "\t", "\r", "\n", NUL and other control characters; each byte that does not start a well-formed
/// UTF-8 character becomes U+FFFD (one per byte, see <see cref="Utf8Rules"/>). A literal "▁" in the
/// input is therefore indistinguishable from a space and decodes as a space.</item>
/// <item>Initial symbols (<c>bpe_model.cc</c>): at each position the longest USER_DEFINED piece that
/// matches is one frozen symbol (never merged); otherwise one UTF-8 character is a symbol.</item>
/// <item>Merges: repeatedly merge the adjacent pair of unfrozen symbols whose concatenation is a
/// NORMAL or USER_DEFINED piece with the highest score; among equal scores, the leftmost pair.
/// CONTROL, UNKNOWN and BYTE pieces are never the result of a merge.</item>
/// <item>Ids: a final symbol that is a piece gets its id; any other symbol (a character not in the
/// vocabulary) is replaced by the byte pieces <c>&lt;0xNN&gt;</c> of its UTF-8 bytes (byte fallback),
/// so the unknown id never appears.</item>
/// </list>
/// <para>The fast path (<see cref="Encode(ReadOnlySpan{byte}, List{int})"/>) is sentencepiece's own
/// algorithm: a linked list of symbols and a priority queue of candidate pairs with lazy deletion.
/// <see cref="EncodeReference"/> is the plain quadratic definition it is tested against.</para>
/// </summary>
public sealed class SentencePieceBpe
{
    private readonly PieceTable table;
    private readonly bool[] mergeable;
    private readonly float[] scores;
    private readonly UserDefinedMatcher userDefined;
    private readonly PieceType[] types;
    private readonly byte[][] utf8;

    public SentencePieceModel Model { get; }

    public SentencePieceBpe(SentencePieceModel model)
    {
        Model = model;
        table = new PieceTable(model.Pieces);
        mergeable = new bool[model.Count];
        scores = new float[model.Count];
        types = new PieceType[model.Count];
        utf8 = new byte[model.Count][];
        foreach (var p in model.Pieces)
        {
            mergeable[p.Id] = p.Type is PieceType.Normal or PieceType.UserDefined;
            scores[p.Id] = p.Score;
            types[p.Id] = p.Type;
            utf8[p.Id] = p.Utf8;
        }
        userDefined = new UserDefinedMatcher(model.Pieces.Where(p => p.Type == PieceType.UserDefined));
    }

    // ------------------------------------------------------------------ normalization

    /// <summary>
    /// The normalized form of <paramref name="input"/> (UTF-8): spaces become U+2581, malformed bytes
    /// U+FFFD, everything else is copied. Writes into <paramref name="output"/> (at least 3x the input
    /// length) and returns the number of bytes written.
    /// </summary>
    internal static int Normalize(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int o = 0;
        int i = 0;
        while (i < input.Length)
        {
            byte b = input[i];
            if (b < 0x80)
            {
                if (b == (byte)' ') { output[o] = 0xE2; output[o + 1] = 0x96; output[o + 2] = 0x81; o += 3; }
                else output[o++] = b;
                i++;
                continue;
            }
            if (Utf8Rules.TryDecode(input[i..], out int n))
            {
                input.Slice(i, n).CopyTo(output[o..]);
                o += n;
                i += n;
            }
            else
            {
                Utf8Rules.Replacement.CopyTo(output[o..]);
                o += 3;
                i += 1;
            }
        }
        return o;
    }

    /// <summary>Length of the initial symbol at the start of <paramref name="s"/> and whether it is a frozen user-defined piece.</summary>
    private int InitialSymbol(ReadOnlySpan<byte> s, out bool frozen)
    {
        int m = userDefined.Match(s);
        frozen = m > 0;
        return frozen ? m : Math.Min(s.Length, Utf8Rules.OneCharLen(s[0]));
    }

    /// <summary>The id of a final symbol: the piece with these bytes, or -1 when it is not in the vocabulary.</summary>
    private int FinalId(ReadOnlySpan<byte> symbol) => table.Find(symbol);

    private void AppendSymbol(ReadOnlySpan<byte> symbol, int id, List<int> output)
    {
        if (id >= 0) { output.Add(id); return; }
        foreach (byte b in symbol) output.Add(Model.ByteIds[b]); // byte fallback
    }

    // ------------------------------------------------------------------ reference encoder

    /// <summary>
    /// The definition: normalize, split into initial symbols, then repeatedly merge the best pair
    /// (highest score, leftmost among equals) until no adjacent pair forms a mergeable piece. O(T^2).
    /// </summary>
    public void EncodeReference(ReadOnlySpan<byte> input, List<int> output)
    {
        var norm = new byte[input.Length * 3];
        var text = norm.AsSpan(0, Normalize(input, norm));
        var symbols = new List<(int Start, int Length, bool Frozen)>();
        for (int pos = 0; pos < text.Length;)
        {
            int len = InitialSymbol(text[pos..], out bool frozen);
            symbols.Add((pos, len, frozen));
            pos += len;
        }
        while (true)
        {
            int best = -1;
            float bestScore = 0;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                var (a, b) = (symbols[i], symbols[i + 1]);
                if (a.Frozen || b.Frozen) continue;
                int id = table.Find(text.Slice(a.Start, a.Length + b.Length));
                if (id < 0 || !mergeable[id]) continue;
                if (best < 0 || scores[id] > bestScore) { best = i; bestScore = scores[id]; }
            }
            if (best < 0) break;
            symbols[best] = (symbols[best].Start, symbols[best].Length + symbols[best + 1].Length, false);
            symbols.RemoveAt(best + 1);
        }
        foreach (var s in symbols)
        {
            var bytes = text.Slice(s.Start, s.Length);
            AppendSymbol(bytes, FinalId(bytes), output);
        }
    }

    // ------------------------------------------------------------------ fast encoder

    private struct Candidate
    {
        public float Score;
        public int Left, Right, Size, Id;

        /// <summary>True when this candidate must be merged before <paramref name="other"/>: higher score, then smaller left index.</summary>
        public readonly bool Before(in Candidate other) => Score > other.Score || (Score == other.Score && Left < other.Left);
    }

    /// <summary>Per-thread scratch space, reused across calls.</summary>
    private sealed class Scratch
    {
        public byte[] Norm = new byte[1024];
        public int[] Start = new int[256], Length = new int[256], Prev = new int[256], Next = new int[256], Id = new int[256];
        public bool[] Frozen = new bool[256];
        public Candidate[] Heap = new Candidate[256];

        public void EnsureSymbols(int n)
        {
            if (Start.Length >= n) return;
            int m = Math.Max(n, Start.Length * 2);
            Start = new int[m]; Length = new int[m]; Prev = new int[m]; Next = new int[m]; Id = new int[m]; Frozen = new bool[m];
        }
    }

    [ThreadStatic] private static Scratch? scratch;

    private const int MaxRetainedInput = 1 << 18;

    /// <summary>Encodes UTF-8 bytes (malformed bytes are treated as sentencepiece treats them) and appends the ids.</summary>
    public void Encode(ReadOnlySpan<byte> input, List<int> output)
    {
        if (input.IsEmpty) return;
        // Inputs up to 256 KiB reuse this thread's buffers; a larger one gets its own, so that one huge
        // text does not pin tens of megabytes per thread afterwards.
        var s = input.Length <= MaxRetainedInput ? scratch ??= new Scratch() : new Scratch();
        if (s.Norm.Length < input.Length * 3) s.Norm = new byte[Math.Max(input.Length * 3, s.Norm.Length * 2)];
        int normLength = Normalize(input, s.Norm);
        var text = s.Norm.AsSpan(0, normLength);

        // Initial symbols.
        s.EnsureSymbols(normLength);
        int n = 0;
        for (int pos = 0; pos < normLength; n++)
        {
            int len = InitialSymbol(text[pos..], out bool frozen);
            s.Start[n] = pos; s.Length[n] = len; s.Frozen[n] = frozen;
            s.Prev[n] = n - 1; s.Next[n] = n + 1; s.Id[n] = -2; // -2: not looked up yet
            pos += len;
        }
        s.Next[n - 1] = -1;

        int heapCount = 0;
        for (int i = 1; i < n; i++) MaybeAdd(s, text, i - 1, i, ref heapCount);

        while (heapCount > 0)
        {
            var top = s.Heap[0];
            Pop(s, ref heapCount);
            int l = top.Left, r = top.Right;
            int ll = s.Length[l], rl = s.Length[r];
            if (ll == 0 || rl == 0 || ll + rl != top.Size) continue; // stale
            s.Length[l] = ll + rl;
            s.Id[l] = top.Id;
            int rn = s.Next[r];
            s.Next[l] = rn;
            if (rn >= 0) s.Prev[rn] = l;
            s.Length[r] = 0;
            MaybeAdd(s, text, s.Prev[l], l, ref heapCount);
            MaybeAdd(s, text, l, rn, ref heapCount);
        }

        for (int i = 0; i >= 0; i = s.Next[i])
        {
            var bytes = text.Slice(s.Start[i], s.Length[i]);
            int id = s.Id[i] == -2 ? FinalId(bytes) : s.Id[i];
            AppendSymbol(bytes, id, output);
        }
    }

    private void MaybeAdd(Scratch s, ReadOnlySpan<byte> text, int left, int right, ref int heapCount)
    {
        if (left < 0 || right < 0 || s.Frozen[left] || s.Frozen[right]) return;
        int size = s.Length[left] + s.Length[right];
        int id = table.Find(text.Slice(s.Start[left], size));
        if (id < 0 || !mergeable[id]) return;
        Push(s, new Candidate { Score = scores[id], Left = left, Right = right, Size = size, Id = id }, ref heapCount);
    }

    private static void Push(Scratch s, in Candidate c, ref int count)
    {
        if (count == s.Heap.Length) Array.Resize(ref s.Heap, count * 2);
        var heap = s.Heap;
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!c.Before(heap[parent])) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = c;
    }

    private static void Pop(Scratch s, ref int count)
    {
        var heap = s.Heap;
        var last = heap[--count];
        if (count == 0) return;
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && heap[child + 1].Before(heap[child])) child++;
            if (!heap[child].Before(last)) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = last;
    }

    // ------------------------------------------------------------------ decoding

    /// <summary>
    /// sentencepiece's <c>Decode(ids)</c>: CONTROL pieces decode to nothing, the UNKNOWN piece to
    /// <see cref="SentencePieceModel.UnknownSurface"/> (" ⁇ "), runs of byte pieces are joined into bytes
    /// and read as UTF-8 (each byte that does not start a well-formed character becomes one U+FFFD),
    /// every other piece is its text with U+2581 replaced by a space. No leading space is removed
    /// (the model has no dummy prefix). Ids must be in [0, V).
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(16, ids.Length * 4));
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)Model.Count) throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside [0, {Model.Count})");
            var type = types[id];
            if (type == PieceType.Byte) { bytes.Add((byte)SentencePieceModel.ParseBytePiece(Model.Pieces[id].Text)); continue; }
            FlushBytes(bytes, buffer);
            switch (type)
            {
                case PieceType.Control: break;
                case PieceType.Unknown: buffer.Write(Encoding.UTF8.GetBytes(Model.UnknownSurface)); break;
                default: WriteUnescaped(utf8[id], buffer); break;
            }
        }
        FlushBytes(bytes, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteUnescaped(ReadOnlySpan<byte> piece, ArrayBufferWriter<byte> buffer)
    {
        // U+2581 is E2 96 81 in UTF-8; replace each occurrence with a space.
        while (!piece.IsEmpty)
        {
            int k = piece.IndexOf((ReadOnlySpan<byte>)[0xE2, 0x96, 0x81]);
            if (k < 0) { buffer.Write(piece); return; }
            buffer.Write(piece[..k]);
            buffer.Write((ReadOnlySpan<byte>)[(byte)' ']);
            piece = piece[(k + 3)..];
        }
    }

    private static void FlushBytes(List<byte> bytes, ArrayBufferWriter<byte> buffer)
    {
        if (bytes.Count == 0) return;
        var run = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        for (int i = 0; i < run.Length;)
        {
            if (Utf8Rules.TryDecode(run[i..], out int n)) { buffer.Write(run.Slice(i, n)); i += n; }
            else { buffer.Write(Utf8Rules.Replacement); i += 1; }
        }
        bytes.Clear();
    }
}
