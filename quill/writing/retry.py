"""Check, then retry or repair: a result is scored before anyone reads it.

A generation is run to the end, its text checked (by :mod:`quill.writing.metrics` and
the verb's own checks, see :mod:`quill.writing.verbcheck`), and one that fails is
regenerated with the next seed, at most ``retries`` times, or repaired (a preamble
trimmed, say) where a repair makes it pass. ``n`` > 1 is best-of-N: N tries, the best
kept. The :class:`Outcome` says what happened, in one line, for the command's closing
report.

:func:`best_of` works on any "run with these sampling settings" callable (a verb's part,
a draft, a summary's final step); :func:`checked` wraps it as a
:class:`~quill.engine.generation.Generation`, so a checked part streams through the
same :class:`~quill.writing.chain.Chain` and terminal loop as an unchecked one (its text
comes out whole, once it has passed). :class:`Tally` gathers the outcomes of many parts
into one line.

Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from quill.engine.base import Piece, Result, Sampling, StopRequested
from quill.engine.generation import Generation
from quill.signals import ABORT
from quill.writing.chain import Chain, sum_stats

RETRIES = 2  # a failed result is regenerated at most this many times
RETRY_TEMPERATURE = 0.5  # at least this on a retry: at temperature 0 a new seed changes nothing
RETRY_DRY = 0.8  # the DRY multiplier of a retry (llama.cpp's suggested value; see Sampling.dry)


@dataclass(frozen=True)
class Verdict:
    """What a check found: ``problems`` (empty: it passes), and a ``penalty`` that ranks
    results (0 is best; soft faults that do not fail a result still add to it)."""

    problems: tuple[str, ...] = ()
    penalty: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def rank(self) -> float:
        return self.penalty + (0.0 if self.ok else 1000.0)


PASS = Verdict()
Check = Callable[[str], Verdict]
Repair = Callable[[str], str]


@dataclass
class Attempt:
    text: str
    result: Result
    verdict: Verdict
    seed: int | None
    repaired: str = ""  # what a repair did ("a preamble trimmed"), "" when none


@dataclass
class Outcome:
    attempts: list[Attempt]
    chosen: Attempt
    n: int = 1  # best-of

    @property
    def text(self) -> str:
        return self.chosen.text

    @property
    def tries(self) -> int:
        return len(self.attempts)

    @property
    def action(self) -> str:
        """passed, retried, best-of, trimmed, failed or interrupted."""
        if self.interrupted:
            return "interrupted"
        if not self.chosen.verdict.ok:
            return "failed"
        if self.chosen.repaired:
            return "trimmed"
        if self.n > 1:
            return "best-of"
        return "passed" if self.tries == 1 else "retried"

    @property
    def interrupted(self) -> bool:
        """Stopped by Ctrl-C or SIGTERM while the last try was written."""
        return self.attempts[-1].result.finish == "interrupted"

    def result(self) -> Result:
        """The chosen text with the stats of every try summed (their cost is real);
        finished "interrupted" where the last try was, whichever try was kept."""
        stats = sum_stats(a.result.stats for a in self.attempts)
        finish = "interrupted" if self.interrupted else self.chosen.result.finish
        return replace(
            self.chosen.result, text=self.chosen.text, finish=finish, stats=stats, note=self.note()
        )

    def note(self) -> str:
        """One line for the report ("" when the first try passed as it was)."""
        action = self.action
        first = self.attempts[0].verdict
        if action == "interrupted" and self.chosen is not self.attempts[-1]:
            k = self.attempts.index(self.chosen) + 1
            return f"interrupted while try {self.tries} was written; kept try {k}, which is whole"
        if action in ("passed", "interrupted"):
            return ""
        if action == "retried":
            return f"retried with seed {self.chosen.seed}: the first try {_faults(first)}"
        if action == "trimmed":
            return f"trimmed: {self.chosen.repaired}"
        if action == "best-of":
            return f"kept the best of {self.tries} tries (seed {self.chosen.seed})"
        tries = f"{self.tries} tries" if self.tries > 1 else "one try"
        return f"checked, still failing after {tries}: it {_faults(self.chosen.verdict)}"


def _faults(v: Verdict) -> str:
    return "; ".join(v.problems[:3]) if v.problems else "scored lower"


def retry_params(params: Sampling, k: int) -> Sampling:
    """The settings of try ``k`` (0 is the first): the next seed, a temperature of at
    least RETRY_TEMPERATURE so that the new seed can change the text, and the DRY
    sampler at RETRY_DRY or more: a try that failed has often looped over its own
    sentences or list items, and the retry is kept from doing it again."""
    if k == 0:
        return params
    seed = (params.seed if params.seed is not None else 0) + k
    return params.with_(
        seed=seed,
        temperature=max(params.temperature, RETRY_TEMPERATURE),
        dry=max(params.dry, RETRY_DRY),
    )


def best_of(
    run: Callable[[Sampling], Result],
    check: Check,
    params: Sampling,
    *,
    n: int = 1,
    retries: int = RETRIES,
    repair: Repair | None = None,
    tidy: Repair | None = None,
) -> Outcome:
    """Run ``run`` with ``params`` (then with the next seeds) until a result passes
    ``check``: ``n`` tries at least (best-of-N), and at most ``retries`` more while none
    has passed. A result that fails is first given to ``repair`` (which returns a fixed
    text, or the same text when it cannot help); the repaired text is kept where it
    ranks better. ``tidy`` shapes every text before it is checked (not a repair: it is
    not reported). Returns every try and the best one (passing first, then the lowest
    penalty, then the earliest); where the last try was interrupted (Ctrl-C), the best
    whole try that passed, or else what the interrupted try wrote."""
    n = max(1, n)
    attempts: list[Attempt] = []
    for k in range(n + max(0, retries)):
        p = retry_params(params, k)
        r = run(p)
        if tidy is not None:
            r = replace(r, text=tidy(r.text))
        att = Attempt(r.text, r, check(r.text), p.seed)
        if not att.verdict.ok and repair is not None:
            fixed = repair(r.text)
            if fixed.strip() and fixed != r.text:
                verdict = check(fixed)
                if verdict.rank() < att.verdict.rank():
                    att = Attempt(fixed, r, verdict, p.seed, _what_changed(r.text, fixed))
        attempts.append(att)
        if r.finish == "interrupted":
            break
        if k + 1 >= n and any(a.verdict.ok for a in attempts):
            break
    chosen = min(attempts, key=lambda a: a.verdict.rank())
    if attempts[-1].result.finish == "interrupted":  # a whole try that passed, else the part
        whole = [a for a in attempts[:-1] if a.verdict.ok]
        chosen = min(whole, key=lambda a: a.verdict.rank()) if whole else attempts[-1]
    return Outcome(attempts, chosen, n)


def _what_changed(before: str, after: str) -> str:
    if after.strip() and before.strip().endswith(after.strip()):
        return "an opening that was not part of the text was dropped"
    if after.strip() and before.strip().startswith(after.strip()):
        return "a closing that was not part of the text was dropped"
    return "marks that did not belong to the text were removed"


def run_generation(gen: Generation) -> Result:
    """Run a generation to the end, or until Ctrl-C or SIGTERM raises the abort flag
    (then it stops at the next piece, its text kept); its Result."""
    for _ in gen:
        if ABORT.raised:
            gen.stop("interrupted")
            break
    return gen.close()


@dataclass
class Tally:
    """The outcomes of many checked parts, for one line in the closing report."""

    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def note(self) -> str:
        if len(self.outcomes) == 1:
            return self.outcomes[0].note()
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.action] = counts.get(o.action, 0) + 1
        done = [f"{counts[a]} {a}" for a in ("retried", "trimmed", "best-of") if a in counts]
        failed = [o for o in self.outcomes if o.action == "failed"]
        if not done and not failed:
            return ""
        line = f"checked {len(self.outcomes)} parts"
        if done:
            line += ": " + ", ".join(done)
        if failed:
            line += f"; {len(failed)} still failing (it {_faults(failed[0].chosen.verdict)})"
        return line


def checked(
    start: Callable[[Sampling], Generation],
    check: Check,
    params: Sampling,
    *,
    n: int = 1,
    retries: int = RETRIES,
    repair: Repair | None = None,
    tally: Tally | None = None,
    tidy: Repair | None = None,
    what: str = "text",
    quiet_best_of: bool = False,
) -> Generation:
    """A Generation whose text is the best of ``start(params)`` and its retries (see
    :func:`best_of`), given out whole once chosen. Its note says what the check did,
    unless a ``tally`` collects the outcome instead; ``quiet_best_of``: not that it kept
    the best of N (a command that always writes N, unasked, says nothing of it)."""

    in_flight: list[Generation] = []
    whole: list[str] = []  # the texts of tries that ran to their end
    tries: dict[int | None, Generation] = {}  # each try, by its seed: its filters' note
    # and the token limit it ran under (a part's own)

    def run(p: Sampling) -> Result:
        gen = start(p)
        in_flight[:] = [gen]
        result = run_generation(gen)
        tries[p.seed] = gen
        if result.finish != "interrupted":
            whole.append(tidy(result.text) if tidy is not None else result.text)
        return result

    def pieces() -> Iterator[Piece]:
        try:
            outcome = best_of(run, check, params, n=n, retries=retries, repair=repair, tidy=tidy)
        except KeyboardInterrupt:  # Ctrl-C in a try: a whole try that passed is kept,
            verdicts = [(check(t), t) for t in whole]  # else what this one wrote so far
            passed = [(v.rank(), t) for v, t in verdicts if v.ok]
            kept = min(passed, key=lambda rt: rt[0])[1] if passed else ""
            kept = kept or ("".join(in_flight[0].parts) if in_flight else "")
            if kept:
                yield Piece(kept)
            raise
        r = outcome.result()
        chosen = tries.get(outcome.chosen.seed)
        own = chosen.filter_note if chosen is not None else ""
        said = r.note
        if quiet_best_of and outcome.action == "best-of":  # said only where the first failed
            first = outcome.attempts[0].verdict
            seed = outcome.chosen.seed
            said = "" if first.ok else f"retried with seed {seed}: the first try {_faults(first)}"
        note = "; ".join(x for x in (own, said) if x)
        if tally is not None:
            tally.add(outcome)
            note = ""
        if chosen is not None:  # "stopped at the limit of N tokens": the try's own N
            out.params = out.params.with_(max_tokens=chosen.params.max_tokens)
        try:
            yield Piece(r.text, r.finish, r.stats, note)
        except StopRequested as stop:  # asked to stop as the text came out: it is whole
            yield Piece("", stop.reason, r.stats)  # type: ignore[arg-type]

    out = Generation(pieces(), params, what=what)
    return out


class CheckedChain(Chain):
    """A Chain of checked parts whose closing note also says what the checks did."""

    def __init__(self, *args: object, tally: Tally, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.tally = tally

    def close(self) -> Result:
        if self.result is None:
            line = self.tally.note()
            if line:
                self.step_notes.append(line)
        return super().close()
