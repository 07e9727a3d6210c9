namespace IXC25.Generation.Decoding;

/// <summary>A candidate continuation of a beam: its running score (float32, as HF's beam scores), token, parent beam.</summary>
public readonly record struct BeamCandidate(float Score, int Token, int Parent);

/// <summary>A finished (or, at finalization, open) beam: its generation ids and normalized score.</summary>
/// <param name="Ids">Generation ids (prompt ids of an input_ids prompt, then the new tokens), without the eos.</param>
/// <param name="Score">sum_logprobs / Ids.Count ** length_penalty (double, as Python computes it).</param>
/// <param name="EosToken">The eos id that finished it; null for a beam still open at finalization.</param>
public sealed record BeamHypothesis(IReadOnlyList<int> Ids, double Score, int? EosToken);

/// <summary>
/// Mirrors transformers 4.33 <c>BeamHypotheses</c>: the n-best list of finished hypotheses. Our one
/// difference: 4.33 raises ZeroDivisionError when a hypothesis of length 0 is scored (an eos among the
/// first step's top num_beams candidates with an embeddings prompt); we score it -inf (it ranks last).
/// </summary>
public sealed class BeamHypotheses
{
    private readonly List<BeamHypothesis> _beams = [];

    public BeamHypotheses(int numBeams, double lengthPenalty, EarlyStopping earlyStopping, int maxLength)
    {
        NumBeams = numBeams;
        LengthPenalty = lengthPenalty;
        EarlyStopping = earlyStopping;
        MaxLength = maxLength;
    }

    public int NumBeams { get; }
    public double LengthPenalty { get; }
    public EarlyStopping EarlyStopping { get; }
    public int MaxLength { get; }
    public double WorstScore { get; private set; } = 1e9;
    public IReadOnlyList<BeamHypothesis> Beams => _beams;
    public int Count => _beams.Count;

    /// <summary>sum_logprobs / length ** length_penalty in double; a zero denominator gives -inf (see class doc).</summary>
    public static double Normalize(double sumLogprobs, int length, double lengthPenalty)
    {
        double denominator = Math.Pow(length, lengthPenalty);
        return denominator == 0 ? double.NegativeInfinity : sumLogprobs / denominator;
    }

    /// <summary>Adds a hypothesis if the list is not full or it beats the worst; the worst (earliest added among equals) then goes.</summary>
    public void Add(IReadOnlyList<int> ids, double sumLogprobs, int? eosToken)
    {
        double score = Normalize(sumLogprobs, ids.Count, LengthPenalty);
        if (_beams.Count < NumBeams || score > WorstScore)
        {
            _beams.Add(new BeamHypothesis(ids, score, eosToken));
            if (_beams.Count > NumBeams)
            {
                // Python: sorted((score, index)) -> drop the first, the second becomes the worst
                var ranked = _beams.Select((b, i) => (b.Score, i)).OrderBy(t => t.Score).ThenBy(t => t.i).ToArray();
                _beams.RemoveAt(ranked[0].i);
                WorstScore = ranked[1].Score;
            }
            else
            {
                WorstScore = Math.Min(score, WorstScore);
            }
        }
    }

    /// <summary>4.33 is_done(best_sum_logprobs, cur_len): see <see cref="Decoding.EarlyStopping"/>.</summary>
    public bool IsDone(double bestSumLogprobs, int curLen)
    {
        if (_beams.Count < NumBeams) return false;
        return EarlyStopping switch
        {
            EarlyStopping.Immediate => true,
            EarlyStopping.Heuristic => WorstScore >= Normalize(bestSumLogprobs, curLen, LengthPenalty),
            _ => WorstScore >= Normalize(bestSumLogprobs, LengthPenalty > 0 ? MaxLength : curLen, LengthPenalty),
        };
    }

    /// <summary>The best hypothesis: highest score, the latest added among equals (Python's stable sort then pop()).</summary>
    public BeamHypothesis Best()
    {
        if (_beams.Count == 0) throw new InvalidOperationException("no hypothesis");
        int best = 0;
        for (int i = 1; i < _beams.Count; i++) if (_beams[i].Score >= _beams[best].Score) best = i;
        return _beams[best];
    }
}

/// <summary>
/// Mirrors transformers 4.33 <c>BeamSearchScorer</c> for one sequence (batch 1, one beam group, one
/// returned hypothesis).
/// </summary>
public sealed class BeamSearchScorer
{
    private readonly HashSet<int> _eos;

    public BeamSearchScorer(int numBeams, double lengthPenalty, EarlyStopping earlyStopping, int maxLength, IEnumerable<int> eosTokenIds)
        : this(numBeams, lengthPenalty, earlyStopping, maxLength, eosTokenIds, allowOneBeam: false) { }

    internal BeamSearchScorer(int numBeams, double lengthPenalty, EarlyStopping earlyStopping, int maxLength, IEnumerable<int> eosTokenIds, bool allowOneBeam)
    {
        if (numBeams < (allowOneBeam ? 1 : 2)) throw new ArgumentOutOfRangeException(nameof(numBeams), "beam search needs at least 2 beams");
        NumBeams = numBeams;
        Hypotheses = new BeamHypotheses(numBeams, lengthPenalty, earlyStopping, maxLength);
        _eos = [.. eosTokenIds];
    }

    public int NumBeams { get; }
    public BeamHypotheses Hypotheses { get; }
    public bool IsDone { get; private set; }

    /// <summary>
    /// 4.33 process() for one sequence. <paramref name="candidates"/>: the 2 * num_beams candidates best
    /// first; <paramref name="beamIds"/>: each beam's generation ids before this step (all the same length,
    /// cur_len). An eos candidate ranked within the first num_beams becomes a hypothesis (its beam's ids,
    /// its score); an eos ranked lower is skipped; the others become the next beams in order until
    /// num_beams are chosen. Then done |= is_done(best candidate score, cur_len).
    /// </summary>
    public BeamCandidate[] Process(IReadOnlyList<IReadOnlyList<int>> beamIds, ReadOnlySpan<BeamCandidate> candidates)
    {
        if (IsDone) throw new InvalidOperationException("the search is done");
        int curLen = beamIds[0].Count;
        var next = new BeamCandidate[NumBeams];
        int filled = 0;
        for (int rank = 0; rank < candidates.Length; rank++)
        {
            var c = candidates[rank];
            if (_eos.Contains(c.Token))
            {
                if (rank >= NumBeams) continue;
                Hypotheses.Add([.. beamIds[c.Parent]], c.Score, c.Token);
            }
            else
            {
                next[filled++] = c;
            }
            if (filled == NumBeams) break;
        }
        if (filled < NumBeams)
            throw new InvalidOperationException($"at most {NumBeams} of the {candidates.Length} candidates can be eos tokens");
        float best = float.NegativeInfinity;
        foreach (var c in candidates) best = Math.Max(best, c.Score);
        IsDone = Hypotheses.IsDone(best, curLen);
        return next;
    }

    /// <summary>
    /// 4.33 finalize(): unless done, every open beam (its ids and running score) is offered to the
    /// hypotheses; returns the best.
    /// </summary>
    public BeamHypothesis Finalize(IReadOnlyList<IReadOnlyList<int>> beamIds, ReadOnlySpan<float> beamScores)
    {
        if (!IsDone)
            for (int b = 0; b < NumBeams; b++) Hypotheses.Add(beamIds[b], beamScores[b], null);
        return Hypotheses.Best();
    }
}
