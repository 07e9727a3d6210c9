"""Reference InternLM2 tokenizer as the IXC-2.5 remote code drives it (slow tokenizer, transformers 4.33).

Mirrors tokenization_internlm2.py: InternLM2Tokenizer (sentencepiece encode/decode, BOS handling) and the
parts of transformers 4.33 PreTrainedTokenizer (tokenization_utils.py: tokenize, _decode,
clean_up_tokenization) that it inherits. Only python `sentencepiece` is used; `transformers` is not
available here, so the inherited behaviour is re-written from its documented semantics:

* `tokenize(text)` first splits the text on the "no split" tokens. In 4.33 `from_pretrained` calls
  `sanitize_special_tokens()`, which registers every special token (`<unk>`, `<s>`, `</s>`; the pad
  token is `</s>` again) as no-split. A literal "<s>" inside the text is therefore cut out and becomes
  id 1 (`sp.piece_to_id("<s>")`), where plain sentencepiece would encode it as '<s', '>'.
* Whitespace next to such a special token is stripped on both sides ("We strip left and right by
  default": the tokens are plain strings in the IXC-2.5 tokenizer_config, not AddedToken objects with
  lstrip/rstrip flags - ASSUMED, the config file is not public in our sources). Pieces that become
  empty are dropped.
* Every other chunk goes through `sp.encode(chunk, out_type=str)` and `piece_to_id` (identical to
  `sp.encode(chunk)` ids). `[UNUSED_TOKEN_N]` are USER_DEFINED pieces, matched by sentencepiece itself.
* `add_special_tokens=True` prepends BOS (1) once (build_inputs_with_special_tokens, add_bos_token True);
  EOS is never added.

So for text without special-token literals, `encode(text, True) == [1] + sp.encode(text)`, and the
text-only chat prompt, which starts with the literal "<s>", encodes as `[1, 1, ...]`.
"""
import re

import sentencepiece as spm

#: Special tokens of the IXC-2.5 tokenizer (unk, bos, eos; pad is eos). Mirrors the values the
#: InternLM2Tokenizer.__init__ defaults give (unk_token, bos_token, eos_token, pad_token).
SPECIAL_TOKENS = ("<unk>", "<s>", "</s>")
BOS_ID = 1
EOS_ID = 2
END_OF_TURN = "[UNUSED_TOKEN_145]"   # id 92542
START_OF_TURN = "[UNUSED_TOKEN_146]"  # id 92543

_SPLIT_RE = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")


def clean_up_tokenization(out_string):
    """Mirrors transformers 4.33 PreTrainedTokenizerBase.clean_up_tokenization (the fixed list of
    replacements of a space before punctuation and English contractions)."""
    return (out_string.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
            .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
            .replace(" 've", "'ve").replace(" 're", "'re"))


class InternLM2TokenizerRef:
    """Mirrors tokenization_internlm2.py: InternLM2Tokenizer together with the transformers 4.33
    PreTrainedTokenizer methods it inherits (tokenize with the special-token trie, __call__ with
    add_special_tokens, decode with skip_special_tokens).

    Call it like the HF tokenizer for one string: `tok(text, add_special_tokens=True)` returns the
    list of ids (no tensors, no padding)."""

    def __init__(self, vocab_file, strip_around_special=True):
        """Mirrors InternLM2Tokenizer.__init__ (loads the sentencepiece model). `strip_around_special`
        reproduces the 4.33 default stripping of whitespace around special tokens (see module doc)."""
        self.vocab_file = str(vocab_file)
        self.sp_model = spm.SentencePieceProcessor()
        self.sp_model.Load(self.vocab_file)
        self.strip_around_special = strip_around_special
        self.bos_token_id = self.sp_model.bos_id()
        self.eos_token_id = self.sp_model.eos_id()
        self.pad_token_id = self.eos_token_id
        self.all_special_tokens = list(SPECIAL_TOKENS)
        self.all_special_ids = sorted({self.sp_model.piece_to_id(t) for t in SPECIAL_TOKENS})

    @property
    def vocab_size(self):
        """Mirrors InternLM2Tokenizer.vocab_size (sentencepiece piece count)."""
        return self.sp_model.get_piece_size()

    def tokenize(self, text):
        """Mirrors transformers 4.33 PreTrainedTokenizer.tokenize: split on the no-split (special)
        tokens, strip whitespace next to them, drop empty chunks, sentencepiece-encode the rest
        (InternLM2Tokenizer._tokenize)."""
        chunks = [c for c in _SPLIT_RE.split(text)]
        # re.split with a capture group yields ['', '<s>', 'rest'] for '<s>rest'; the HF trie yields
        # ['<s>', 'rest']. Empty chunks are dropped below either way, and an empty neighbour is not
        # stripped, so the two give the same tokens.
        if self.strip_around_special:
            for i, chunk in enumerate(chunks):
                if chunk in SPECIAL_TOKENS:
                    left = chunks[i - 1] if i > 0 else None
                    right = chunks[i + 1] if i < len(chunks) - 1 else None
                    if right:
                        chunks[i + 1] = right.lstrip()
                    if left:
                        chunks[i - 1] = left.rstrip()
        pieces = []
        for chunk in chunks:
            if not chunk:
                continue
            if chunk in SPECIAL_TOKENS:
                pieces.append(chunk)
            else:
                pieces.extend(self.sp_model.encode(chunk, out_type=str))
        return pieces

    def convert_tokens_to_ids(self, tokens):
        """Mirrors InternLM2Tokenizer._convert_token_to_id (sentencepiece piece_to_id)."""
        if isinstance(tokens, str):
            return self.sp_model.piece_to_id(tokens)
        return [self.sp_model.piece_to_id(t) for t in tokens]

    def encode(self, text, add_special_tokens=True):
        """Mirrors `tokenizer(text, add_special_tokens=...).input_ids` for one string:
        tokenize -> ids -> InternLM2Tokenizer.build_inputs_with_special_tokens (BOS only)."""
        ids = self.convert_tokens_to_ids(self.tokenize(text))
        if add_special_tokens:
            ids = [self.bos_token_id] + ids
        return ids

    __call__ = encode

    def decode(self, ids, skip_special_tokens=True):
        """Mirrors transformers 4.33 PreTrainedTokenizer._decode with InternLM2Tokenizer's
        convert_tokens_to_string: drop special ids (0, 1, 2) when asked, sentencepiece-decode runs of
        ordinary pieces, emit kept special tokens literally (with the upstream ' ' before a special
        token that follows ordinary text), then clean_up_tokenization. The upstream
        `_maybe_add_prefix_space` always prepends a space (it tests a piece against a set of ids) and
        `[1:]` removes it again, so it is a no-op here."""
        ids = [int(i) for i in ids]
        if skip_special_tokens:
            ids = [i for i in ids if i not in self.all_special_ids]
        tokens = [self.sp_model.id_to_piece(i) for i in ids]
        out = ""
        current = []
        prev_is_special = False
        for tok in tokens:
            if tok in self.all_special_tokens:
                if not prev_is_special:
                    out += " "
                out += self.sp_model.decode(current) + tok
                prev_is_special = True
                current = []
            else:
                current.append(tok)
                prev_is_special = False
        out += self.sp_model.decode(current)
        out = clean_up_tokenization(out)
        out = " " + out
        return out[1:]
