"""Which cells of the KV cache a new prompt can keep: after the shared prefix, a later
run of the cache that the prompt goes on with (the oldest turns of a chat left the
context: ``cached[:a] + cached[b:]``) is shifted back over the removed span instead of
being evaluated again (:meth:`quill.engine.llama.LlamaEngine._reuse`)."""

from __future__ import annotations

MIN_SHIFT = 16  # a kept span shorter than this is evaluated again rather than shifted


def find_shift(cached: list[int], prompt: list[int], a: int, limit: int) -> tuple[int, int]:
    """The longest run ``cached[b:b+k] == prompt[a:a+k]`` with ``b > a`` and ``a + k <=
    limit``: the prompt is the cache with ``cached[a:b]`` taken out. Returns (b, k),
    k = 0 when there is none."""
    best_b, best_k = 0, 0
    if a >= limit or a >= len(cached):
        return 0, 0
    first = prompt[a]
    for b in range(a + 1, len(cached)):
        if cached[b] != first:
            continue
        hi = min(len(cached) - b, limit - a)  # binary search on the matching length
        lo = 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if cached[b : b + mid] == prompt[a : a + mid]:
                lo = mid
            else:
                hi = mid - 1
        if lo > best_k:
            best_b, best_k = b, lo
    return best_b, best_k
