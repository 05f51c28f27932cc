"""What one llama.cpp context's KV cache holds, and the ways a prompt gets into it.

The tokens the cache holds are listed in order (:attr:`KVCache.tokens`), so a request
that shares a prefix with the last one evaluates only what follows it
(:meth:`KVCache.reuse`); one that is the cached tokens with a span taken out (a chat
whose oldest turns left the context) has the later part shifted back instead of
evaluated again (:meth:`KVCache.shift`); a prompt's system part comes from its file
where evaluated system prompts are kept on disk (:meth:`KVCache.load_prefix`,
:mod:`quill.engine.prefix`); and the rest is evaluated in batches that Ctrl-C can stop
within one graph node (:meth:`KVCache.eval`). The token loops
(:mod:`quill.engine.steps`) extend and cut :attr:`KVCache.tokens` as they decode.
"""

from __future__ import annotations

import logging
from typing import Any

from quill.engine.prefix import PrefixCache
from quill.engine.reuse import MIN_SHIFT, find_shift
from quill.signals import ABORT

__all__ = ["N_BATCH", "KVCache"]

N_BATCH = 512  # tokens a prompt is evaluated in at once (and the context's batch sizes)

log = logging.getLogger("quill.llama")


def _abort_requested(_data: object) -> bool:
    """llama.cpp's abort callback: called by its compute loop (in the main thread)
    between graph nodes while a prompt is evaluated; a signal's handler runs just before
    it and raises the flag (see :mod:`quill.signals`)."""
    return ABORT.raised


class KVCache:
    """The KV cache of the context ``ctx`` (llama-cpp-python's bindings ``lc``)."""

    def __init__(self, lc: Any, ctx: Any, prefixes: PrefixCache | None = None) -> None:
        self.lc = lc
        self.ctx = ctx
        self.mem = lc.llama_get_memory(ctx)
        self.can_shift = bool(lc.llama_memory_can_shift(self.mem))
        self.tokens: list[int] = []  # what the cache holds, in order
        self.prefixes = prefixes  # evaluated system prompts on disk, or None
        self._abort_cb = lc.ggml_abort_callback(_abort_requested)
        self._no_abort_cb = lc.ggml_abort_callback()  # NULL: nothing to call

    def eval(self, tokens: list[int]) -> bool:
        """Evaluate tokens after what the cache holds, in batches of N_BATCH. Returns
        False when a signal aborted it: the cache then holds the batches done before.

        While a :class:`~quill.signals.SignalFlag` is in place, llama.cpp's abort
        callback is installed for the prompt (not for the one-token steps after it), so
        Ctrl-C stops a long prompt within one graph node rather than a whole batch.
        """
        lc = self.lc
        abortable = ABORT.listening > 0
        if abortable:
            lc.llama_set_abort_callback(self.ctx, self._abort_cb, None)
            ABORT.armed = True
        try:
            for start in range(0, len(tokens), N_BATCH):
                if abortable and ABORT.raised:  # a GPU backend may never call the callback
                    return False
                chunk = tokens[start : start + N_BATCH]
                arr = (lc.llama_token * len(chunk))(*chunk)
                rc = lc.llama_decode(self.ctx, lc.llama_batch_get_one(arr, len(chunk)))
                if rc == 2:  # aborted: drop whatever the decode left after the known part
                    if not lc.llama_memory_seq_rm(self.mem, 0, len(self.tokens), -1):
                        lc.llama_memory_clear(self.mem, True)
                        self.tokens.clear()
                    return False
                if rc != 0:
                    from quill.errors import BackendError

                    raise BackendError(f"llama_decode failed (code {rc})")
                self.tokens.extend(chunk)
        finally:
            if abortable:
                ABORT.armed = False
                lc.llama_set_abort_callback(self.ctx, self._no_abort_cb, None)
        return True

    def load_prefix(self, tokens: list[int]) -> int:
        """Into an empty KV cache: the cells of a prompt's system part, ``tokens``,
        from their file where prefixes are kept on disk; else evaluated on their own (and
        saved), so the cells, and the text after them, are the same whether a file was
        there or not. Returns how many tokens were loaded (0 where they were evaluated)."""
        cache = self.prefixes
        if cache is not None and cache.load(self.lc, self.ctx, tokens):
            self.tokens[:] = tokens
            return len(tokens)
        if self.eval(tokens) and self.tokens == tokens and cache is not None:
            cache.save(self.lc, self.ctx, tokens)
        return 0

    def reuse(self, prompt: list[int]) -> int:
        """Keep what the KV cache holds of ``prompt``; drop the rest. Returns how many
        leading tokens of ``prompt`` are in the cache now.

        The shared prefix is kept. Where the prompt goes on with a later part of the
        cache (the oldest turns of a chat left the context: ``cached[:a] + cached[b:]``),
        that part is shifted back over the removed span instead of being evaluated again.
        """
        lc, mem = self.lc, self.mem
        cached = self.tokens
        limit = len(prompt) - 1  # the last token is always evaluated (for its logits)
        a = 0
        top = min(len(cached), limit)
        while a < top and cached[a] == prompt[a]:
            a += 1
        if self.can_shift and a < len(cached) and a < limit:
            b, k = find_shift(cached, prompt, a, limit)
            if k >= MIN_SHIFT and self.shift(a, b, k):
                return a + k
        # Always trim: a signal landing between llama_decode and the bookkeeping can leave
        # the cache holding a token that `tokens` does not list.
        if not lc.llama_memory_seq_rm(mem, 0, a, -1):
            lc.llama_memory_clear(mem, True)
            a = 0
        del self.tokens[a:]
        return a

    def shift(self, a: int, b: int, k: int) -> bool:
        """Drop cache positions [a, b) and what follows b + k; move [b, b + k) to a."""
        lc, mem = self.lc, self.mem
        if not (lc.llama_memory_seq_rm(mem, 0, b + k, -1) and lc.llama_memory_seq_rm(mem, 0, a, b)):
            lc.llama_memory_clear(mem, True)
            self.tokens.clear()
            return False
        lc.llama_memory_seq_add(mem, 0, b, b + k, a - b)
        self.tokens[:] = self.tokens[:a] + self.tokens[b : b + k]
        log.debug("KV cache: kept %d tokens, shifted %d back by %d", a, k, b - a)
        return True

    def clear(self) -> None:
        """Forget everything: the next prompt is evaluated in full."""
        self.lc.llama_memory_clear(self.mem, True)
        self.tokens.clear()
