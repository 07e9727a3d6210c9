using IXC25.Backends.Cpu;
using IXC25.Backends.Gpu;
using IXC25.Model.Loading;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;
using IXC25.Tokenizer;
using IXC25.Tokenizer.Prompt;
using IXC25.Vision.Transforms;

namespace IXC25.Model.Inference;

/// <summary>
/// A loaded IXC-2.5 model: config, memory-mapped weights bound to the spec, tokenizer, rotary module,
/// and the forward pass generated from the spec's graph (<see cref="Ixc25Graph"/>) on the CPU backend.
/// This class holds the drivers around the generated blocks: the vision tower per image, the input
/// sequence (text embeddings and image tokens interleaved as the prompt says), the decoder layers over
/// their KV caches, the output head. Not thread-safe: one forward pass at a time (the rotary module has
/// upstream's state).
/// </summary>
public sealed class Ixc25Model : IDisposable
{
    private readonly ModelDirectory? _dir;

    private Ixc25Model(ModelDirectory? dir, Ixc25Config config, Ixc25Weights weights, IWeightSource source, string name, string format,
        InternLM2Tokenizer tokenizer, ModelOptions options)
    {
        _dir = dir;
        Config = config;
        Weights = weights;
        WeightSource = source;
        Name = name;
        Format = format;
        Tokenizer = tokenizer;
        Options = options;
        Cpu = new CpuOps(options.Threads);
        CpuGraph = new CpuGraphOps(Cpu);
        Ops = options.Backend switch
        {
            "cpu" => CpuGraph,
            "gpu" => new GpuGraphOps(CpuGraph, _gpu = new GpuBackend(GpuDevice.Cuda)),
            "gpu-sim" => new GpuGraphOps(CpuGraph, _gpu = new GpuBackend(GpuDevice.Cpu)),
            var b => throw new IxcException($"unknown backend '{b}' (cpu, gpu or gpu-sim)"),
        };
        Rope = new RotaryEmbedding(RopeConfig.FromConfig(config), options.RopeMode);
    }

    public Ixc25Config Config { get; }

    /// <summary>Where the weights come from: the model folder, or a description of an in-memory source.</summary>
    public string Name { get; }

    /// <summary>Checkpoint form: Safetensors, TorchBin, or "in-memory".</summary>
    public string Format { get; }

    /// <summary>The bound weights' source (names, dtypes, shapes).</summary>
    public IWeightSource WeightSource { get; }
    public Ixc25Dims Dims => Weights.Dims;
    public Ixc25Weights Weights { get; }
    public InternLM2Tokenizer Tokenizer { get; }
    public ModelOptions Options { get; }
    public CpuOps Cpu { get; }
    /// <summary>The CPU graph backend (also behind the GPU one, for the ops the GPU has no kernel for).</summary>
    public CpuGraphOps CpuGraph { get; }
    public IGraphOps Ops { get; }
    private readonly GpuBackend? _gpu;

    /// <summary>The accelerator in use ("cpu" or the ILGPU device's name).</summary>
    public string BackendName => _gpu is null ? "cpu" : "ilgpu " + _gpu.DeviceName + " + cpu";
    public RotaryEmbedding Rope { get; }
    /// <summary>The model folder (null for a model built from in-memory weights).</summary>
    public ModelDirectory? Directory => _dir;

    /// <summary>Opens a model folder: config, checkpoint (validated against the spec), tokenizer.model.</summary>
    public static Ixc25Model Open(string path, ModelOptions? options = null)
    {
        options ??= ModelOptions.Default;
        var dir = ModelDirectory.Open(path, options.Format);
        try
        {
            var source = new CheckpointWeightSource(dir.Checkpoint);
            var weights = Ixc25Weights.Bind(source, dir.Dims);
            if (!File.Exists(dir.TokenizerPath)) throw new IxcException($"{path}: no tokenizer.model");
            var tokenizer = InternLM2Tokenizer.Load(dir.TokenizerPath);
            if (tokenizer.VocabSize > weights.Dims.V)
                throw new IxcException($"{path}: tokenizer has {tokenizer.VocabSize} pieces but the model's vocabulary is {weights.Dims.V}");
            return new Ixc25Model(dir, dir.Config, weights, source, dir.Path, dir.Format.ToString(), tokenizer, options);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>The task mode in effect: chat (Partial LoRA only), write or web (spec/model.json 'modes').</summary>
    public string Mode { get; private set; } = Ixc25Modes.Chat;

    /// <summary>
    /// Selects a task mode: write merges lora_sft + lora_dpo, web merges lora_web into every PLoRA
    /// linear at scale 1 on all tokens (UNCONFIRMED upstream: docs/DEVIATIONS.md). A checkpoint without
    /// those groups is refused with a message naming them.
    /// </summary>
    public void SetMode(string mode)
    {
        if (!Ixc25Modes.Merges.TryGetValue(mode, out var groups))
            throw new IxcException($"unknown mode '{mode}' (modes: {string.Join(", ", Ixc25Modes.Merges.Keys)})");
        var missing = groups.Where(g => !Weights.Groups.Contains(g)).ToList();
        if (missing.Count > 0)
            throw new IxcException($"mode '{mode}' needs the task LoRA group(s) {string.Join(" and ", missing)}, which the checkpoint {Name} does not have");
        var graphOps = CpuGraph;
        if (groups.Length == 0) graphOps.TaskLoras = null;
        else
        {
            var table = new Dictionary<NamedTensor, (NamedTensor A, NamedTensor B)[]>(ReferenceEqualityComparer.Instance);
            foreach (var p in PloraModules())
                table[p.Weight] = groups.Select(g => p.GroupTensors(g)).Select(t => (t[0], t[1])).ToArray();
            graphOps.TaskLoras = table;
        }
        Mode = mode;
    }

    /// <summary>Every Partial LoRA linear of the decoder (wqkv, wo, w1, w3, w2 of each layer).</summary>
    public IEnumerable<PLoraLinearParams> PloraModules() =>
        Weights.Llm.Layers.SelectMany(l => new[] { l.Wqkv, l.Wo, l.W1, l.W3, l.W2 });

    /// <summary>
    /// A model over any weight source (e.g. synthetic weights for benchmarks at real dimensions): the
    /// source is validated against the spec for <paramref name="config"/> exactly as a checkpoint is.
    /// </summary>
    public static Ixc25Model Create(Ixc25Config config, IWeightSource source, InternLM2Tokenizer tokenizer, ModelOptions? options = null)
    {
        var weights = Ixc25Weights.Bind(source, Ixc25Dims.FromConfig(config));
        return new Ixc25Model(null, config, weights, source, source.Description, "in-memory", tokenizer, options ?? ModelOptions.Default);
    }

    /// <summary>A graph bound to this model, recording taps into <paramref name="taps"/>.</summary>
    public Ixc25Graph Graph(ITapSink? taps = null) => new(Ops, Weights, Config, taps);

    /// <summary>An empty KV cache for one sequence.</summary>
    public KvCache NewCache() => new(Dims.L, Dims.HKV, Dims.D, Options.KvDType, Options.MaxContext);

    // ------------------------------------------------------------------ vision

    /// <summary>
    /// The vision tower on one preprocessed image: ViT batch [N, 3, S, S] (global view, then the crops
    /// row-major), merge with separators, projector. Returns the image's LLM input rows [TI, C].
    /// Taps: image.{k}.*, vit.{k}.*.
    /// </summary>
    public Act EncodeImage(HdTransformResult image, int k, ITapSink? taps = null)
    {
        int rows = image.Plan.GridRows, cols = image.Plan.GridCols, S = Dims.S;
        int n = 1 + rows * cols;
        long crop = 3L * S * S;
        var batch = Act.F32(n, 3, S, S);
        try
        {
            image.GlobalView.AsSpan(0, (int)crop).CopyTo(batch.Span);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    image.Crop(r, c).AsSpan(0, (int)crop).CopyTo(batch.Span.Slice((int)((1 + r * cols + c) * crop)));
            if (taps is not null)
            {
                RecordImage(taps, image, k);
                taps.Record($"vit.{k}.input", batch);
            }
            return Graph(taps).VisionTower(k, rows, cols, batch);
        }
        finally
        {
            batch.Release();
        }
    }

    private static void RecordImage(ITapSink taps, HdTransformResult image, int k)
    {
        string p = $"image.{k}.";
        if (taps.Wants(p + "hd_image")) taps.Record(p + "hd_image", Act.U8(image.HdImage.Pixels, image.Height, image.Width, 3));
        if (taps.Wants(p + "pixel_values")) taps.Record(p + "pixel_values", Act.Wrap(image.PixelValues, 3, image.Height, image.Width));
        if (taps.Wants(p + "global_view")) taps.Record(p + "global_view", Act.Wrap(image.GlobalView, 3, 560, 560));
    }

    // ------------------------------------------------------------------ input sequence

    /// <summary>
    /// The LLM input [T, C] of a prompt layout: text segments through the embedding, image segments from
    /// <paramref name="images"/> (the rows of image k, cut where the layout cuts it), and im_mask [T].
    /// Taps: llm.input_embeds, llm.im_mask.
    /// </summary>
    public (Act Embeds, byte[] ImMask) BuildInput(PromptLayout layout, IReadOnlyList<Act> images, ITapSink? taps = null)
    {
        int T = layout.TotalLength, C = Dims.C;
        var embeds = Act.F32(T, C);
        var mask = new byte[T];
        foreach (var seg in layout.Segments)
        {
            var rows = embeds.Span.Slice(seg.Start * C, seg.Length * C);
            switch (seg)
            {
                case TextSegment t:
                    Cpu.Embedding(t.Ids.Select(i => (long)i).ToArray(), Weights.Llm.TokEmbeddings.Weight, rows);
                    break;
                case ImageSegment im:
                    if (im.Index >= images.Count) throw new IxcException($"prompt needs image {im.Index} but {images.Count} were encoded");
                    var src = images[im.Index];
                    if (src.Dim(0) != im.Tokens) throw new IxcException($"image {im.Index}: the vision tower produced {src.Dim(0)} tokens, the prompt expects {im.Tokens}");
                    src.Span.Slice(0, im.Length * C).CopyTo(rows);
                    Array.Fill(mask, (byte)1, im.Start, im.Length);
                    break;
            }
        }
        if (taps is not null)
        {
            taps.Record("llm.input_embeds", embeds);
            taps.Record("llm.im_mask", Act.Mask(mask));
        }
        return (embeds, mask);
    }

    // ------------------------------------------------------------------ language model

    /// <summary>
    /// One forward pass of the decoder over <paramref name="embeds"/> [T, C] appended to <paramref name="cache"/>:
    /// positions continue from the cache, the rotary module sees the total length once (as upstream's
    /// single forward does), every layer attends over its cache, then the head runs on the last row (or on
    /// every row with <paramref name="allLogits"/>). Returns logits [1 or T, V].
    /// Without taps and head rows, long inputs run in chunks of <see cref="ModelOptions.PrefillChunk"/>
    /// positions through all layers (the working set no longer grows with the prompt; attention over the
    /// cache makes the result the same computation). Taps: llm.position_ids, llm.layer.{i}.*, llm.norm, llm.logits.
    /// </summary>
    public Act Forward(Act embeds, ReadOnlySpan<byte> imMask, KvCache cache, bool allLogits = false, ITapSink? taps = null)
    {
        int T = embeds.Dim(0), past = cache.Length;
        if (T < 1) throw new IxcException("the input sequence is empty");
        if (imMask.Length != T) throw new ArgumentException("im_mask length differs from the sequence");
        if ((long)past + T > Options.MaxContext)
            throw new IxcException($"context of {past + T} tokens exceeds the maximum of {Options.MaxContext} (--max-context)");
        var positions = new long[T];
        for (int t = 0; t < T; t++) positions[t] = past + t;
        Rope.BeginPass(past + T);
        taps?.Record("llm.position_ids", Act.Ids(positions));
        int chunk = taps is null && !allLogits ? Math.Max(1, Options.PrefillChunk) : T;
        var graph = Graph(taps);
        Act? last = null;
        for (int start = 0; start < T; start += chunk)
        {
            int n = Math.Min(chunk, T - start);
            var x = n == T ? embeds : embeds.Rows(start, n);
            var cos = Act.F32(n, Dims.D);
            var sin = Act.F32(n, Dims.D);
            Rope.Gather(positions.AsSpan(start, n), cos.Span, sin.Span);
            var mask = Act.Mask(imMask.Slice(start, n).ToArray());
            var input = x;
            try
            {
                for (int i = 0; i < Dims.L; i++)
                {
                    Progress?.Invoke(new ForwardProgress(start + n, T, i + 1, Dims.L));
                    var y = graph.DecoderLayer(i, x, mask, cos, sin, cache.Layers[i]);
                    if (!ReferenceEquals(x, embeds)) x.Release();
                    x = y;
                }
                if (start + n == T)
                {
                    var rows = allLogits ? x : x.Rows(n - 1, 1);
                    last = graph.LlmHead(rows);
                    if (!ReferenceEquals(rows, x)) rows.Release();
                }
            }
            finally
            {
                if (!ReferenceEquals(x, embeds)) x.Release();
                cos.Release();
                sin.Release();
            }
        }
        return last!;
    }

    /// <summary>Reports forward-pass progress (positions done of the pass, layer of the current chunk).</summary>
    public Action<ForwardProgress>? Progress { get; set; }

    /// <summary>
    /// Prefill of a prepared prompt: the vision tower on each of its images, the input sequence, one
    /// forward pass into <paramref name="cache"/>. Returns logits [1 or T, V].
    /// </summary>
    public Act Prefill(PreparedPrompt prompt, KvCache cache, bool allLogits = false, ITapSink? taps = null)
    {
        var images = new List<Act>();
        try
        {
            for (int k = 0; k < prompt.Images.Count; k++)
                images.Add(prompt.Images[k] is null ? Act.F32(0, Dims.C) : EncodeImage(prompt.Images[k], k, taps));
            var (embeds, mask) = BuildInput(prompt.Layout, images, taps);
            try { return Forward(embeds, mask, cache, allLogits, taps); }
            finally { embeds.Release(); }
        }
        finally
        {
            foreach (var a in images) a.Release();
        }
    }

    /// <summary>Embeds token ids [T] (generated tokens: no image positions) and runs <see cref="Forward"/>.</summary>
    public Act ForwardTokens(ReadOnlySpan<long> ids, KvCache cache, bool allLogits = false, ITapSink? taps = null)
    {
        var embeds = Act.F32(ids.Length, Dims.C);
        try
        {
            Cpu.Embedding(ids, Weights.Llm.TokEmbeddings.Weight, embeds.Span);
            return Forward(embeds, new byte[ids.Length], cache, allLogits, taps);
        }
        finally
        {
            embeds.Release();
        }
    }

    public void Dispose()
    {
        _gpu?.Dispose();
        _dir?.Dispose();
    }
}

/// <summary>Where a forward pass is: positions processed (up to the end of the current chunk) of the pass, and the layer.</summary>
public readonly record struct ForwardProgress(int Positions, int TotalPositions, int Layer, int Layers);
