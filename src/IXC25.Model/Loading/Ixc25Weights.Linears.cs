using IXC25.Runtime.Tensors;

namespace IXC25.Model;

public sealed partial class Ixc25Weights
{
    /// <summary>
    /// Every weight the forward pass multiplies through the linear or plora_linear op (spec/model.json): the ViT's
    /// q/k/v/out projections and MLP, the projector's two linears, the decoder's wqkv, wo, w1, w3, w2 (Partial LoRA
    /// base weights) and the output head, in that order. These are the weights `--weights` and `ixc25 quantize` may
    /// hold quantized (QuantLayout.Quantizable picks among them); LoRA factors, norms, biases and embeddings are not.
    /// </summary>
    public IEnumerable<NamedTensor> LinearWeights()
    {
        foreach (var l in Vision.Layers)
            foreach (var p in new[] { l.QProj, l.KProj, l.VProj, l.OutProj, l.Fc1, l.Fc2 }) yield return p.Weight;
        yield return Projector.Proj0.Weight;
        yield return Projector.Proj2.Weight;
        foreach (var l in Llm.Layers)
            foreach (var p in new[] { l.Wqkv, l.Wo, l.W1, l.W3, l.W2 }) yield return p.Weight;
        yield return Llm.Output.Weight;
    }
}
