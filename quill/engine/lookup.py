"""Prompt-lookup decoding: draft the next tokens by copying them from the context.

Copy-heavy work (proofread, rewrite, shorten, continue, summaries) reproduces long
stretches of its input. When the last few tokens of the text so far also occur earlier
in the prompt (or in what was generated), the tokens that followed them there are a
good guess for what comes next. The engine evaluates that guess in one batched decode
and keeps the longest run the sampler would have picked anyway (see
:func:`quill.engine.steps.lookup_steps`), so the output is the model's own; only the
number of decodes changes.

:class:`Drafter` keeps, for each n-gram size, where each n-gram last occurred, updated
as tokens are appended (no rescans). A draft continues the previous draft's source while
the text keeps following it (the copy of a sentence runs on), else comes from the most
recent earlier occurrence of the longest matching n-gram, looked for first from
``focus`` on (the last message, which the reply copies: a proofread sentence's "We"
after the template's "assistant" had matched the example reply "We walked along the
harbour" four tokens long, where the sentence itself, two tokens long, was right).
Where the model replaced the token a draft proposed (a correction: " knows" for
" know"), the next draft tries the source after that token once ("every regular by
name"), rather than waiting two tokens for an n-gram to match again. A
draft stops before an end-of-generation token (``is_end``): nothing after it is needed,
and the end is sampled at that position anyway. It backs off where drafts keep
failing (free writing that only now and then repeats a phrase): after each draft that
was rejected outright the next one waits a few more tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

NGRAM_SIZES = (4, 3, 2)  # the longest match first; a single token is too weak a cue
# Tokens drafted at most per step (the engine's default). On a CPU a check is not free:
# on 2 cores, checking 6 tokens costs 3.3 single decodes of the 1.5B, and 8 to 11 cost
# 5.8 to 6.8 (benchmarks/check_cost.py); with drafts of up to 5 instead of 10, proofread
# ran 1.18 times as fast as plain decoding on the 1.5B (1.07 at 15) and 1.28 on the 0.5B
# (1.16 at 10) (benchmarks/lookup_bench.py, docs/speed.md).
DEFAULT_DRAFT = 5
FIRST_DRAFT = 4  # a first draft's length at most; doubled while drafts are accepted whole
BACKOFF_MAX = 16  # tokens to wait at most after drafts that failed in a row


class Drafter:
    """The n-gram index over ``tokens`` (the prompt), grown with :meth:`append`."""

    def __init__(
        self,
        tokens: Iterable[int],
        sizes: tuple[int, ...] = NGRAM_SIZES,
        *,
        focus: int = 0,
        is_end: Callable[[int], bool] | None = None,
    ) -> None:
        self.tokens: list[int] = list(tokens)
        self.sizes = tuple(sorted(sizes, reverse=True))
        self.focus = focus  # where the last message starts: matches from here on come first
        self.is_end = is_end
        self._seen: dict[int, dict[tuple[int, ...], int]] = {n: {} for n in self.sizes}
        for end in range(1, len(self.tokens)):
            self._index(end)
        self._src = -1  # where the last draft was copied from
        self._src_at = 0  # len(tokens) when it was drafted
        self._resync = False  # the last draft failed at a token: try the source after it
        self._guess = False  # the last draft was such a try
        self._wait = 0  # tokens to go before the next draft (backing off)
        self._fails = 0  # drafts rejected outright in a row
        self._size = FIRST_DRAFT  # the next draft's length at most (grows while accepted)
        self.drafts = 0  # drafts proposed
        self.drafted = 0  # tokens proposed
        self.accepted = 0  # tokens accepted

    def _index(self, end: int) -> None:
        """Record the n-grams that end just before position ``end`` (which holds the
        token that followed them)."""
        toks = self.tokens
        for n, seen in self._seen.items():
            if end >= n:
                seen[tuple(toks[end - n : end])] = end

    def append(self, token: int) -> None:
        self._index(len(self.tokens))
        self.tokens.append(token)
        if self._wait:
            self._wait -= 1

    def extend(self, tokens: Iterable[int]) -> None:
        for t in tokens:
            self.append(t)

    def draft(self, limit: int) -> list[int]:
        """Up to ``limit`` tokens that may come next; [] when nothing matches."""
        limit = min(limit, self._size)
        if limit <= 0 or self._wait:
            return []
        toks = self.tokens
        end = len(toks)
        start = -1
        guess = False
        # the previous draft's source, where the text still follows it
        if self._src >= 0:
            at = self._src + (end - self._src_at)
            if 2 <= at < end and toks[at - 2 : at] == toks[end - 2 :]:
                start = at
            elif self._resync and at < end:
                start = at  # the token sampled replaced the one drafted: go on after it
                guess = True
        self._resync = False
        if start < 0:
            start = self._match(self.focus)
        if start < 0 < self.focus:
            start = self._match(0)
        if start < 0:
            return []
        out = toks[start : min(start + limit, end)]
        if self.is_end is not None:
            for i, t in enumerate(out):
                if self.is_end(t):
                    out = out[:i]
                    break
        self._guess = guess
        if out:
            self._src, self._src_at = start, end
            self.drafts += 1
            self.drafted += len(out)
        return out

    def _match(self, since: int) -> int:
        """Where the longest n-gram that ends the text last occurred at or after
        ``since`` (the position of the token that followed it), or -1."""
        toks = self.tokens
        end = len(toks)
        for n in self.sizes:
            if end > n:
                found = self._seen[n].get(tuple(toks[end - n :]))
                if found is not None and found >= since:
                    return found
        return -1

    def verdict(self, proposed: int, accepted: int) -> None:
        """How a draft of ``proposed`` tokens fared. Each drafted token costs a share of a
        decode (on 2 CPU cores a check of 6 tokens takes about three times one token's
        time: benchmarks/check_cost.py), so the length follows the acceptance: doubled
        after a draft accepted whole, the accepted part plus one after a partial one;
        after outright rejections in a row, a pause of 2, 4, 8… tokens without a draft."""
        self.accepted += accepted
        if accepted == proposed:
            self._size = min(64, self._size * 2)
        elif accepted:
            self._size = max(2, accepted + 1)
        else:
            self._size = max(2, self._size // 2)
        if accepted:
            self._fails = 0
            self._resync = accepted < proposed
            return
        self._fails += 1
        self._resync = self._fails == 1 and not self._guess  # one guess, not a chain
        if not self._resync:
            self._src = -1
        self._wait = min(BACKOFF_MAX, 1 << (self._fails - 1)) if self._fails > 1 else 0


def last_message_start(tokens: list[int], is_control: Callable[[int], bool], least: int = 4) -> int:
    """Where the prompt's last message starts: the start of its last run of at least
    ``least`` tokens between control tokens (a chat template's turn markers; the runs
    after the last message, such as ChatML's "\\n" and "assistant\\n", are shorter). 0
    where there is none (a prompt without turn markers)."""
    run_end = len(tokens)
    for i in range(len(tokens) - 1, -1, -1):
        if is_control(tokens[i]):
            if run_end - (i + 1) >= least:
                return i + 1
            run_end = i
    return 0
