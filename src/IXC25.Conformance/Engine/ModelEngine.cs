using System.Text.Json.Nodes;
using IXC25.Backends;
using IXC25.Conformance.Protocol;
using IXC25.Graph;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.IO;

namespace IXC25.Conformance.Engine;

/// <summary>
/// model: the checkpoint opened once per folder on the context's backend, upstream's chat prompt with the
/// request's images (<see cref="PreparedPrompt.Chat"/>, as `ixc25 trace` builds it), one prefill with the
/// requested taps recorded straight into the output file (<see cref="TapRecorder"/>); the head runs on every
/// position when llm.norm or llm.logits is asked for. Tap names outside spec/model.json are refused.
/// </summary>
/// <param name="decorate">Wraps the backend the model runs on (a mutant's buggy op); null: the backend as is.</param>
/// <param name="tag">Tells the decorated engine's opened models apart from the plain engine's in the context's cache.</param>
public sealed class ModelEngine(Func<IGraphOps, IGraphOps>? decorate = null, string tag = "") : IEngineSurface
{
    public string Name => "model";

    public PortReply Handle(PortRequest request, EngineContext context)
    {
        string checkpoint = (string)request.Fields["checkpoint"]!;
        if (!Path.IsPathRooted(checkpoint)) throw new IxcException($"checkpoint '{checkpoint}' is not an absolute path");
        if (!File.Exists(Path.Combine(checkpoint, "config.json"))) throw new IxcException($"checkpoint {checkpoint} has no config.json");
        var taps = request.Fields["taps"]!.AsArray().Select(t => (string)t!).ToList();
        if (taps.FirstOrDefault(t => Ixc25Taps.Find(t) is null) is { } unknown)
            throw new IxcException($"'{unknown}' is not a tap of spec/model.json (docs/TAPS.md)");
        var media = new List<MediaInput>();
        foreach (var im in request.Fields["images"]!.AsArray())
        {
            if (im?["path"] is not JsonValue pv || !pv.TryGetValue<string>(out var p)) throw new IxcException("an image of 'images' has no \"path\"");
            media.Add(new MediaInput(EnginePort.WorkFile(request with { Fields = new JsonObject { ["path"] = p } }, "path")));
        }
        int hdNum = (int)request.Fields["hd_num"]!;
        if (hdNum < 1) throw new IxcException($"hd_num must be at least 1 (got {hdNum})");

        var model = context.Cached($"model{tag}:{Path.GetFullPath(checkpoint)}", () => Open(checkpoint, context));
        var prepared = PreparedPrompt.Chat(model.Tokenizer, (string)request.Fields["query"]!, media, hdNum: hdNum);
        bool allRows = taps.Contains(Ixc25Taps.LlmNorm) || taps.Contains(Ixc25Taps.LlmLogits);
        string outPath = EnginePort.WorkFile(request, "out");
        var meta = new Dictionary<string, string> { ["producer"] = "ixc25 serve-port (model)", ["model"] = model.Name };
        if (taps.Count == 0)
        {
            using var empty = new SafetensorsWriter(outPath);
            empty.Commit(meta);
            return PortReply.Ok([]);
        }
        using var recorder = new TapRecorder(outPath, taps);
        lock (model) // one prefill at a time per opened model (the rotary cache is the model's state)
        {
            model.Rope.Reset();
            model.Prefill(prepared, model.NewCache(), allRows, recorder).Release();
        }
        recorder.Commit(meta);
        return PortReply.Ok([]);
    }

    private Ixc25Model Open(string checkpoint, EngineContext context)
    {
        var options = ModelOptions.Default with { Backend = context.Backend, Threads = Math.Max(0, context.Threads) };
        return Ixc25Model.Open(checkpoint, o => decorate is null ? BackendFactory.Create(o) : decorate(BackendFactory.Create(o)), options);
    }
}
