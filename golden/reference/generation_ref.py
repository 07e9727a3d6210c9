"""Plain-torch reference of the transformers 4.33 decoding that IXC-2.5's chat / write / web rely on.

Re-written (not copied) from transformers 4.33 (the version upstream's config.json names, 4.33.2),
function by function; each class or function names the 4.33 one it mirrors:

* generation/logits_process.py: TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper
  (RepetitionPenaltyLogitsProcessor and LogitsProcessorList are reused from modeling_ref.py);
* generation/utils.py: GenerationMixin._get_logits_processor, _get_logits_warper, generate (mode
  selection, max_length from max_new_tokens, _expand_inputs_for_generation), greedy_search (reused:
  modeling_ref.InternLMXComposer2ForCausalLM.generate), sample, beam_search, beam_sample,
  _update_model_kwargs_for_generation (attention_mask grows by one per step) and the model's
  _reorder_cache (past_key_values index_select'ed by the new beams' parents);
* generation/beam_search.py: BeamHypotheses, BeamSearchScorer (process, finalize, is_done);
* generation/stopping_criteria.py: MaxLengthCriteria; upstream's own StoppingCriteriaSub (write mode).

Only what IXC-2.5 reaches is here: batch size 1 (the scorer keeps the batch loop), no beam groups,
no constraints, one returned sequence, no min_length / bad words / n-gram processors (their 4.33
defaults are off). With an embeddings prompt (interleav_wrap_chat) the generation input_ids start
EMPTY: the repetition penalty sees only generated ids, max_length = max_new_tokens, and a beam
hypothesis's length (the length penalty's base) counts generated tokens only. With an input_ids
prompt (build_inputs, chat(image=None)) the prompt ids are part of all three.

One place where 4.33 is undefined: a beam hypothesis of length 0 (an eos among the first step's top
num_beams candidates with an embeddings prompt) makes BeamHypotheses.add divide by 0 ** length_penalty
and raise ZeroDivisionError. Here (and in the C# engine) such a division gives -inf (see
`_normalized`): the empty hypothesis ranks last. Documented in docs/DEVIATIONS.md.

`diag` (ours): beam_search / beam_sample append per-step records (the sorted candidate scores, the
is_done comparison, the finalize scores) to a list, for the golden script's robustness margins.
"""
import math

import torch
from torch import nn

from .modeling_ref import CHAT_EOS_IDS, LogitsProcessorList, RepetitionPenaltyLogitsProcessor  # noqa: F401

# ----------------------------------------------------------------------------------------------
# warpers (transformers 4.33 generation/logits_process.py)
# ----------------------------------------------------------------------------------------------


class TemperatureLogitsWarper:
    """Mirrors 4.33 TemperatureLogitsWarper: scores / temperature (float32 division by the float32
    value of the Python float). temperature must be a strictly positive float."""

    def __init__(self, temperature):
        if not isinstance(temperature, float) or not (temperature > 0):
            raise ValueError(f"temperature has to be a strictly positive float, got {temperature!r}")
        self.temperature = temperature

    def __call__(self, input_ids, scores):
        return scores / self.temperature


class TopKLogitsWarper:
    """Mirrors 4.33 TopKLogitsWarper: k = max(top_k, min_tokens_to_keep) capped at V; every score
    strictly below the k-th largest becomes filter_value (ties with the k-th largest are all kept)."""

    def __init__(self, top_k, filter_value=-float("inf"), min_tokens_to_keep=1):
        if not isinstance(top_k, int) or top_k <= 0:
            raise ValueError(f"top_k has to be a strictly positive integer, got {top_k!r}")
        self.top_k = max(top_k, min_tokens_to_keep)
        self.filter_value = filter_value

    def __call__(self, input_ids, scores):
        k = min(self.top_k, scores.size(-1))
        kth = torch.topk(scores, k)[0][..., -1, None]
        return scores.masked_fill(scores < kth, self.filter_value)


class TopPLogitsWarper:
    """Mirrors 4.33 TopPLogitsWarper: sort ascending, softmax of the sorted scores, cumulative sum
    (torch CPU accumulates a float32 cumsum in double and rounds each prefix to float32); sorted
    positions whose cumulative probability is <= 1 - top_p (the threshold rounded to float32 by the
    comparison) are removed, except the last min_tokens_to_keep (the largest scores); removed
    scores become filter_value. Which of several equal scores sorts first is torch.sort's choice
    (not stable on CPU for long rows); the goldens avoid ties that straddle the threshold."""

    def __init__(self, top_p, filter_value=-float("inf"), min_tokens_to_keep=1):
        top_p = float(top_p)
        if top_p < 0 or top_p > 1.0:
            raise ValueError(f"top_p has to be a float >= 0 and <= 1, got {top_p!r}")
        if not isinstance(min_tokens_to_keep, int) or min_tokens_to_keep < 1:
            raise ValueError(f"min_tokens_to_keep has to be a positive integer, got {min_tokens_to_keep!r}")
        self.top_p = top_p
        self.filter_value = filter_value
        self.min_tokens_to_keep = min_tokens_to_keep

    def __call__(self, input_ids, scores):
        sorted_logits, sorted_indices = torch.sort(scores, descending=False)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        sorted_remove = cumulative <= (1 - self.top_p)
        sorted_remove[..., -self.min_tokens_to_keep:] = 0
        remove = sorted_remove.scatter(1, sorted_indices, sorted_remove)
        return scores.masked_fill(remove, self.filter_value)


# ----------------------------------------------------------------------------------------------
# configuration and the processor lists (transformers 4.33 generation/utils.py)
# ----------------------------------------------------------------------------------------------


class GenerationConfig:
    """The GenerationConfig fields IXC-2.5 uses, with the 4.33 defaults (do_sample False, num_beams 1,
    temperature 1.0, top_k 50, top_p 1.0, repetition_penalty 1.0, length_penalty 1.0,
    early_stopping False). max_new_tokens is required here (4.33 would fall back to max_length 20)."""

    def __init__(self, max_new_tokens, do_sample=False, num_beams=1, temperature=1.0, top_k=50, top_p=1.0,
                 repetition_penalty=1.0, length_penalty=1.0, early_stopping=False, eos_token_id=CHAT_EOS_IDS):
        self.max_new_tokens = max_new_tokens
        self.do_sample = do_sample
        self.num_beams = num_beams
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p
        self.repetition_penalty = repetition_penalty
        self.length_penalty = length_penalty
        self.early_stopping = early_stopping
        self.eos_token_id = eos_token_id

    def eos_list(self):
        e = self.eos_token_id
        return [] if e is None else ([e] if isinstance(e, int) else list(e))


def get_logits_processor(config):
    """Mirrors 4.33 GenerationMixin._get_logits_processor for the settings IXC-2.5 reaches: only the
    repetition penalty (added when repetition_penalty is not None and != 1.0). Every other 4.33
    processor is off at its default (sequence_bias, diversity, encoder penalties, n-grams, bad words,
    min_length 0, min_new_tokens, forced BOS/EOS, remove_invalid_values, length decay, suppress
    tokens, forced decoder ids, renormalize_logits)."""
    processors = LogitsProcessorList()
    if config.repetition_penalty is not None and config.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(penalty=float(config.repetition_penalty)))
    return processors


def get_logits_warper(config):
    """Mirrors 4.33 GenerationMixin._get_logits_warper: min_tokens_to_keep = len(eos list) + 1 with
    beams (2 when eos_token_id is an int), 1 otherwise; then temperature (if != 1.0), top-k (if not
    None and != 0), top-p (if < 1.0), in that order. (typical_p, epsilon, eta: off at defaults.)"""
    warpers = LogitsProcessorList()
    if config.num_beams > 1:
        e = config.eos_token_id
        min_keep = len(e) + 1 if isinstance(e, (list, tuple)) else 2
    else:
        min_keep = 1
    if config.temperature is not None and config.temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(float(config.temperature)))
    if config.top_k is not None and config.top_k != 0:
        warpers.append(TopKLogitsWarper(top_k=config.top_k, min_tokens_to_keep=min_keep))
    if config.top_p is not None and config.top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p=config.top_p, min_tokens_to_keep=min_keep))
    return warpers


# ----------------------------------------------------------------------------------------------
# stopping criteria (transformers 4.33 generation/stopping_criteria.py; upstream's StoppingCriteriaSub)
# ----------------------------------------------------------------------------------------------


class MaxLengthCriteria:
    """Mirrors 4.33 MaxLengthCriteria: stop when input_ids.shape[-1] >= max_length."""

    def __init__(self, max_length):
        self.max_length = max_length

    def __call__(self, input_ids, scores):
        return input_ids.shape[-1] >= self.max_length


class StopOnTokens:
    """Mirrors upstream's StoppingCriteriaSub (write_artical, stop_words_ids [92542]): stop when the
    LAST id of the FIRST row of input_ids is one of `stops` (single-token stop words only)."""

    def __init__(self, stops):
        self.stops = list(stops)

    def __call__(self, input_ids, scores):
        return input_ids.shape[-1] > 0 and int(input_ids[0, -1]) in self.stops


def _stop(criteria, input_ids, scores):
    """Mirrors 4.33 StoppingCriteriaList.__call__: any criterion."""
    return any(c(input_ids, scores) for c in criteria)


# ----------------------------------------------------------------------------------------------
# beam scorer (transformers 4.33 generation/beam_search.py)
# ----------------------------------------------------------------------------------------------


def _normalized(sum_logprobs, length, length_penalty):
    """sum_logprobs / length ** length_penalty in Python floats, as 4.33 computes it; where 4.33
    divides by zero (length 0, length_penalty != 0) and raises, ours gives -inf (see module doc)."""
    denom = length ** length_penalty
    if denom == 0:
        return -math.inf
    return sum_logprobs / denom


class BeamHypotheses:
    """Mirrors 4.33 BeamHypotheses: the n-best list of finished hypotheses of one batch entry."""

    def __init__(self, num_beams, length_penalty, early_stopping, max_length=None):
        self.length_penalty = length_penalty
        self.early_stopping = early_stopping
        self.max_length = max_length
        self.num_beams = num_beams
        self.beams = []
        self.worst_score = 1e9
        self.diag = None  # ours: a list receiving the add() comparisons
        if not isinstance(early_stopping, bool) and max_length is None:
            raise ValueError("early_stopping given as a string needs max_length")

    def __len__(self):
        return len(self.beams)

    def add(self, hyp, sum_logprobs):
        """Score = sum_logprobs / len(hyp) ** length_penalty; kept if the list is not full or it beats
        the worst, which is then dropped (the earliest-added of equal worst scores goes first)."""
        score = _normalized(sum_logprobs, hyp.shape[-1], self.length_penalty)
        if self.diag is not None and len(self) >= self.num_beams:
            self.diag.append(dict(kind="add", score=score, worst=self.worst_score))
        if len(self) < self.num_beams or score > self.worst_score:
            self.beams.append((score, hyp))
            if len(self) > self.num_beams:
                ranked = sorted([(s, i) for i, (s, _) in enumerate(self.beams)])
                del self.beams[ranked[0][1]]
                self.worst_score = ranked[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs, cur_len):
        """4.33 semantics: not done while fewer than num_beams hypotheses; early_stopping True: done;
        False: done when worst_score >= best_sum_logprobs / cur_len ** lp; "never": the same with
        max_length instead of cur_len when lp > 0."""
        if len(self) < self.num_beams:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping is False:
            return self.worst_score >= _normalized(best_sum_logprobs, cur_len, self.length_penalty)
        if self.length_penalty > 0.0:
            best = _normalized(best_sum_logprobs, self.max_length, self.length_penalty)
        else:
            best = _normalized(best_sum_logprobs, cur_len, self.length_penalty)
        return self.worst_score >= best


class BeamSearchScorer:
    """Mirrors 4.33 BeamSearchScorer (num_beam_groups 1, num_beam_hyps_to_keep 1)."""

    def __init__(self, batch_size, num_beams, length_penalty=1.0, do_early_stopping=False, max_length=None):
        if not isinstance(num_beams, int) or num_beams <= 1:
            raise ValueError(f"num_beams has to be an integer > 1 for beam search, got {num_beams!r}")
        self.num_beams = num_beams
        self.length_penalty = length_penalty
        self.do_early_stopping = do_early_stopping
        self._beam_hyps = [BeamHypotheses(num_beams, length_penalty, do_early_stopping, max_length)
                           for _ in range(batch_size)]
        self._done = [False] * batch_size

    @property
    def is_done(self):
        return all(self._done)

    def process(self, input_ids, next_scores, next_tokens, next_indices, pad_token_id, eos_token_id, diag=None):
        """Walks each batch entry's 2*num_beams candidates best first: an eos candidate ranked within
        the top num_beams becomes a finished hypothesis (input_ids of its beam, without the eos, with
        the candidate's score); an eos ranked lower is skipped; other candidates fill the next beams
        in order until num_beams are chosen. Then is_done(best candidate score, cur_len)."""
        cur_len = input_ids.shape[-1]
        batch_size = len(self._beam_hyps)
        nb = self.num_beams
        next_beam_scores = torch.zeros((batch_size, nb), dtype=next_scores.dtype)
        next_beam_tokens = torch.zeros((batch_size, nb), dtype=next_tokens.dtype)
        next_beam_indices = torch.zeros((batch_size, nb), dtype=next_indices.dtype)
        eos = [eos_token_id] if isinstance(eos_token_id, int) else eos_token_id
        for b, hyps in enumerate(self._beam_hyps):
            hyps.diag = diag
            if self._done[b]:
                next_beam_scores[b, :] = 0
                next_beam_tokens[b, :] = pad_token_id
                next_beam_indices[b, :] = 0
                continue
            beam_idx = 0
            for rank, (tok, score, idx) in enumerate(zip(next_tokens[b], next_scores[b], next_indices[b])):
                batch_beam_idx = b * nb + idx
                if eos is not None and tok.item() in eos:
                    if rank >= nb:
                        continue
                    hyps.add(input_ids[batch_beam_idx].clone(), score.item())
                else:
                    next_beam_scores[b, beam_idx] = score
                    next_beam_tokens[b, beam_idx] = tok
                    next_beam_indices[b, beam_idx] = batch_beam_idx
                    beam_idx += 1
                if beam_idx == nb:
                    break
            if beam_idx < nb:
                raise ValueError(f"at most {nb} tokens in {next_tokens[b]} can be eos {eos}")
            best = next_scores[b].max().item()
            done = hyps.is_done(best, cur_len)
            if diag is not None:
                diag.append(dict(kind="is_done", hyps=len(hyps), worst=hyps.worst_score, best=best, cur_len=cur_len,
                                 done=done, early_stopping=hyps.early_stopping, length_penalty=hyps.length_penalty,
                                 max_length=hyps.max_length))
            self._done[b] = self._done[b] or done
        return next_beam_scores.view(-1), next_beam_tokens.view(-1), next_beam_indices.view(-1)

    def finalize(self, input_ids, final_beam_scores, max_length, pad_token_id, eos_token_id, diag=None):
        """Adds every open beam (with its running score) to the hypotheses of batch entries not done,
        takes the best hypothesis, and appends eos_token_id[0] when it is shorter than
        min(its length + 1, max_length). Returns (sequences [B, L], sequence_scores [B] float32)."""
        batch_size = len(self._beam_hyps)
        eos = [eos_token_id] if isinstance(eos_token_id, int) else eos_token_id
        for b, hyps in enumerate(self._beam_hyps):
            hyps.diag = diag
            if self._done[b]:
                continue
            for j in range(self.num_beams):
                i = b * self.num_beams + j
                hyps.add(input_ids[i], final_beam_scores[i].item())
        lengths, best, best_scores = [], [], torch.zeros(batch_size, dtype=torch.float32)
        for b, hyps in enumerate(self._beam_hyps):
            ranked = sorted(hyps.beams, key=lambda x: x[0])
            if diag is not None:
                diag.append(dict(kind="finalize", scores=[s for s, _ in ranked]))
            score, hyp = ranked.pop()
            lengths.append(len(hyp))
            best.append(hyp)
            best_scores[b] = score
        sent_max_len = min(max(lengths) + 1, max_length) if max_length is not None else max(lengths) + 1
        decoded = input_ids.new_empty((batch_size, sent_max_len))
        if min(lengths) != max(lengths):
            decoded.fill_(pad_token_id)
        for i, hyp in enumerate(best):
            decoded[i, :lengths[i]] = hyp
            if lengths[i] < sent_max_len:
                decoded[i, lengths[i]] = eos[0]
        return decoded, best_scores


# ----------------------------------------------------------------------------------------------
# decoding loops (transformers 4.33 generation/utils.py) over modeling_ref's model
# ----------------------------------------------------------------------------------------------


class _ModelState:
    """What 4.33 keeps in model_kwargs between steps for IXC-2.5: the prompt embeddings (used on the
    first step only), im_mask, attention_mask (grows by one each step: _update_model_kwargs_for_generation)
    and past_key_values."""

    def __init__(self, model, inputs_embeds, im_mask, attention_mask):
        self.model = model
        self.inputs_embeds = inputs_embeds
        self.im_mask = im_mask
        self.attention_mask = attention_mask
        self.past = None

    def logits(self, input_ids):
        """prepare_inputs_for_generation + forward; returns last-position logits [B, V]."""
        inputs = self.model.prepare_inputs_for_generation(input_ids, past_key_values=self.past,
                                                          attention_mask=self.attention_mask,
                                                          inputs_embeds=self.inputs_embeds, im_mask=self.im_mask)
        logits, self.past = self.model.forward(**inputs)
        self.attention_mask = torch.cat([self.attention_mask, self.attention_mask.new_ones((self.attention_mask.shape[0], 1))],
                                        dim=-1)
        return logits[:, -1, :]

    def reorder(self, beam_idx):
        """Mirrors InternLMXComposer2ForCausalLM._reorder_cache: index_select every cached tensor."""
        self.past = tuple(tuple(t.index_select(0, beam_idx) for t in layer) for layer in self.past)


def _prepare(model, inputs_embeds, input_ids, im_mask, expand):
    """Mirrors the parts of 4.33 generate() before the loop: generation input_ids are EMPTY [B, 0] for
    an embeddings prompt (_maybe_initialize_input_ids_for_generation) or the prompt ids; attention_mask
    all ones over the prompt; every tensor repeated `expand` times along the batch
    (_expand_inputs_for_generation, repeat_interleave). Returns (ids, state)."""
    if (inputs_embeds is None) == (input_ids is None):
        raise ValueError("give exactly one of inputs_embeds and input_ids")
    if inputs_embeds is not None:
        batch, prompt_len = inputs_embeds.shape[:2]
        ids = torch.ones((batch, 0), dtype=torch.long)
    else:
        batch, prompt_len = input_ids.shape
        ids = input_ids
    if batch != 1:
        raise ValueError("batch 1 only")
    if im_mask is None:
        im_mask = torch.zeros((batch, prompt_len), dtype=torch.bool)
    attention_mask = torch.ones((batch, prompt_len), dtype=torch.long)
    if expand > 1:
        ids = ids.repeat_interleave(expand, dim=0)
        im_mask = im_mask.repeat_interleave(expand, dim=0)
        attention_mask = attention_mask.repeat_interleave(expand, dim=0)
        if inputs_embeds is not None:
            inputs_embeds = inputs_embeds.repeat_interleave(expand, dim=0)
    return ids, _ModelState(model, inputs_embeds, im_mask, attention_mask)


@torch.no_grad()
def sample(model, config, inputs_embeds=None, input_ids=None, im_mask=None, stopping_criteria=(), generator=None):
    """Mirrors 4.33 GenerationMixin.sample (batch 1): logits -> processors -> warpers -> softmax ->
    torch.multinomial(1) -> append; stops at an eos (kept), at max_length, or on a criterion.
    Returns new token ids (list)."""
    ids, state = _prepare(model, inputs_embeds, input_ids, im_mask, 1)
    start = ids.shape[1]
    criteria = [MaxLengthCriteria(start + config.max_new_tokens), *stopping_criteria]
    processors, warpers = get_logits_processor(config), get_logits_warper(config)
    eos = config.eos_list()
    while True:
        scores = warpers(ids, processors(ids, state.logits(ids)))
        probs = nn.functional.softmax(scores, dim=-1)
        nxt = torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)
        ids = torch.cat([ids, nxt[:, None]], dim=-1)
        if int(nxt[0]) in eos or _stop(criteria, ids, scores):
            break
    return ids[0, start:].tolist()


@torch.no_grad()
def beam_search(model, config, inputs_embeds=None, input_ids=None, im_mask=None, stopping_criteria=(), diag=None,
                do_sample=False, generator=None):
    """Mirrors 4.33 GenerationMixin.beam_search (do_sample False) and beam_sample (do_sample True).

    beam_scores start [0, -1e9, ...] (float32); each step: log_softmax of every beam's logits ->
    processors (per beam, on its own ids) -> + beam score; beam_sample then applies the warpers to
    that sum (4.33 order: after adding the beam scores), softmax over all num_beams * V candidates,
    multinomial of 2 * num_beams without replacement, candidates sorted by score; beam_search takes
    topk(2 * num_beams). Token = flat % V, parent = flat // V. The scorer picks the next beams, the
    ids are re-gathered, the cache is reordered by parent, and the loop stops when the scorer is
    done or a criterion fires (max_length: prompt ids + max_new_tokens). Returns (new token ids of
    the best hypothesis as 4.33 returns them (eos_token_id[0] appended when it ended early),
    its sequence score)."""
    nb = config.num_beams
    ids, state = _prepare(model, inputs_embeds, input_ids, im_mask, nb)
    start = ids.shape[1]
    max_length = start + config.max_new_tokens
    criteria = [MaxLengthCriteria(max_length), *stopping_criteria]
    processors = get_logits_processor(config)
    warpers = get_logits_warper(config) if do_sample else None
    eos = config.eos_list()
    scorer = BeamSearchScorer(1, nb, config.length_penalty, config.early_stopping, max_length)
    beam_scores = torch.zeros((1, nb), dtype=torch.float)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view((nb,))
    pad = eos[0] if eos else 0
    while True:
        logits = state.logits(ids)
        scores = nn.functional.log_softmax(logits, dim=-1)
        scores = processors(ids, scores)
        scores = scores + beam_scores[:, None].expand_as(scores)
        if do_sample:
            scores = warpers(ids, scores)
        vocab = scores.shape[-1]
        flat = scores.view(1, nb * vocab)
        if do_sample:
            probs = nn.functional.softmax(flat, dim=-1)
            cand = torch.multinomial(probs, num_samples=2 * nb, generator=generator)
            cand_scores = torch.gather(flat, -1, cand)
            cand_scores, order = torch.sort(cand_scores, descending=True, dim=1)
            cand = torch.gather(cand, -1, order)
        else:
            cand_scores, cand = torch.topk(flat, 2 * nb, dim=1, largest=True, sorted=True)
        if diag is not None:
            top = torch.topk(flat, min(2 * nb + 1, flat.shape[1]), dim=1).values[0].tolist()
            diag.append(dict(kind="candidates", step=ids.shape[1] - start, top=top, tokens=(cand[0] % vocab).tolist(),
                             scores=cand_scores[0].tolist()))
        parents = torch.div(cand, vocab, rounding_mode="floor")
        tokens = cand % vocab
        beam_scores, beam_tokens, beam_idx = scorer.process(ids, cand_scores, tokens, parents, pad, eos, diag=diag)
        ids = torch.cat([ids[beam_idx, :], beam_tokens.unsqueeze(-1)], dim=-1)
        state.reorder(beam_idx)
        if scorer.is_done or _stop(criteria, ids, None):
            break
    seqs, seq_scores = scorer.finalize(ids, beam_scores, max_length, pad, eos, diag=diag)
    return seqs[0].tolist()[start:], float(seq_scores[0])


@torch.no_grad()
def generate(model, config, inputs_embeds=None, input_ids=None, im_mask=None, stopping_criteria=(), generator=None,
             diag=None):
    """Mirrors the mode selection of 4.33 GenerationMixin.generate: num_beams 1 -> greedy_search
    (do_sample False; modeling_ref's generate, which applies the processors) or sample; num_beams > 1
    -> beam_search or beam_sample. Returns (new token ids, beam sequence score or None)."""
    if config.num_beams == 1 and not config.do_sample:
        out = model.generate(input_ids=input_ids, inputs_embeds=inputs_embeds, im_mask=im_mask,
                             max_new_tokens=config.max_new_tokens, eos_token_id=config.eos_list(),
                             logits_processor=get_logits_processor(config), stopping_criteria=list(stopping_criteria))
        return out.new_tokens, None
    if config.num_beams == 1:
        return sample(model, config, inputs_embeds, input_ids, im_mask, stopping_criteria, generator), None
    return beam_search(model, config, inputs_embeds, input_ids, im_mask, stopping_criteria, diag=diag,
                       do_sample=config.do_sample, generator=generator)
