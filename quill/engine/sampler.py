"""How the llama engine picks each token: the llama.cpp sampler chain of a request
(:func:`chain`) and the choice of the first token after a prefill's seam
(:func:`first_token`). Both work on llama-cpp-python's low-level module (``lc``) and the
model's vocabulary; :class:`quill.engine.llama.LlamaEngine` owns the context they read.
"""

from __future__ import annotations

import array
import ctypes
import heapq
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from quill.engine.base import Sampling
from quill.engine.length import CJK, WordCount

GREEDY_TOP_K = 40  # candidates greedy decoding looks at (see chain)
DRY_BASE, DRY_ALLOWED = 1.75, 2  # the DRY sampler's settings, llama.cpp's defaults
DRY_BREAKERS = (b"\n", b":", b'"', b"*")
LEAD_CANDIDATES = 64  # the first token after a prefill's seam is chosen among this many


def chain(lc: Any, vocab: Any, n_ctx: int, p: Sampling) -> Any:
    """The sampler chain for one request.

    Top-k runs first: every later step then sees 40-odd candidates instead of the
    whole vocabulary. With a 152k-token vocabulary, measured on this project's CPU,
    a chain with the repetition penalty first costs 1.2 ms per token and with top-k
    first 0.27 ms; plain greedy over the whole vocabulary costs 0.5 ms. At GPU speeds
    (a few ms per token) that difference is a quarter of the time. Greedy decoding
    keeps its top-k cut too (the most likely token is always among the top 40).
    """
    out = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    add = lc.llama_sampler_chain_add
    if p.grammar:  # first: a later top-k cut could keep no token the grammar allows
        grammar = lc.llama_sampler_init_grammar(vocab, p.grammar.encode(), b"root")
        if not grammar:
            lc.llama_sampler_free(out)
            from quill.errors import BackendError

            raise BackendError("llama.cpp could not parse the output grammar")
        add(out, grammar)
    greedy = p.temperature <= 0
    top_k = GREEDY_TOP_K if greedy and p.top_k <= 0 else p.top_k
    if top_k > 0:
        add(out, lc.llama_sampler_init_top_k(top_k))
    if p.repeat_penalty and p.repeat_penalty != 1.0:
        n_vocab = lc.llama_vocab_n_tokens(vocab)
        add(
            out,
            lc.llama_sampler_init_penalties(n_vocab, p.repeat_last_n, p.repeat_penalty, 0.0, 0.0),
        )
    if p.dry > 0:
        add(out, dry(lc, vocab, n_ctx, p.dry))
    if greedy:
        add(out, lc.llama_sampler_init_greedy())
        return out
    if p.top_p < 1.0:
        add(out, lc.llama_sampler_init_top_p(p.top_p, 1))
    if p.min_p > 0:
        add(out, lc.llama_sampler_init_min_p(p.min_p, 1))
    add(out, lc.llama_sampler_init_temp(p.temperature))
    seed = p.seed if p.seed is not None else 0xFFFFFFFF  # LLAMA_DEFAULT_SEED: random
    add(out, lc.llama_sampler_init_dist(seed & 0xFFFFFFFF))
    return out


def dry(lc: Any, vocab: Any, n_ctx: int, multiplier: float) -> Any:
    """The DRY sampler over what the reply wrote: a run longer than DRY_ALLOWED tokens
    that repeats an earlier one costs the token that would extend it ``multiplier`` ×
    DRY_BASE^(excess) in logits; a line break, colon, quote or asterisk ends a run
    (llama.cpp's own defaults). It looks back over the whole context, ``n_ctx`` (this
    llama.cpp reads a last_n of -1 as 0, which turns it off)."""
    breakers = (ctypes.c_char_p * len(DRY_BREAKERS))(*DRY_BREAKERS)
    return lc.llama_sampler_init_dry(
        vocab, multiplier, DRY_BASE, DRY_ALLOWED, n_ctx, breakers, len(DRY_BREAKERS)
    )


def first_token(
    lc: Any,
    ctx: Any,
    vocab: Any,
    sampler: Any,
    lead: str,
    params: Sampling,
    piece: Callable[[int], bytes],
    *,
    titled: bool = False,
) -> int:
    """The first token, sampled by ``sampler``; with a ``lead``, the most likely of the
    LEAD_CANDIDATES whose text (``piece``) begins with it (at temperature 0), or one of
    them drawn by their probabilities at the request's temperature and seed; the token
    is then passed to ``sampler`` as if it had sampled it. Where none of them begins
    with the lead, ``sampler`` samples freely. ``titled``: the lead is followed by a
    title, which does not begin with a small letter: after "# " the 1.5B began 4 of 12
    titles for "a product page for a linen shirt" in lower case, and each went on as a
    hashtag ("linen-shirt #quality #comfortable", "linenShirt"); begun in capitals,
    none did."""
    if not lead:
        if params.not_first:
            _rule_out_openers(lc, ctx, vocab, params.not_first, piece)
        return int(lc.llama_sampler_sample(sampler, ctx, -1))
    top, logits = _top(lc, ctx, vocab)
    want = lead.encode()
    allowed = [t for t in top if piece(t).startswith(want)]
    if titled:
        allowed = [t for t in allowed if not piece(t)[len(want) : len(want) + 1].islower()]
    if not allowed:
        return int(lc.llama_sampler_sample(sampler, ctx, -1))
    tok = allowed[0]
    if params.temperature > 0:
        z = [logits[t] / params.temperature for t in allowed]
        weights = [math.exp(v - z[0]) for v in z]  # z[0] is the largest
        tok = random.Random(params.seed).choices(allowed, weights=weights)[0]
    lc.llama_sampler_accept(sampler, tok)
    return tok


def _top(lc: Any, ctx: Any, vocab: Any) -> tuple[list[int], array.array[float]]:
    """The LEAD_CANDIDATES likeliest tokens of the last position, and its logits. The
    row is copied out as an array of floats: numpy would cost a draft's start its import
    (0.05 s or more), for a choice among 64 that takes 0.01 s without it."""
    n_vocab = lc.llama_vocab_n_tokens(vocab)
    logits = array.array("f")
    logits.frombytes(ctypes.string_at(lc.llama_get_logits_ith(ctx, -1), 4 * n_vocab))
    return heapq.nlargest(LEAD_CANDIDATES, range(n_vocab), key=logits.__getitem__), logits


def opens_with(text: str, words: tuple[str, ...]) -> bool:
    """``text`` (spaces aside) is one of ``words``, or one followed by a mark or a space."""
    t = text.lstrip()
    return any(t == w or (t.startswith(w) and not t[len(w)].isalnum()) for w in words)


def _rule_out_openers(
    lc: Any, ctx: Any, vocab: Any, words: tuple[str, ...], piece: Callable[[int], bytes]
) -> None:
    """Sampling.not_first: of the likeliest first tokens, those that open with one of
    ``words`` are ruled out, in the row the chain samples from."""
    top, _ = _top(lc, ctx, vocab)
    row = lc.llama_get_logits_ith(ctx, -1)
    for t in top:
        if opens_with(piece(t).decode("utf-8", "ignore"), words):
            row[t] = -math.inf


# -- shaping: logits changed before the chain samples ------------------------------

# What a line of prose may begin with: a word (letters, digits, CJK) or an opening
# quote. Everything else is ruled out at a line's start: list bullets of any kind
# ("-", "•", "①", "✅"), headings, tables, quotes, fences, escapes. After a number at a
# line's start, only a word, a digit, "%" or "," may follow: "1." "1-" "1\\." "1️⃣"
# "一、" are list numbers, "2024年" and "3 million" are not.
OPENING_QUOTES = frozenset("\"“‘「『《'")
AFTER_NUMBER = frozenset("%")
COLONS = (b":", "：".encode())  # a line ending in one is a list's lead-in
_NOT_WORDS = re.compile(rb"[\d\s.)\]:*#>|-]*")  # a line with no word in it yet
_CN_NUMERALS = frozenset("一二三四五六七八九十".encode()[i : i + 3] for i in range(0, 30, 3))
# Past END_START × the length asked (in words), the end of the reply gains END_PUSH
# logits per length asked, after each sentence: +3.6 at the length asked, +13 at 1.4 times.
END_START, END_PUSH = 0.85, 24.0
# Past END_HARD × the length asked, the reply ends at its next sentence end whatever the
# model would rather write: the 0.5B's product pages ran on to 1.7-1.9 times the words
# asked through lists whose every item is a sentence, against pushes of +24 logits.
# Counted in words, most of the 0.5B's drafts still ran to this end and a sentence past
# it: at 1.3 they came to 1.29 times the words asked, 0.43 of them within ±35%; at 1.15,
# 1.15 times and all 16 within (tune half, seed 0: draft-tune-0.5b-words*.json).
END_HARD = 1.15
END_FORCED = 1e30  # logits: more than any a model gives, so the chain keeps only the end
# A sentence ends with its last token: where a reply past its length may end
SENTENCE_ENDS = tuple(m.encode() for m in (".", "!", "?", "。", "！", "？", "…", '"', "”", "」"))


@dataclass
class Bans:
    """Token ids, by what they would write: ``start``, a line's first token that does not
    begin a word or a quotation (a list item, heading, table row, quote, fence…);
    ``number``, the token after a number at a line's start that makes it a list number;
    ``inside``, a token that carries a line break followed by such a start, or after a
    colon (banned everywhere in prose); ``breaks``, the other tokens that carry a line
    break (banned after a colon: "Key findings include:" then a line break is how a
    list begins); ``closing``, those of ``breaks`` that end a sentence too ("。\n",
    ".\n\n")."""

    start: Any
    number: Any
    inside: Any
    breaks: Any
    closing: Any


def _first_char(b: bytes) -> str | None:
    """The first character ``b`` writes, or None where its bytes are a character's
    start only (a byte-level token)."""
    if not b:
        return None
    lead = b[0]
    if lead < 0x80:
        return chr(lead)
    if lead < 0xC0 or lead >= 0xF8:  # a continuation byte starts no character
        return None
    size = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4  # as the lead byte says
    try:
        return b[:size].decode("utf-8") if len(b) >= size else None
    except UnicodeDecodeError:
        return None


def _begins_a_word(b: bytes, also: frozenset[str], digits: bool = True) -> bool:
    ch = _first_char(b)
    if ch is None:  # part of a character: a CJK ideograph's first bytes are a word's
        return 0xE4 <= b[0] <= 0xE9
    if ch.isdigit():
        return digits
    return ch.isalnum() or ch in also


def bans(n_vocab: int, piece: Callable[[int], bytes]) -> Bans:
    """Scan the vocabulary once (about a second for 150k tokens)."""
    import numpy as np

    start, number, inside, breaks, closing = [], [], [], [], []
    for t in range(n_vocab):
        b = piece(t)
        if not b:
            continue
        head = b.lstrip(b" \t")
        if head.strip() and not _begins_a_word(head, OPENING_QUOTES, digits=False):
            start.append(t)
        spaced = b.startswith(b" ")
        rest = b.lstrip(b" ")
        if rest and not _begins_a_word(rest, frozenset() if spaced else AFTER_NUMBER):
            number.append(t)
        if b"\n" in b:
            before, after = b.split(b"\n", 1)[0], b.rsplit(b"\n", 1)[1].lstrip(b" \t")
            opens = bool(after) and not _begins_a_word(after, OPENING_QUOTES, digits=False)
            if opens or before.rstrip().endswith(COLONS):  # ":\n" is a list's lead-in
                inside.append(t)
            else:
                breaks.append(t)
                if before.rstrip().endswith(SENTENCE_ENDS):
                    closing.append(t)
    as_ids = lambda ids: np.array(ids, dtype=np.int64)  # noqa: E731
    return Bans(as_ids(start), as_ids(number), as_ids(inside), as_ids(breaks), as_ids(closing))


# Where a word is about to begin in a CJK reply (Sampling.native), the likeliest NATIVE_TOP
# tokens are looked at, and those that begin a word in small Latin letters the prompt
# does not have are ruled out (the chain samples from its top 40 at most).
NATIVE_TOP = 48
_CJK_MARK = re.compile(f"[{CJK}\u3000-\u303f\uff00-\uffef]")  # ideographs, kana, CJK marks
_LATIN_START = re.compile(rb" ?([a-z][a-z]*)")


class Shaper:
    """Changes a position's logits before the chain samples it, from what the reply has
    written so far (:meth:`push`): in prose (``Sampling.prose``), the tokens that would
    begin a list item, heading, table or quote at a line's start are ruled out; once the
    reply nears its length (``Sampling.end_after`` words), the end-of-generation tokens
    gain logits after each sentence's last token, more with every word written
    (END_PUSH), so the model ends at the first sentence where ending is likely enough
    instead of running on to the token limit, and past END_HARD × the length it ends at
    the next sentence end; inside a sentence the end is never pushed. Before
    ``Sampling.min_words`` words the end-of-generation tokens are ruled out, and a
    reply that would have ended there goes on in its paragraph. Lengths are
    counted in words as the reply is written (:class:`quill.engine.length.WordCount`),
    whatever the tokenizer. In a CJK reply (``Sampling.native``) a word that begins after
    a CJK character may not begin in small Latin letters the prompt does not have.
    Nothing is changed while none of these applies."""

    def __init__(
        self,
        lc: Any,
        ctx: Any,
        n_vocab: int,
        ends: Callable[[], list[int]],
        params: Sampling,
        bans: Bans | None,
        piece: Callable[[int], bytes],
        *,
        continuing: bool = False,
        controls: Callable[[], list[int]] | None = None,
        prompt_text: bytes = b"",
    ) -> None:
        # the end-of-generation tokens, asked for only when first needed: finding them
        # scans the vocabulary (56 ms for Qwen's), which a draft with --words need not
        # pay before its first token
        self.lc, self.ctx, self.n_vocab, self.end_tokens = lc, ctx, n_vocab, ends
        # the floor rules these out: every control token, not only the ends. Held from
        # ending, the 0.5B opened a new turn instead (<|im_start|>, then "You are a
        # Qwen created by Alibaba Cloud…"), which ends the reply as surely
        self.held_tokens = controls or ends
        self.bans = bans if params.prose else None
        # under a floor, any reply held from ending goes on in its paragraph: held after
        # an expansion that was its source again, the 0.5B went on with the prompt's
        # "</text>" and "Requirements:" on lines of their own
        self.hold = bans if params.min_words > 0 else None
        self.end_after = max(0, params.end_after)
        self.min_words = max(0, params.min_words)
        self.piece = piece
        self.length = WordCount()  # the reply's words so far
        self.boundary = False  # the last token ended a sentence
        self.colon = False  # the current line ends with a colon
        self.line = b"x" if continuing else b""  # the current line (a prefill began one)
        # Sampling.native: the prompt's words in small Latin letters, and the reply's
        # last bytes (a word begins after a CJK character, or a space after one)
        self.native = params.native
        self.known = b" ".join(re.findall(rb"[a-z]+", prompt_text.lower())) if self.native else b""
        self.tail = b""

    def push(self, tok: int) -> None:
        b = self.piece(tok)
        if self.native:
            self.tail = (self.tail + b)[-8:]
        if self.end_after or self.min_words:
            self.length.add(b)
        # the line this token ends a sentence of, if it does; a list's number ("3.")
        # alone on its line is no sentence
        head = (self.line + b).rstrip()
        said = head.rsplit(b"\n", 1)[-1].strip()
        self.boundary = head.endswith(SENTENCE_ENDS) and not _NOT_WORDS.fullmatch(said)
        if b"\n" in b:
            self.line = b.rsplit(b"\n", 1)[1]
            self.colon = self.line.rstrip(b" \t").endswith(COLONS)
        else:
            if len(self.line) < 16:  # enough to tell a list's start from a sentence
                self.line += b
            if b.strip(b" \t"):  # the line's last word, however long the line
                self.colon = b.rstrip(b" \t").endswith(COLONS)

    def _go_on_in_the_paragraph(self, row: Any, bans: Bans) -> None:
        """Where a reply under its floor would end (an end is its likeliest token; in
        prose, after a sentence), it goes on in its paragraph: no line break may come
        next. A model held from ending after its last sentence starts something new on
        a line of its own, and what it starts is no part of the piece: the 1.5B wrote
        "from Qwen" and blank lines, or a "Question: … Answer: …" pair, under a finished
        summary, and the 0.5B the prompt's "</text>" and "Requirements:" under an
        expansion. So that the rule sees the end of every sentence, a sentence's last
        mark and a line break come as two tokens here, never as one ("。" then "\n", not
        "。\n"): the text is the same."""
        row[bans.closing] = -math.inf
        # prose is held after a sentence; other text wherever it would end (the 0.5B's
        # expansion wanted to end after "么么哒", with no mark)
        at_end = self.boundary or self.bans is None
        if at_end and max(row[t] for t in self.end_tokens()) >= row.max():
            row[bans.breaks] = -math.inf
            row[bans.inside] = -math.inf
            # nor may it start something new on the same line: held after a finished
            # summary, the 1.5B wrote " # " and the document's title, then its opening
            row[bans.start] = -math.inf

    def _after_cjk(self) -> bool:
        """Whether a word would begin here after a CJK character (or a space after one)."""
        text = self.tail.decode("utf-8", "ignore")
        tail = text.rstrip(" ")
        return bool(tail) and len(text) - len(tail) <= 1 and bool(_CJK_MARK.match(tail[-1]))

    def _rule_out_latin(self, row: Any) -> None:
        """Sampling.native: of the likeliest tokens, rule out those that begin a word in
        small Latin letters the prompt does not have."""
        import numpy as np

        for t in np.argpartition(row, -NATIVE_TOP)[-NATIVE_TOP:]:
            m = _LATIN_START.match(self.piece(int(t)))
            if m is not None and m.group(1) not in self.known:
                row[t] = -math.inf

    def apply(self, idx: int) -> None:
        """Shape the logits at batch index ``idx`` (-1: the last)."""
        logits = self.lc.llama_get_logits_ith(self.ctx, idx)
        row = None  # the logits as an array, for the rules that rule out sets of tokens
        if self.bans is not None or self.hold is not None or self.native:
            import numpy as np

            row = np.ctypeslib.as_array(logits, shape=(self.n_vocab,))
        if self.native and self._after_cjk():
            self._rule_out_latin(row)
        bans = self.bans
        written = self.length.words
        if written < self.min_words:
            if self.hold is not None:
                self._go_on_in_the_paragraph(row, self.hold)
            for t in self.held_tokens():
                logits[t] = -math.inf
        start = END_START * self.end_after
        if self.end_after and written > start and self.boundary:
            push = END_PUSH * (written - start) / self.end_after
            if written >= END_HARD * self.end_after:
                push = END_FORCED
            for t in self.end_tokens():
                logits[t] += push
        if bans is None:
            return
        assert row is not None
        row[bans.inside] = -math.inf
        line = self.line
        if self.colon:
            row[bans.breaks] = -math.inf
        if not line.strip(b" \t"):
            row[bans.start] = -math.inf
        elif _is_number(line.strip(b" \t")):
            row[bans.number] = -math.inf


def _is_number(b: bytes) -> bool:
    """``b`` is a list's number: up to three digits, or one or two Chinese numerals."""
    if b.isdigit():
        return len(b) <= 3
    return len(b) in (3, 6) and all(b[i : i + 3] in _CN_NUMERALS for i in range(0, len(b), 3))
