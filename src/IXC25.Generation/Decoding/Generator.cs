using System.Diagnostics;
using System.Security.Cryptography;

namespace IXC25.Generation.Decoding;

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    /// <summary>An eos id was generated (greedy / sampling), or the returned beam hypothesis finished with one.</summary>
    EosToken,
    /// <summary>A <see cref="GenerationConfig.StopTokenIds"/> criterion fired.</summary>
    StopToken,
    /// <summary>max_new_tokens were generated.</summary>
    MaxNewTokens,
    /// <summary>The cancellation token fired; the tokens are those produced until then.</summary>
    Cancelled,
}

/// <summary>Time and work per phase.</summary>
/// <param name="Prefill">The prompt (image encoding included when the model does it there).</param>
/// <param name="Decode">Everything after the prefill: decode steps, processors, search bookkeeping, cache copies.</param>
/// <param name="PromptTokens">Positions after the prefill (images included).</param>
/// <param name="GeneratedTokens">Tokens returned.</param>
/// <param name="DecodeSteps">Model steps after the prefill (one per beam per step).</param>
/// <param name="CacheCopies">Beam search: sequence copies made when a beam's parent changed.</param>
public sealed record GenerationTimings(TimeSpan Prefill, TimeSpan Decode, int PromptTokens, int GeneratedTokens, int DecodeSteps, int CacheCopies)
{
    public double PrefillTokensPerSecond => Prefill.TotalSeconds > 0 ? PromptTokens / Prefill.TotalSeconds : 0;
    public double DecodeTokensPerSecond => Decode.TotalSeconds > 0 ? GeneratedTokens / Decode.TotalSeconds : 0;
}

/// <summary>The result of <see cref="Generator.Generate"/>.</summary>
/// <param name="Tokens">
/// The new tokens as transformers 4.33 returns them for this prompt (for an input_ids prompt, the part after
/// the prompt): greedy / sampling keep the eos id that ended them; beam search returns the best
/// hypothesis followed by the FIRST eos id when it is shorter than max_length (4.33's finalize does this
/// whichever eos id ended it, and also for a beam cut by a stop-token criterion).
/// </param>
/// <param name="Finish">Why it ended.</param>
/// <param name="EosToken">The eos id that ended the returned sequence (beam search: the one the hypothesis actually met).</param>
/// <param name="SequenceScore">Beam search: 4.33's sequence_scores (sum of log-probabilities / length ** length_penalty, as float32).</param>
/// <param name="Seed">The sampling seed used (drawn when the configuration had none); null when nothing was sampled.</param>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, FinishReason Finish, int? EosToken, float? SequenceScore, ulong? Seed, GenerationTimings Timings);

/// <summary>
/// transformers 4.33 decoding over an <see cref="IDecoderModel"/>, for one sequence: greedy_search,
/// sample, beam_search and beam_sample, chosen by <see cref="GenerationConfig.Mode"/> as generate() does.
/// </summary>
/// <remarks>
/// <para>Streaming: <c>onToken</c> receives each token as it is produced (greedy, sampling). Beam search
/// cannot know its result before the end (4.33 refuses a streamer with beams), so it reports the returned
/// tokens at the end.</para>
/// <para>Cancellation is checked before the prefill and between steps (never inside a model call): the
/// result then holds exactly the tokens produced (and streamed) so far, with <see cref="FinishReason.Cancelled"/>;
/// beam search finalizes its current beams as at max length. Nothing is thrown.</para>
/// <para>Beam search keeps one <see cref="IDecoderSequence"/> per beam. After each step the new beams take
/// their parents' sequences: a parent's sequence moves to its first child, each further child gets a
/// copy (into the storage of a sequence no child continues when there is one, else a fork), so a step
/// costs (num_beams - distinct parents) cache copies; the first step forks the prefilled sequence
/// num_beams - 1 times. HF instead runs the beams as a batch and index_selects the whole cache every step.</para>
/// </remarks>
public static class Generator
{
    public static GenerationResult Generate(IDecoderModel model, GenerationConfig config, Action<int>? onToken = null, CancellationToken cancellationToken = default)
    {
        config.Validate(model.VocabSize);
        var mode = config.Mode;
        ulong? seed = mode is DecodingMode.Sample or DecodingMode.BeamSample
            ? config.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8))
            : null;
        var rng = seed is { } s ? new Xoshiro256StarStar(s) : null;
        var pipeline = LogitsPipeline.FromConfig(config);
        var run = new Run(model, config, pipeline, rng, onToken, cancellationToken);
        if (cancellationToken.IsCancellationRequested) return run.Result([], FinishReason.Cancelled, null, null, seed);
        return config.NumBeams == 1 ? run.Single(seed) : run.Beams(seed);
    }

    /// <summary>The beam loop even for one beam (4.33 refuses num_beams 1 there); for tests against greedy.</summary>
    internal static GenerationResult GenerateWithBeamLoop(IDecoderModel model, GenerationConfig config)
    {
        config.Validate(model.VocabSize);
        var run = new Run(model, config, LogitsPipeline.FromConfig(config), config.DoSample ? new Xoshiro256StarStar(config.Seed ?? 0) : null, null, default);
        return run.Beams(config.Seed);
    }

    /// <summary>
    /// The sequences of the new beams: beam j continues <c>old[parents[j]]</c>. A parent's sequence moves
    /// to its first child; further children get copies, written into sequences no child continues when
    /// possible (no allocation), else forks. <paramref name="copies"/>: how many were copied.
    /// </summary>
    internal static IDecoderSequence[] ReassignSequences(IDecoderSequence[] old, int[] parents, out int copies)
    {
        copies = 0;
        int nb = parents.Length;
        var result = new IDecoderSequence[nb];
        var given = new HashSet<IDecoderSequence>(ReferenceEqualityComparer.Instance);
        var pending = new List<int>();
        for (int j = 0; j < nb; j++)
        {
            var src = old[parents[j]];
            if (given.Add(src)) result[j] = src;
            else pending.Add(j);
        }
        var parentSet = new HashSet<IDecoderSequence>(parents.Select(p => old[p]), ReferenceEqualityComparer.Instance);
        var free = new Stack<IDecoderSequence>(old.Distinct(ReferenceEqualityComparer.Instance).Cast<IDecoderSequence>()
            .Where(s => !parentSet.Contains(s)));
        foreach (int j in pending)
        {
            var src = old[parents[j]];
            if (free.TryPop(out var dst)) dst.CopyFrom(src);
            else dst = src.Fork();
            result[j] = dst;
            copies++;
        }
        return result;
    }

    private sealed class Run(IDecoderModel model, GenerationConfig config, LogitsPipeline pipeline, Xoshiro256StarStar? rng,
        Action<int>? onToken, CancellationToken ct)
    {
        private readonly Stopwatch _clock = new();
        private TimeSpan _prefill;
        private int _promptTokens, _steps, _copies;

        private int V => model.VocabSize;

        private IDecoderSequence Prefill(float[] logits)
        {
            _clock.Restart();
            var seq = model.Prefill(logits);
            _prefill = _clock.Elapsed;
            _promptTokens = seq.Length;
            _clock.Restart();
            return seq;
        }

        public GenerationResult Result(IReadOnlyList<int> tokens, FinishReason finish, int? eos, float? score, ulong? seed) =>
            new(tokens, finish, eos, score, seed,
                new GenerationTimings(_prefill, _clock.Elapsed, _promptTokens, tokens.Count, _steps, _copies));

        /// <summary>greedy_search / sample for batch 1: processors (and warpers) on the last logits, argmax or a draw, append, stop checks.</summary>
        public GenerationResult Single(ulong? seed)
        {
            var logits = new float[V];
            var probs = rng is null ? null : new double[V];
            var seq = Prefill(logits);
            var ids = new List<int>(model.PromptInputIds);
            int start = ids.Count;
            var eos = new HashSet<int>(config.EosTokenIds);
            var stops = new HashSet<int>(config.StopTokenIds);
            // greedy with nothing to apply to the row: an accelerator picks the token and sends only its index
            var device = rng is null && pipeline.Processors.Count == 0 && pipeline.Warpers.Count == 0
                && seq is IDeviceGreedyStep { CanArgMaxOnDevice: true } d ? d : null;
            int? picked = null;
            while (true)
            {
                var history = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids);
                int next;
                if (picked is { } p)
                {
                    next = p;
                }
                else if (rng is null)
                {
                    pipeline.ApplyToLogits(history, logits);
                    next = ScoreMath.ArgMax(logits);
                }
                else
                {
                    pipeline.ApplyToLogits(history, logits);
                    ScoreMath.Softmax(logits, probs!);
                    next = Sampler.SampleOne(probs!, rng);
                }
                ids.Add(next);
                onToken?.Invoke(next);
                var tokens = ids.GetRange(start, ids.Count - start);
                if (eos.Contains(next)) return Result(tokens, FinishReason.EosToken, next, null, seed);
                if (tokens.Count >= config.MaxNewTokens) return Result(tokens, FinishReason.MaxNewTokens, null, null, seed);
                if (stops.Contains(next)) return Result(tokens, FinishReason.StopToken, null, null, seed);
                if (ct.IsCancellationRequested) return Result(tokens, FinishReason.Cancelled, null, null, seed);
                if (device is not null) picked = device.StepArgMax(next);
                else seq.Step(next, logits);
                _steps++;
            }
        }

        /// <summary>beam_search / beam_sample for batch 1 (see the class remarks for the sequence bookkeeping).</summary>
        public GenerationResult Beams(ulong? seed)
        {
            int nb = config.NumBeams, V = this.V;
            var prefillLogits = new float[V];
            var first = Prefill(prefillLogits);
            var prompt = model.PromptInputIds;
            int maxLength = prompt.Count + config.MaxNewTokens;
            var scorer = new BeamSearchScorer(nb, config.LengthPenalty, config.EarlyStopping, maxLength, config.EosTokenIds, allowOneBeam: true);
            var stops = new HashSet<int>(config.StopTokenIds);

            var seqs = new IDecoderSequence[nb];
            var logits = new float[nb][];
            var ids = new List<int>[nb];
            var beamScores = new float[nb];
            for (int b = 0; b < nb; b++)
            {
                seqs[b] = first; // all beams start as the same prompt; 4.33: beam_scores[:, 1:] = -1e9
                logits[b] = (float[])prefillLogits.Clone();
                ids[b] = [.. prompt];
                beamScores[b] = b == 0 ? 0f : -1e9f;
            }
            var scores = new float[nb * V];
            var probs = rng is null ? null : new double[nb * V];
            FinishReason stopReason;
            while (true)
            {
                for (int b = 0; b < nb; b++)
                {
                    var row = scores.AsSpan(b * V, V);
                    ScoreMath.LogSoftmax(logits[b], row);
                    var history = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids[b]);
                    pipeline.ApplyToBeamRow(history, row, beamScores[b]);
                }
                var candidates = rng is null ? TopCandidates(scores, 2 * nb, V) : SampledCandidates(scores, probs!, 2 * nb, V, rng);
                var next = scorer.Process(ids, candidates);
                var newIds = new List<int>[nb];
                for (int j = 0; j < nb; j++)
                {
                    newIds[j] = [.. ids[next[j].Parent], next[j].Token];
                    beamScores[j] = next[j].Score;
                }
                var parents = next.Select(c => c.Parent).ToArray();
                ids = newIds;
                if (scorer.IsDone) { stopReason = FinishReason.EosToken; break; } // done needs num_beams finished hypotheses
                if (ids[0].Count >= maxLength) { stopReason = FinishReason.MaxNewTokens; break; }
                if (stops.Contains(ids[0][^1])) { stopReason = FinishReason.StopToken; break; }
                if (ct.IsCancellationRequested) { stopReason = FinishReason.Cancelled; break; }
                seqs = Reassign(seqs, parents);
                for (int j = 0; j < nb; j++)
                {
                    seqs[j].Step(next[j].Token, logits[j]);
                    _steps++;
                }
            }
            var best = scorer.Finalize(ids, beamScores);
            var tokens = best.Ids.Skip(prompt.Count).ToList();
            // 4.33 finalize: eos_token_id[0] after a hypothesis shorter than max_length (not after a cancelled open beam)
            bool cutOpen = best.EosToken is null && stopReason == FinishReason.Cancelled;
            if (best.Ids.Count < maxLength && config.EosTokenIds.Count > 0 && !cutOpen) tokens.Add(config.EosTokenIds[0]);
            var finish = best.EosToken is not null ? FinishReason.EosToken : stopReason;
            if (onToken is not null) foreach (var t in tokens) onToken(t);
            return Result(tokens, finish, best.EosToken, (float)best.Score, seed);
        }

        private IDecoderSequence[] Reassign(IDecoderSequence[] old, int[] parents)
        {
            var result = ReassignSequences(old, parents, out int copies);
            _copies += copies;
            return result;
        }

        /// <summary>4.33 beam_search: topk(2 * num_beams) of the flat [num_beams * V] scores, best first (ties: lower flat index first).</summary>
        private static BeamCandidate[] TopCandidates(ReadOnlySpan<float> scores, int n, int vocab)
        {
            var top = new (float Score, int Index)[n];
            int count = 0;
            for (int i = 0; i < scores.Length; i++)
            {
                float s = scores[i];
                if (count == n && !(s > top[n - 1].Score)) continue;
                int pos = count < n ? count++ : n - 1;
                while (pos > 0 && s > top[pos - 1].Score) { top[pos] = top[pos - 1]; pos--; }
                top[pos] = (s, i);
            }
            return [.. top.Take(count).Select(t => new BeamCandidate(t.Score, t.Index % vocab, t.Index / vocab))];
        }

        /// <summary>
        /// 4.33 beam_sample: softmax over the flat warped scores, 2 * num_beams draws without replacement
        /// (<see cref="Sampler.SampleWithoutReplacement"/>), sorted by score (ties: draw order).
        /// </summary>
        private static BeamCandidate[] SampledCandidates(ReadOnlySpan<float> scores, double[] probs, int n, int vocab, Xoshiro256StarStar rng)
        {
            ScoreMath.Softmax(scores, probs);
            var picked = Sampler.SampleWithoutReplacement(probs, n, rng, scores);
            var flatScores = scores.ToArray();
            return [.. picked.Select((flat, order) => (flat, order))
                .OrderByDescending(t => flatScores[t.flat]).ThenBy(t => t.order)
                .Select(t => new BeamCandidate(flatScores[t.flat], t.flat % vocab, t.flat / vocab))];
        }
    }
}
