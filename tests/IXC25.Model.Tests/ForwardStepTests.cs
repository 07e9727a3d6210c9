using IXC25.Backends;
using IXC25.Model.Inference;
using IXC25.Model.Rope;

namespace IXC25.Model.Tests;

/// <summary>
/// The batched decode step (<see cref="Ixc25Model.ForwardStep"/>): every row's logits are bit-identical to the same token
/// fed alone (<see cref="Ixc25Model.ForwardTokens"/>) on that sequence's cache and rotary module, whatever else is in the
/// batch, as the batch composition changes from step to step, on every backend and in every task mode of the checkpoint.
/// </summary>
public class ForwardStepTests
{
    private static readonly string[] Questions = ["Hi.", "Describe a cat sitting on a mat in two sentences.", "Why?", "List three colours, then three animals, then three fruits, please."];

    private static (SequenceKv Cache, RotaryEmbedding Rope, int Token) Start(Ixc25Model model, string question)
    {
        var prompt = PreparedPrompt.Chat(model.Tokenizer, question, []);
        var cache = model.NewCache();
        var rope = new RotaryEmbedding(model.Rope.Config, model.Rope.Mode);
        using var steps = model.PrefillSteps(prompt, cache, rope: rope);
        while (steps.MoveNext()) { }
        var logits = steps.Current!.ToArray<float>();
        model.Ops.Release(steps.Current!);
        return (cache, rope, ArgMax(logits));
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
        return best;
    }

    [Theory]
    [InlineData("cpu", "chat")]
    [InlineData("cpu", "write")]
    [InlineData("reference", "chat")]
    [InlineData("gpu-sim", "chat")]
    public void EveryRowEqualsItsTokenAloneAsTheBatchChanges(string backend, string mode)
    {
        using var model = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(Threads: 2, Backend: backend));
        model.SetMode(mode);
        int n = Questions.Length, V = model.Dims.V;
        var batched = Questions.Select(q => Start(model, q)).ToArray();
        var alone = Questions.Select(q => Start(model, q)).ToArray();
        var tokens = batched.Select(s => s.Token).ToArray();
        try
        {
            // step s runs the sequences whose bit is set in a changing pattern (batches of 1 to 4, different members)
            int[] patterns = [0b1111, 0b0101, 0b1110, 0b0001, 0b1011, 0b1111, 0b0110];
            foreach (int pattern in patterns)
            {
                var members = Enumerable.Range(0, n).Where(b => (pattern >> b & 1) != 0).ToArray();
                var logits = model.ForwardStep(members.Select(b => (long)tokens[b]).ToArray(), members.Select(b => batched[b].Cache).ToArray(),
                    members.Select(b => batched[b].Rope).ToArray());
                var rows = logits.ToArray<float>();
                model.Ops.Release(logits);
                Assert.Equal(members.Length * V, rows.Length);
                for (int r = 0; r < members.Length; r++)
                {
                    int b = members[r];
                    var one = model.ForwardTokens([tokens[b]], alone[b].Cache, rope: alone[b].Rope);
                    var expected = one.ToArray<float>();
                    model.Ops.Release(one);
                    var got = rows.AsSpan(r * V, V);
                    for (int j = 0; j < V; j++)
                        if (BitConverter.SingleToInt32Bits(got[j]) != BitConverter.SingleToInt32Bits(expected[j]))
                            Assert.Fail($"{backend} {mode}: pattern {pattern:b4}, sequence {b} (row {r} of {members.Length}): logit {j} is {got[j]:R} batched, {expected[j]:R} alone");
                    Assert.Equal(alone[b].Cache.Length, batched[b].Cache.Length);
                    tokens[b] = ArgMax(expected);
                }
            }
        }
        finally
        {
            foreach (var s in batched.Concat(alone)) s.Cache.Dispose();
        }
    }

    [Fact]
    public void ASequenceTwiceInOneStepIsRefused()
    {
        using var model = Ixc25Model.Open(TinyCheckpoint.Safetensors, new ModelOptions(Threads: 1));
        var (cache, rope, token) = Start(model, "Hi.");
        using (cache)
            Assert.Throws<ArgumentException>(() => model.ForwardStep([token, token], [cache, cache], [rope, rope]));
    }
}
