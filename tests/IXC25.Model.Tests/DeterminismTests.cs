using IXC25.Backends;
using IXC25.Graph;
using IXC25.Model.Inference;
using IXC25.Runtime;

namespace IXC25.Model.Tests;

/// <summary>Bit-identical results for any thread count and across runs (fixed reduction orders).</summary>
public class DeterminismTests
{
    private static (float[] Logits, MemoryTapSink Taps) Run(int threads)
    {
        using var model = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(Threads: threads));
        var prompt = PreparedPrompt.Chat(model.Tokenizer, "Describe this image.", [new MediaInput(RepoLayout.Path("golden", "media", "panda.jpeg"))]);
        var taps = new MemoryTapSink(n => n.StartsWith("llm.layer.", StringComparison.Ordinal) || n.StartsWith("vit.", StringComparison.Ordinal));
        var cache = model.NewCache();
        var logits = model.Prefill(prompt, cache, taps: taps);
        var step = model.ForwardTokens([7], cache);
        var all = logits.ToArray<float>().Concat(step.ToArray<float>()).ToArray();
        model.Ops.Release(logits);
        model.Ops.Release(step);
        return (all, taps);
    }

    [Fact]
    public void WholeModelIsBitIdenticalForOneTwoAndFourThreadsAndAcrossRuns()
    {
        var (l1, t1) = Run(1);
        foreach (int threads in new[] { 2, 4, 2 })
        {
            var (l, t) = Run(threads);
            Assert.True(l1.AsSpan().SequenceEqual(l), $"logits differ with {threads} threads");
            foreach (var name in t1.Names)
                Assert.True(t1[name].Data.Bytes.SequenceEqual(t[name].Data.Bytes), $"{name} differs with {threads} threads");
        }
    }
}
