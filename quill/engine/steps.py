"""The token loops of :class:`quill.engine.llama.LlamaEngine`, after the prompt is in the
KV cache: :func:`plain_steps` (one decode per token) and :func:`lookup_steps`
(prompt-lookup decoding, :mod:`quill.engine.lookup`). Both are generators of the sampled
tokens over llama-cpp-python's low-level module ``lc``, and keep ``tokens`` (the
engine's list of what the KV cache holds) in step with the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from quill.engine.base import Stats
from quill.engine.lookup import Drafter, last_message_start
from quill.engine.sampler import Shaper
from quill.errors import BackendError

__all__ = ["decode_failed", "lookup_steps", "plain_steps"]


def plain_steps(
    lc: Any,
    ctx: Any,
    mem: Any,
    tokens: list[int],
    chain: Any,
    first: Callable[[], int],
    shape: Shaper | None,
) -> Iterator[int]:
    """The sampled tokens, one decode per token. A token is evaluated (so that the
    next can be sampled) only when the next one is asked for. ``first`` samples the first
    token; each token evaluated is appended to ``tokens``."""
    one = (lc.llama_token * 1)()
    tok = first()
    while True:
        yield tok
        if shape is not None:
            shape.push(tok)
        tok = _next(lc, ctx, mem, one, tok, tokens, chain, shape)


def _next(
    lc: Any,
    ctx: Any,
    mem: Any,
    one: Any,
    tok: int,
    tokens: list[int],
    chain: Any,
    shape: Shaper | None,
) -> int:
    """Evaluate ``tok`` alone (``one``: a one-token buffer) and sample the token after
    it; where the decode fails, the cache is trimmed back to ``tokens``
    (:func:`decode_failed`)."""
    pos = len(tokens)
    one[0] = tok
    rc = lc.llama_decode(ctx, lc.llama_batch_get_one(one, 1))
    if rc != 0:
        decode_failed(lc, mem, tokens, rc, pos)
    tokens.append(tok)
    if shape is not None:
        shape.apply(-1)
    return int(lc.llama_sampler_sample(chain, ctx, -1))


def lookup_steps(
    lc: Any,
    ctx: Any,
    mem: Any,
    vocab: Any,
    tokens: list[int],
    chain: Any,
    first: Callable[[], int],
    prompt: list[int],
    most: int,
    budget: int,
    stats: Stats,
    shape: Shaper | None,
) -> Iterator[int]:
    """The sampled tokens, with prompt-lookup decoding (see :mod:`quill.engine.lookup`).

    After each token, up to ``most`` tokens copied from the context are drafted and
    evaluated together with it in one batch, with logits at every position. The
    sampler chain then samples each position in order, exactly as plain decoding
    would (the same chain, the same accepted tokens, the same random draws): while
    the sample equals the drafted token the next position's logits are the ones plain
    decoding would have computed, so the next sample is taken there; at the first
    sample that differs (or after the last draft) the run ends, with that sample as
    the next token. Drafted tokens after the run are removed from the KV cache. The
    output is the model's own, token for token; only the decodes are fewer.
    """
    sample, decode, is_eog = lc.llama_sampler_sample, lc.llama_decode, lc.llama_vocab_is_eog
    one = (lc.llama_token * 1)()

    def is_end(t: int) -> bool:
        return bool(is_eog(vocab, t))

    def is_control(t: int) -> bool:
        return bool(is_eog(vocab, t) or lc.llama_vocab_is_control(vocab, t))

    drafter = Drafter(prompt, focus=last_message_start(prompt, is_control), is_end=is_end)
    batch = lc.llama_batch_init(most + 1, 0, 1)
    try:
        tok = first()
        produced = 1
        while True:
            yield tok
            drafter.append(tok)
            if shape is not None:
                shape.push(tok)
            draft = drafter.draft(min(most, budget - produced - 1))
            if not draft:
                tok = _next(lc, ctx, mem, one, tok, tokens, chain, shape)
                produced += 1
                continue
            pos = len(tokens)
            n = len(draft) + 1
            batch.n_tokens = n
            for j, t in enumerate((tok, *draft)):
                batch.token[j] = t
                batch.pos[j] = pos + j
                batch.n_seq_id[j] = 1
                batch.seq_id[j][0] = 0
                batch.logits[j] = 1
            rc = decode(ctx, batch)
            if rc != 0:
                decode_failed(lc, mem, tokens, rc, pos)
            picked: list[int] = []
            for j in range(n):
                if shape is not None:
                    shape.apply(j)
                s = sample(chain, ctx, j)
                picked.append(s)
                if j == n - 1 or s != draft[j] or is_eog(vocab, s):
                    break
                if shape is not None:
                    shape.push(s)
            kept = len(picked) - 1  # drafted tokens that were what the sampler picked
            # forget the rejected drafts' cache entries
            if kept < len(draft) and not lc.llama_memory_seq_rm(mem, 0, pos + 1 + kept, -1):
                decode_failed(lc, mem, tokens, -1, pos)
            tokens.append(tok)
            tokens.extend(draft[:kept])
            drafter.verdict(len(draft), kept)
            stats.drafted_tokens += len(draft)
            stats.accepted_tokens += kept
            produced += len(picked)
            for s in picked[:-1]:
                yield s
                drafter.append(s)
            tok = picked[-1]
    finally:
        lc.llama_batch_free(batch)


def decode_failed(lc: Any, mem: Any, tokens: list[int], rc: int, pos: int) -> None:
    """A decode failed: the cache keeps the first ``pos`` tokens (or nothing, where it
    cannot be trimmed), so that it holds what ``tokens`` lists, and BackendError."""
    if not lc.llama_memory_seq_rm(mem, 0, pos, -1):
        lc.llama_memory_clear(mem, True)
        tokens.clear()
    else:
        del tokens[pos:]
    raise BackendError(f"llama_decode failed (code {rc})")
