using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Quant;

/// <summary>What <see cref="CheckpointQuantizer.Write"/> wrote.</summary>
/// <param name="Quantized">Weights stored quantized.</param>
/// <param name="QuantizedSourceBytes">Their bytes in the source (stored dtype).</param>
/// <param name="QuantizedBytes">Their bytes now (values and scales).</param>
/// <param name="Copied">Tensors copied as stored.</param>
/// <param name="CopiedBytes">Their bytes.</param>
/// <param name="Files">The data files written (and the index when sharded), relative to the folder.</param>
public sealed record QuantizeSummary(int Quantized, long QuantizedSourceBytes, long QuantizedBytes, int Copied, long CopiedBytes, IReadOnlyList<string> Files)
{
    public long TotalBytes => QuantizedBytes + CopiedBytes;
}

/// <summary>
/// Writes the data files of a quantized checkpoint (spec/quant.json "checkpoint") from any open checkpoint, tensor
/// by tensor: each weight of <c>quantize</c> as '&lt;key&gt;.qs' + '&lt;key&gt;.scales' (the bytes of
/// <see cref="Quantizer.Quantize(QuantFormat, ReadOnlySpan{float}, int, int, string, long)"/>, computed a few MiB of
/// rows at a time), every other tensor copied byte for byte in its stored dtype. One output shard per source shard
/// (<c>model-0000i-of-0000n.safetensors</c> and <c>model.safetensors.index.json</c>; a single file stays
/// <c>model.safetensors</c>), in the source's tensor order. Memory stays at one piece of rows plus one weight's scales,
/// whatever the checkpoint's size.
/// </summary>
public static class CheckpointQuantizer
{
    /// <summary>Floats widened per piece of a quantized weight (16 MiB of f32).</summary>
    public const int PieceFloats = 1 << 22;

    /// <param name="source">The stored checkpoint.</param>
    /// <param name="folder">An existing folder to write into (the caller's temporary folder).</param>
    /// <param name="quantize">The keys to store quantized (each a 2-D float weight with a row width a multiple of 32).</param>
    /// <param name="progress">One line per shard and per quantized weight.</param>
    public static QuantizeSummary Write(ICheckpoint source, string folder, QuantFormat format, IReadOnlySet<string> quantize, TextWriter progress, CancellationToken cancel = default)
    {
        var infos = source.Infos;
        var files = source.Files;
        bool sharded = source.Index is not null;
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var written = new List<string>();
        int nq = 0, nc = 0, done = 0, totalQ = infos.Count(i => quantize.Contains(i.Name));
        long srcQ = 0, bytesQ = 0, bytesC = 0;
        for (int s = 0; s < files.Count; s++)
        {
            string outName = sharded ? string.Create(CultureInfo.InvariantCulture, $"model-{s + 1:D5}-of-{files.Count:D5}.safetensors") : Checkpoint.SafetensorsFileName;
            var inShard = infos.Where(i => i.File == files[s]).ToList();
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"shard {s + 1}/{files.Count}: {files[s]} -> {outName} ({inShard.Count} tensors)"));
            using var w = new SafetensorsWriter(Path.Combine(folder, outName));
            foreach (var info in inShard)
            {
                cancel.ThrowIfCancellationRequested();
                var t = source.Get(info.Name);
                if (quantize.Contains(info.Name))
                {
                    long qb = AddQuantized(w, t, format);
                    nq++;
                    srcQ += t.Data.ByteLength;
                    bytesQ += qb;
                    weightMap[QuantLayout.QsName(t.Name)] = outName;
                    weightMap[QuantLayout.ScalesName(t.Name)] = outName;
                    progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  [{++done}/{totalQ}] {t.Name} {t.DType.SpecName()}{Shape.Format(t.Shape)} -> {format} ({t.Data.ByteLength / 1048576.0:0.0} -> {qb / 1048576.0:0.0} MiB)"));
                }
                else
                {
                    w.Add(t);
                    nc++;
                    bytesC += t.Data.ByteLength;
                    weightMap[t.Name] = outName;
                }
            }
            w.Commit(new Dictionary<string, string> { ["format"] = "pt", [QuantLayout.ConfigKey] = format.Name });
            written.Add(outName);
        }
        if (sharded)
        {
            var map = new JsonObject();
            foreach (var kv in weightMap) map[kv.Key] = kv.Value;
            var index = new JsonObject
            {
                ["metadata"] = new JsonObject { ["total_size"] = bytesQ + bytesC },
                ["weight_map"] = map,
            };
            File.WriteAllText(Path.Combine(folder, CheckpointIndex.SafetensorsIndexName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            written.Add(CheckpointIndex.SafetensorsIndexName);
        }
        return new QuantizeSummary(nq, srcQ, bytesQ, nc, bytesC, written);
    }

    /// <summary>Writes t's '.qs' (piece by piece) and '.scales'; returns the bytes written.</summary>
    private static long AddQuantized(SafetensorsWriter w, NamedTensor t, QuantFormat f)
    {
        if (t.Shape.Length != 2 || !QuantLayout.Quantizable(t.Name, t.Shape) || !t.DType.IsFloat())
            throw new IxcException($"tensor '{t.Name}' {t.DType.SpecName()}{Shape.Format(t.Shape)} cannot be stored {f}-quantized (a float matrix whose rows are whole {QuantFormat.Block}-value blocks)");
        long rows = t.Shape[0];
        int cols = checked((int)t.Shape[1]), nb = cols / QuantFormat.Block;
        int rowQs = nb * f.QsBytesPerBlock;
        int piece = Math.Max(1, PieceFloats / cols);
        var scales = new ushort[checked(rows * nb)];
        var x = new float[(long)piece * cols];
        w.Add(QuantLayout.QsName(t.Name), QuantLayout.QsDType(f), QuantLayout.QsShape(f, rows, cols), (offset, chunk) =>
        {
            long r0 = offset / rowQs;
            int n = chunk.Length / rowQs;
            var xs = x.AsSpan(0, n * cols);
            t.ReadFloat32(r0 * cols, xs);
            var m = Quantizer.Quantize(f, xs, n, cols, t.Name, r0);
            m.Qs.Slice(0, chunk.Length).CopyTo(chunk);
            m.Scales.Slice(0, n * nb).CopyTo(scales.AsSpan(checked((int)(r0 * nb)), n * nb));
        }, chunkBytes: piece * rowQs);
        w.Add(QuantLayout.ScalesName(t.Name), QuantLayout.ScaleDType, QuantLayout.ScalesShape(rows, cols), MemoryMarshal.AsBytes(scales.AsSpan()));
        return rows * rowQs + 2L * scales.LongLength;
    }
}
