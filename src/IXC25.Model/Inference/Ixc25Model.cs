using IXC25.Graph;
using IXC25.Model.Loading;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;
using IXC25.Tokenizer;
using IXC25.Tokenizer.Prompt;
using IXC25.Vision.Partition;
using IXC25.Vision.Transforms;

namespace IXC25.Model.Inference;

/// <summary>
/// A loaded IXC-2.5 model: config, memory-mapped weights bound to the spec, tokenizer, rotary module,
/// and the forward pass generated from the spec's graph (<see cref="Ixc25Graph"/>) on any backend
/// (<see cref="IGraphOps"/>, built by the backend factory IXC25.Backends; the model owns and disposes it).
/// This class holds the drivers around the generated blocks: the vision tower per image, the input
/// sequence (text embeddings and image tokens interleaved as the prompt says), the decoder layers over
/// their KV caches, the output head. Not thread-safe: one forward pass at a time (the rotary module has
/// upstream's state).
/// </summary>
public sealed partial class Ixc25Model : IDisposable
{
    private readonly ModelDirectory? _dir;

    private Ixc25Model(ModelDirectory? dir, Ixc25Config config, Ixc25Weights weights, IWeightSource source, string name, string format,
        InternLM2Tokenizer tokenizer, ModelOptions options, IGraphOps ops)
    {
        _dir = dir;
        Config = config;
        Weights = weights;
        WeightSource = source;
        Name = name;
        Format = format;
        Tokenizer = tokenizer;
        Options = options;
        Backend = ops;
        Ops = _modes = new TaskLoraOps(ops);
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
    /// <summary>The backend the model runs on (as the factory built it).</summary>
    public IGraphOps Backend { get; }

    /// <summary>What the graph calls: the backend with the task mode's LoRAs on top.</summary>
    public IGraphOps Ops { get; }
    private readonly TaskLoraOps _modes;

    /// <summary>The backend in use ("cpu", "reference", or the ILGPU device's name).</summary>
    public string BackendName => Backend.Name;
    public RotaryEmbedding Rope { get; }
    /// <summary>The model folder (null for a model built from in-memory weights).</summary>
    public ModelDirectory? Directory => _dir;

    /// <summary>
    /// Opens a model folder: config, checkpoint (validated against the spec), tokenizer.model; the model runs
    /// on the backend <paramref name="backend"/> builds for the options (and disposes it). With the backend
    /// factory (IXC25.Backends) in scope, <c>Ixc25Model.Open(path, options)</c> picks it from options.Backend.
    /// </summary>
    public static Ixc25Model Open(string path, Func<ModelOptions, IGraphOps> backend, ModelOptions? options = null)
    {
        options ??= ModelOptions.Default;
        var dir = ModelDirectory.Open(path, options.Format);
        try
        {
            options = QuantizedOptions(dir, options);
            LoadMemoryCheck.Ensure(dir, options);   // before the checkpoint is opened (mapped)
            var weights = dir.BindWeights();
            var source = dir.Source;
            if (!File.Exists(dir.TokenizerPath)) throw new IxcException($"{path}: no tokenizer.model");
            var tokenizer = InternLM2Tokenizer.Load(dir.TokenizerPath);
            if (tokenizer.VocabSize > weights.Dims.V)
                throw new IxcException($"{path}: tokenizer has {tokenizer.VocabSize} pieces but the model's vocabulary is {weights.Dims.V}");
            var ops = backend(options);
            try
            {
                DeviceMemoryCheck.Ensure(ops, dir, options);   // before any weight is uploaded to an accelerator
                if (ops is IDeviceBackend device) device.UploadWeights(WeightTensors.Of(weights)); // once, at load
            }
            catch
            {
                ops.Dispose();
                throw;
            }
            return new Ixc25Model(dir, dir.Config, weights, source, dir.Path, dir.Format.ToString(), tokenizer, options, ops);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A quantized checkpoint runs its linears on the stored blocks, through the same quantized path as --weights: the
    /// options' Weights become its format. --weights naming another format is refused (blocks are never requantized).
    /// </summary>
    private static ModelOptions QuantizedOptions(ModelDirectory dir, ModelOptions options) =>
        dir.Quantization is null ? options : options with { Weights = dir.CheckWeights(options.Weights is { } w ? Runtime.Quant.QuantFormat.Parse(w) : null)!.Name };

    /// <summary>The task mode in effect: chat (Partial LoRA only), write or web (spec/model.json 'modes').</summary>
    public string Mode { get; private set; } = Ixc25Modes.Chat;

    /// <summary>
    /// Selects a task mode: write merges lora_sft + lora_dpo, web merges lora_web into every PLoRA
    /// linear at scale 1 on all tokens (UNCONFIRMED upstream: docs/DEVIATIONS.md). A checkpoint without
    /// those groups is refused with a message naming them.
    /// </summary>
    public void SetMode(string mode)
    {
        var groups = CheckMode(mode);
        if (groups.Length == 0) _modes.Pairs = null;
        else
        {
            var table = new Dictionary<NamedTensor, (NamedTensor A, NamedTensor B)[]>(ReferenceEqualityComparer.Instance);
            foreach (var p in PloraModules())
                table[p.Weight] = groups.Select(g => p.GroupTensors(g)).Select(t => (t[0], t[1])).ToArray();
            _modes.Pairs = table;
        }
        Mode = mode;
    }

    /// <summary>The task LoRA groups mode <paramref name="mode"/> merges; an unknown mode, or one whose groups the checkpoint lacks, is refused (the mode stays as it was).</summary>
    public string[] CheckMode(string mode)
    {
        if (!Ixc25Modes.Merges.TryGetValue(mode, out var groups))
            throw new IxcException($"unknown mode '{mode}' (modes: {string.Join(", ", Ixc25Modes.Merges.Keys)})");
        var missing = groups.Where(g => !Weights.Groups.Contains(g)).ToList();
        if (missing.Count > 0)
            throw new IxcException($"mode '{mode}' needs the task LoRA group(s) {string.Join(" and ", missing)}, which the checkpoint {Name} does not have");
        return groups;
    }

    /// <summary>Every Partial LoRA linear of the decoder (wqkv, wo, w1, w3, w2 of each layer).</summary>
    public IEnumerable<PLoraLinearParams> PloraModules() =>
        Weights.Llm.Layers.SelectMany(l => new[] { l.Wqkv, l.Wo, l.W1, l.W3, l.W2 });

    /// <summary>
    /// A model over any weight source (e.g. synthetic weights for benchmarks at real dimensions): the
    /// source is validated against the spec for <paramref name="config"/> exactly as a checkpoint is.
    /// </summary>
    public static Ixc25Model Create(Ixc25Config config, IWeightSource source, InternLM2Tokenizer tokenizer, Func<ModelOptions, IGraphOps> backend, ModelOptions? options = null)
    {
        options ??= ModelOptions.Default;
        var weights = Ixc25Weights.Bind(source, Ixc25Dims.FromConfig(config));
        var ops = backend(options);
        if (ops is IDeviceBackend device) device.UploadWeights(WeightTensors.Of(weights)); // once, at load
        return new Ixc25Model(null, config, weights, source, source.Description, "in-memory", tokenizer, options, ops);
    }

    /// <summary>A graph bound to this model, recording taps into <paramref name="taps"/>.</summary>
    public Ixc25Graph Graph(ITapSink? taps = null) => new(Ops, Weights, Config, taps);

    /// <summary>An empty KV cache for one sequence, on the model's backend.</summary>
    public SequenceKv NewCache() => new(Backend, Dims.L, Dims.HKV, Dims.D, Options.KvDType, Options.MaxContext);

    // ------------------------------------------------------------------ vision

    /// <summary>
    /// The vision tower on one preprocessed image: ViT batch [N, 3, S, S] (global view, then the crops
    /// row-major), merge with separators, projector. Returns the image's LLM input rows [TI, C].
    /// Taps: image.{k}.*, vit.{k}.*.
    /// </summary>
    public Act EncodeImage(HdTransformResult image, int k, ITapSink? taps = null)
    {
        int rows = image.Plan.GridRows, cols = image.Plan.GridCols, S = Dims.S;
        if (S != HdPartition.CropSize)
            throw new IxcException($"image {k}: the image front end makes {HdPartition.CropSize} px views, but the model's vision tower takes {S} px (vision_config.image_size)");
        var batch = Ops.Upload<float>(image.VitBatch(), 1 + rows * cols, 3, S, S);
        try
        {
            if (taps is not null)
            {
                RecordImage(taps, image, k);
                taps.Record(Ixc25Taps.VitInputAt(k), batch);
            }
            return Graph(taps).VisionTower(k, rows, cols, batch);
        }
        finally
        {
            Ops.Release(batch);
        }
    }

    private static void RecordImage(ITapSink taps, HdTransformResult image, int k)
    {
        const int side = HdPartition.CropSize;
        if (taps.Wants(Ixc25Taps.ImageHdImageAt(k))) taps.Record(Ixc25Taps.ImageHdImageAt(k), HostAct.U8(image.HdImage.Pixels, image.Height, image.Width, 3));
        if (taps.Wants(Ixc25Taps.ImagePixelValuesAt(k))) taps.Record(Ixc25Taps.ImagePixelValuesAt(k), HostAct.Wrap(image.PixelValues, 3, image.Height, image.Width));
        if (taps.Wants(Ixc25Taps.ImageGlobalViewAt(k))) taps.Record(Ixc25Taps.ImageGlobalViewAt(k), HostAct.Wrap(image.GlobalView, 3, side, side));
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
        var embeds = Ops.Alloc(DType.F32, T, C);
        var mask = new byte[T];
        try
        {
            var graph = Graph();
            foreach (var seg in layout.Segments)
            {
                switch (seg)
                {
                    case TextSegment t:
                        var rows = EmbedTokens(graph, t.Ids.Select(i => (long)i).ToArray());
                        Ops.Copy(rows, 0, embeds, (long)seg.Start * C, (long)seg.Length * C);
                        Ops.Release(rows);
                        break;
                    case ImageSegment im:
                        if (im.Index >= images.Count) throw new IxcException($"prompt needs image {im.Index} but {images.Count} were encoded");
                        var src = images[im.Index];
                        if (src.Dim(0) != im.Tokens) throw new IxcException($"image {im.Index}: the vision tower produced {src.Dim(0)} tokens, the prompt expects {im.Tokens}");
                        Ops.Copy(src, 0, embeds, (long)seg.Start * C, (long)im.Length * C);
                        Array.Fill(mask, (byte)1, im.Start, im.Length);
                        break;
                }
            }
            if (taps is not null)
            {
                taps.Record(Ixc25Taps.LlmInputEmbeds, embeds);
                taps.Record(Ixc25Taps.LlmImMask, HostAct.Mask(mask));
            }
            return (embeds, mask);
        }
        catch
        {
            Ops.Release(embeds);
            throw;
        }
    }

    /// <summary>The input rows [T, C] of text token ids (the graph's embed_tokens block).</summary>
    private Act EmbedTokens(Ixc25Graph graph, long[] ids)
    {
        var a = Ops.Upload<long>(ids, ids.Length);
        try { return graph.EmbedTokens(a); }
        finally { Ops.Release(a); }
    }

    /// <summary>Rows [start, start + count) of a 2-D tensor, as a new tensor of the backend.</summary>
    private Act Rows(Act x, int start, int count)
    {
        int w = x.Dim(1);
        var r = Ops.Alloc(x.DType, count, w);
        Ops.Copy(x, (long)start * w, r, 0, (long)count * w);
        return r;
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
    /// <paramref name="rope"/>: the rotary module whose state the pass uses (default <see cref="Rope"/>; batched
    /// serving gives every sequence its own, see docs/SERVING.md).
    /// </summary>
    public Act Forward(Act embeds, ReadOnlySpan<byte> imMask, SequenceKv cache, bool allLogits = false, ITapSink? taps = null, RotaryEmbedding? rope = null)
    {
        using var pass = ForwardChunks(embeds, imMask.ToArray(), cache, allLogits, taps, rope);
        while (pass.MoveNext()) { }
        return pass.Current!;
    }

    /// <summary>
    /// <see cref="Forward"/> one chunk at a time: each MoveNext runs the next chunk of positions through all layers
    /// (Current is null until the last chunk, then the logits). The rotary module's BeginPass happens once, before the
    /// first chunk, with the pass's total length: a pass spread over several scheduler turns is still one pass.
    /// Disposing an unfinished pass releases its temporaries (the cache keeps the chunks already run).
    /// </summary>
    public IEnumerator<Act?> ForwardChunks(Act embeds, byte[] imMask, SequenceKv cache, bool allLogits = false, ITapSink? taps = null, RotaryEmbedding? rope = null)
    {
        int T = embeds.Dim(0), past = cache.Length;
        if (T < 1) throw new IxcException("the input sequence is empty");
        if (imMask.Length != T) throw new ArgumentException("im_mask length differs from the sequence");
        if ((long)past + T > Options.MaxContext)
            throw new IxcException($"context of {past + T} tokens exceeds the maximum of {Options.MaxContext} (--max-context)");
        return ForwardChunksCore(embeds, imMask, cache, allLogits, taps, rope ?? Rope, past, T);
    }

    private IEnumerator<Act?> ForwardChunksCore(Act embeds, byte[] imMask, SequenceKv cache, bool allLogits, ITapSink? taps, RotaryEmbedding rope, int past, int T)
    {
        var positions = new long[T];
        for (int t = 0; t < T; t++) positions[t] = past + t;
        rope.BeginPass(past + T);
        taps?.Record(Ixc25Taps.LlmPositionIds, HostAct.Ids(positions));
        int chunk = taps is null && !allLogits ? Math.Max(1, Options.PrefillChunk) : T;
        var graph = Graph(taps);
        for (int start = 0; start < T; start += chunk)
        {
            int n = Math.Min(chunk, T - start);
            Act? last = null;
            var x = n == T ? embeds : Rows(embeds, start, n);
            var cosHost = new float[n * Dims.D];
            var sinHost = new float[n * Dims.D];
            rope.Gather(positions.AsSpan(start, n), cosHost, sinHost);
            var cos = Ops.Upload<float>(cosHost, n, Dims.D);
            var sin = Ops.Upload<float>(sinHost, n, Dims.D);
            var mask = Ops.Upload(imMask.AsSpan(start, n), n);
            try
            {
                for (int i = 0; i < Dims.L; i++)
                {
                    Progress?.Invoke(new ForwardProgress(start + n, T, i + 1, Dims.L));
                    var y = graph.DecoderLayer(i, false, x, mask, cos, sin, cache.Layers[i]);
                    if (!ReferenceEquals(x, embeds)) Ops.Release(x);
                    x = y;
                }
                if (start + n == T)
                {
                    var rows = allLogits ? x : Rows(x, n - 1, 1);
                    last = graph.LlmHead(false, rows);
                    if (!ReferenceEquals(rows, x)) Ops.Release(rows);
                }
            }
            finally
            {
                if (!ReferenceEquals(x, embeds)) Ops.Release(x);
                Ops.Release(cos);
                Ops.Release(sin);
                Ops.Release(mask);
            }
            yield return last;
        }
    }

    /// <summary>Reports forward-pass progress (positions done of the pass, layer of the current chunk).</summary>
    public Action<ForwardProgress>? Progress { get; set; }

    /// <summary>
    /// Prefill of a prepared prompt: the vision tower on each of its images, the input sequence, one
    /// forward pass into <paramref name="cache"/>. Returns logits [1 or T, V]. <paramref name="onPhase"/> is
    /// told before each image is encoded (<see cref="PrefillPhase.Image"/>) and before the decoder pass
    /// (<see cref="PrefillPhase.Decoder"/>), so that a driver can report and time the phases.
    /// </summary>
    public Act Prefill(PreparedPrompt prompt, SequenceKv cache, bool allLogits = false, ITapSink? taps = null, Action<PrefillPhase, int>? onPhase = null)
    {
        using var steps = PrefillSteps(prompt, cache, allLogits, taps, onPhase);
        while (steps.MoveNext()) { }
        return steps.Current!;
    }

    /// <summary>
    /// <see cref="Prefill"/> in steps a scheduler can interleave with other work: each MoveNext encodes one image, or
    /// runs one chunk of the decoder pass (<see cref="ForwardChunks"/>: one rotary pass over the whole prompt). Current
    /// is null until the last step, then the logits. Disposing it early releases the images and temporaries.
    /// </summary>
    public IEnumerator<Act?> PrefillSteps(PreparedPrompt prompt, SequenceKv cache, bool allLogits = false, ITapSink? taps = null,
        Action<PrefillPhase, int>? onPhase = null, RotaryEmbedding? rope = null)
    {
        var images = new List<Act>();
        try
        {
            for (int k = 0; k < prompt.Images.Count; k++)
            {
                if (prompt.Images[k] is null) { images.Add(Ops.Alloc(DType.F32, 0, Dims.C)); continue; }
                onPhase?.Invoke(PrefillPhase.Image, k);
                images.Add(EncodeImage(prompt.Images[k], k, taps));
                yield return null;
            }
            onPhase?.Invoke(PrefillPhase.Decoder, prompt.Layout.TotalLength);
            var (embeds, mask) = BuildInput(prompt.Layout, images, taps);
            try
            {
                using var pass = ForwardChunks(embeds, mask, cache, allLogits, taps, rope);
                while (pass.MoveNext()) yield return pass.Current;
            }
            finally { Ops.Release(embeds); }
        }
        finally
        {
            foreach (var a in images) Ops.Release(a);
        }
    }

    /// <summary>Embeds token ids [T] (generated tokens: no image positions) and runs <see cref="Forward"/>.</summary>
    public Act ForwardTokens(ReadOnlySpan<long> ids, SequenceKv cache, bool allLogits = false, ITapSink? taps = null, RotaryEmbedding? rope = null)
    {
        var embeds = EmbedTokens(Graph(), ids.ToArray());
        try
        {
            return Forward(embeds, new byte[ids.Length], cache, allLogits, taps, rope);
        }
        finally
        {
            Ops.Release(embeds);
        }
    }

    public void Dispose()
    {
        Backend.Dispose();
        _dir?.Dispose();
    }
}

/// <summary>The phases of a prefill: one image through the vision tower (the value is its index), the decoder pass (the value is the prompt length).</summary>
public enum PrefillPhase { Image, Decoder }

/// <summary>Where a forward pass is: positions processed (up to the end of the current chunk) of the pass, and the layer.</summary>
public readonly record struct ForwardProgress(int Positions, int TotalPositions, int Layer, int Layers);
