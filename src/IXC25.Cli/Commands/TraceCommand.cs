using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;
using IXC25.Runtime.IO;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 trace --model DIR [--image P]... [--video V] --prompt TEXT --out FILE.safetensors [--taps GLOB]...`:
/// one prefill with every named intermediate (spec taps, docs/TAPS.md) written to a safetensors file.
/// </summary>
internal static class TraceCommand
{
    public static Command Create()
    {
        var o = new ModelOptionSet();
        var images = new Option<FileInfo[]>("--image") { Description = "image (repeatable, in prompt order)", AllowMultipleArgumentsPerToken = false };
        var video = new Option<FileInfo?>("--video") { Description = "video (sampled frames composed into one image, as upstream)" };
        var prompt = new Option<string>("--prompt") { Description = "the user's question", Required = true };
        var history = new Option<FileInfo?>("--history-file") { Description = "earlier turns as a JSON array of [question, answer] pairs" };
        var output = new Option<FileInfo>("--out") { Description = "output .safetensors", Required = true };
        var taps = new Option<string[]>("--taps") { Description = "glob of tap names to keep (repeatable; default: all), e.g. 'llm.layer.*.output'" };
        var allLogits = new Option<bool>("--all-logits") { Description = "run the head on every position (llm.norm and llm.logits become [T, *]; large)" };
        var hdNum = new Option<int>("--hd-num") { Description = "crops per image for a single image (several images use 6 each)", DefaultValueFactory = _ => 24 }.Within(1, OptionLimits.MaxHdNum);
        var cmd = new Command("trace", "Run one prefill and write every named intermediate (preprocessing, ViT layers, merged tokens, projector, embeddings, each decoder layer, final norm, logits) to a safetensors file.")
        {
            images, video, prompt, history, output, taps, allLogits, hdNum,
        };
        o.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var err = r.InvocationConfiguration.Error;
            var media = (r.GetValue(images) ?? []).Select(f => new MediaInput(f.FullName)).ToList();
            if (r.GetValue(video) is { } v) media.Add(new MediaInput(v.FullName, IsVideo: true));
            var turns = r.GetValue(history) is { } hf ? PromptCommand.ReadHistory(hf.FullName) : [];
            SafetensorsWriter.CheckDestination(r.GetValue(output)!.FullName);
            var sw = Stopwatch.StartNew();
            using var model = o.Open(r, err);
            var prepared = PreparedPrompt.Chat(model.Tokenizer, r.GetValue(prompt)!, media, turns, hdNum: r.GetValue(hdNum));
            if (PromptCut.Warning(prepared.Layout) is { } cut) err.WriteLine(cut);
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trace: {prepared.Layout.TotalLength} positions, {prepared.Images.Count(i => i is not null)} image(s)"));
            var globs = r.GetValue(taps) is { Length: > 0 } g ? g : ["*"];
            using var recorder = new TapRecorder(r.GetValue(output)!.FullName, globs);
            if (r.GetValue(allLogits) && recorder.Wants(Ixc25Taps.LlmLogits))
                CheckRoomForLogits(model, prepared.Layout.TotalLength, r.GetValue(output)!.FullName);
            model.Prefill(prepared, model.NewCache(), r.GetValue(allLogits), recorder).Release();
            ModelOptionSet.ReportWeights(model, err);
            if (recorder.Names.Count == 0) throw new IxcException($"no tap matches {string.Join(" ", globs.Select(x => "'" + x + "'"))} (see docs/TAPS.md)");
            recorder.Commit(new Dictionary<string, string>
            {
                ["producer"] = "ixc25 trace",
                ["model"] = model.Name,
                ["prompt"] = r.GetValue(prompt)!,
                ["media"] = JsonSerializer.Serialize(media.Select(m => m.Path)),
                ["history"] = JsonSerializer.Serialize(turns.Select(t => new[] { t.User, t.Assistant })),
                ["sequence_length"] = prepared.Layout.TotalLength.ToString(CultureInfo.InvariantCulture),
                ["rope_mode"] = model.Options.RopeMode.ToString().ToLowerInvariant(),
                ["kv_dtype"] = model.Options.KvDType.ToString().ToLowerInvariant(),
            });
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trace: {recorder.Names.Count} tensors written to {r.GetValue(output)!.FullName} in {sw.Elapsed.TotalSeconds:0.0} s"));
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// With --all-logits the llm.logits tap is [T, V] f32 (3.5 GiB for one 24-crop image): refuses, before
    /// the run and in one line naming the size, when it cannot be held (a host backend keeps it in one array
    /// of at most <see cref="Array.MaxLength"/> elements, in this machine's memory beside the model) or
    /// written (the writer needs it twice on disk: the data, then the file).
    /// </summary>
    private static void CheckRoomForLogits(Ixc25Model model, int positions, string outPath)
    {
        var probe = model.Ops.Alloc(Runtime.Tensors.DType.F32, 0);
        bool host = probe is Graph.HostAct;
        model.Ops.Release(probe);
        string dir = Path.GetDirectoryName(outPath)!;
        long? free;
        try { free = new DriveInfo(dir).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { free = null; } // unknown: the writer reports a full disk
        long need = host ? MemoryCheck.Estimate(model, positions).Total : 0;
        if (LogitsRefusal(positions, model.Dims.V, host, need, MemoryCheck.TotalMemory(), free, dir) is { } refusal)
            throw new IxcException(refusal);
    }

    /// <summary>The one-line refusal of <see cref="CheckRoomForLogits"/>, or null when the logits fit.</summary>
    internal static string? LogitsRefusal(int positions, long vocab, bool host, long modelBytes, long memory, long? freeDisk, string dir)
    {
        long numel = positions * vocab, bytes = numel * sizeof(float);
        var ci = CultureInfo.InvariantCulture;
        string what = string.Create(ci, $"--all-logits over {positions:N0} positions makes llm.logits f32 [{positions}, {vocab}], {G(bytes)}");
        if (host && numel > Array.MaxLength)
            return string.Create(ci, $"{what}: {numel:N0} elements, more than one host array holds ({Array.MaxLength:N0}); use fewer positions or --taps without llm.logits");
        if (host && modelBytes + bytes > memory)
            return string.Create(ci, $"{what}: with the model that needs about {G(modelBytes + bytes)} of memory, this machine has {G(memory)}");
        if (freeDisk is { } free && 2 * bytes > free)
            return string.Create(ci, $"{what}: writing it needs up to {G(2 * bytes)} of disk, {dir} has {G(free)} free");
        return null;
    }

    private static string G(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB");
}
