"""The checked runs of `quill rewrite` and `quill titles` (translate's is in
:mod:`quill.writing.translate`).

A rewrite is cut into parts like every verb's text (code blocks pass through); each
part's rewrite is checked before it is shown (:func:`check_rewrite`: not a refusal, the
register of the tone asked for, the names, numbers and dates of the part kept, the
project's metrics) and regenerated with another seed when it fails, or trimmed (the
marks of a casual register taken out of a formal one) where that makes it pass.

Titles are cleaned (numbering, hashtags, emoji, a trailing explanation removed) and
counted; when fewer than N distinct titles are left, the model is asked again with
another seed and the new ones are added.

Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from quill.engine.base import Engine, Message, Piece, Result, Sampling, StopRequested
from quill.engine.generation import Generation, generate
from quill.engine.length import words
from quill.writing import titlecheck as tc
from quill.writing import verbcheck as vc
from quill.writing.chain import sum_stats, trim, untag
from quill.writing.cleanup import strip_commentary, unwrap_fence
from quill.writing.language import detect_language, is_cjk
from quill.writing.retry import (
    RETRIES,
    CheckedChain,
    Tally,
    Verdict,
    checked,
    retry_params,
    run_generation,
)
from quill.writing.verbs import (
    Part,
    RewriteOptions,
    chained,
    part_budget,
    plan_parts,
    rewrite_expansion,
)

# -- rewrite ----------------------------------------------------------------------------

LENGTH_RANGE = {"shorter": (0.15, 1.0), "longer": (1.1, 5.0), "": (0.4, 3.0)}
# the length a sized rewrite aims at, in the source's words ("about half", "about twice")
SIZED = {"shorter": 0.5, "longer": 2.0}
LONGER_FLOOR = 1.3  # a --longer text may not end before this times its source's words
# --shorter works on parts of at most this many tokens (a few paragraphs): given a whole
# 257-word article, the 1.5B copied its first paragraphs out and stopped at the length
# (three tries on seed 0). Five texts, seeds 0 and 1 (docs/writing.md): openings cut
# short 3 of 10 whole, 2 of 10 at 200 tokens, none at 120, where fewer of the texts'
# facts were kept (0.81 against 0.91 at 200)
SHORTER_PART_TOKENS = 200
SHORTER_MAY_DROP = 1 / 3  # the share of the source's facts a shortened text may leave out


def check_rewrite(core: str, opts: RewriteOptions) -> Callable[[str], Verdict]:
    """The check of one part's rewrite (see the module's docstring)."""
    facts = vc.source_facts(core)
    lang = opts.lang or detect_language(core)
    # half the length is less detail: a shortened text may leave out some of the names,
    # numbers and dates (the try that keeps the most is still preferred); the 1.5B's
    # well-made half of a 330-word article dropped "Saturday" and an "8 p.m." in all
    # three tries, and was printed with a warning after writing it three times
    allowed = int(len(facts) * SHORTER_MAY_DROP) if opts.length == "shorter" else 0

    def check(text: str) -> Verdict:
        problems: list[str] = []
        said = vc.refusal(text, core)
        if said:
            problems.append(f'refuses ("{said}")')
        register, penalty = vc.register_problems(text, core, opts.tone)
        problems += register
        missing = vc.missing_facts(text, facts)
        if len(missing) > allowed:
            problems.append("drops " + ", ".join(missing[:5]))
        penalty += len(missing)
        # a rewrite may restructure and restress; its links and code must survive
        lost = vc.markdown_lost(text, core)
        stress = ("drops bold", "drops strikethrough")
        problems += [x for x in lost if x != vc.SHAPE_CHANGED and not x.startswith(stress)]
        problems += vc.metric_problems(
            text, source=core, lang=lang, length=LENGTH_RANGE[opts.length or ""]
        )
        if opts.tone and " ".join(text.split()) == " ".join(core.split()):
            problems.append("is the text unchanged")
        if opts.length == "shorter" and vc.is_cut_opening(text, core):
            problems.append("is the text's opening, cut short")
        return Verdict(tuple(problems), penalty + len(problems))

    return check


_OPENING_GREETING = re.compile(
    r"^(?:hey|hiya|hi|yo|sup|howdy)\b[^,.!?\n]{0,24}[,.!?]+[ \t]*(?:\n\s*)?", re.I
)
_ZH_PARTICLE_END = re.compile(r"[呀啦哈哦嘛咯哟噢嘞呗]+(?=[\s，。！？,.!?~～]|$)")


_ZH_CASUAL_ADDRESS = re.compile(r"(?:各位)?(?:小伙伴|家人|兄弟|宝子|亲)们")


def formal_marks_removed(text: str) -> str:
    """A formal text without the marks of a casual one that can go without rewording:
    emoji, a greeting like "Hey team," at the start, runs of "!!" (and "!" itself),
    Chinese sentence particles, a chatty address ("小伙伴们", "家人们": "各位") and "～"."""
    t = "".join(c for c in text if c not in vc.emoji_in(text) and c not in "\ufe0f\u200d")
    t = _OPENING_GREETING.sub("", t.lstrip())
    t = re.sub(r"[!！]+[?？!！]*", lambda m: "。" if "！" in m.group(0) else ".", t)
    t = _ZH_PARTICLE_END.sub("", t)
    t = _ZH_CASUAL_ADDRESS.sub("各位", t)  # "各位小伙伴们，" is "各位，" in a notice
    t = re.sub(r"[～~]+", "，", t)
    t = re.sub(r"，([。！？])", r"\1", t)
    t = re.sub(r"^各位[。.]", "各位，", t)
    t = re.sub(r"[ \t]+\n", "\n", t).strip()
    t = re.sub(r"，$", "。", t)  # a "～" that ended the text ended a sentence
    return t[:1].upper() + t[1:] if t else t


def rewrite_chain(
    engine: Engine,
    params: Sampling,
    text: str,
    build: Callable[[str], list[Message]],
    opts: RewriteOptions,
    *,
    max_tokens: int | None = None,
    n: int = 1,
    retries: int = RETRIES,
) -> CheckedChain:
    """The rewrite of ``text`` as one stream: ``build(part)`` gives a part's messages;
    each part is checked and retried or trimmed where it fails; the closing note says
    what the checks did."""
    expansion = rewrite_expansion(opts)
    overhead = engine.count_messages(build(""))
    budget = part_budget(engine, overhead, expansion)
    if opts.length == "shorter":
        budget = min(budget, SHORTER_PART_TOKENS)
    parts = plan_parts(text, engine.count, budget, keep_code=True)
    tally = Tally()
    formal = (opts.tone or "").lower() in vc.FORMAL_TONES

    def start(part: Part) -> Generation:
        core = part.core
        limit = max_tokens or int(part.tokens * expansion) + 64
        msgs = build(core)
        # --longer and --shorter end near their length as a draft with --words does
        # (quill.engine.sampler.Shaper): asked for twice its 48 words, a paragraph ran on
        # to its token limit, and ended mid-sentence, in all three tries
        size = words(core)
        aim = round(size * SIZED.get(opts.length or "", 0))
        # and --longer may not end before it is longer than its source: the 1.5B's
        # first try at a 65-character casual Chinese message was the message again
        floor = round(size * LONGER_FLOOR) if opts.length == "longer" else 0

        def once(p: Sampling) -> Generation:
            tidy = [unwrap_fence, untag("text", core), strip_commentary, trim]
            sized = p.with_(
                max_tokens=max(limit, 16), end_after=aim if aim >= 8 else 0, min_words=floor
            )
            return generate(engine, msgs, sized, transforms=tidy)

        return checked(
            once,
            check_rewrite(core, opts),
            params,
            n=n,
            retries=retries,
            repair=formal_marks_removed if formal else None,
            tidy=str.strip,
            tally=tally,
            what="rewrite",
        )

    return CheckedChain(chained(parts, start), params, what="rewrite", tally=tally)


# -- titles --------------------------------------------------------------------------------


def titles_generation(
    engine: Engine,
    msgs: list[Message],
    params: Sampling,
    n: int,
    *,
    retries: int = RETRIES,
    lang: str | None = None,
) -> Generation:
    """N distinct clean titles, one a line: the model's lines cleaned
    (:func:`~quill.writing.verbcheck.clean_title`), and asked again with the next
    seed, at most ``retries`` times, while fewer than N are left. A title in another
    script than ``lang`` (default: the text's language) does not count."""

    want = lang or detect_language(msgs[-1].content.split("</text>", 1)[0])

    def pieces() -> Iterator[Piece]:
        got: list[str] = []
        keys: set[str] = set()
        results: list[Result] = []
        trimmed: list[str] = []
        for k in range(1 + max(0, retries)):
            r = run_generation(generate(engine, msgs, retry_params(params, k)))
            results.append(r)
            for line in r.text.splitlines():
                if not line.strip():
                    continue
                faults = tc.title_faults(tc.strip_numbering(line).strip("*_"))
                title = tc.clean_title(line)
                key = tc.title_key(title)
                if not title or not key or key in keys or tc.title_faults(title):
                    continue
                if not _in_language(title, want):
                    continue
                trimmed += [f for f in faults if f not in trimmed]
                keys.add(key)
                got.append(title)
            if len(got) >= n or r.finish == "interrupted":
                break
        last = results[-1]
        notes = []
        if len(got) < n:
            tries = f" in {len(results)} tries" if len(results) > 1 else ""
            notes.append(f"the model gave {len(got)} titles, not {n}{tries}")
        elif len(results) > 1:
            notes.append(f"asked again with seed {retry_params(params, len(results) - 1).seed}")
        if trimmed:
            notes.append("trimmed: " + ", ".join(trimmed))
        text = "".join(t + "\n" for t in got[:n])
        stats = sum_stats(r.stats for r in results)
        try:
            yield Piece(text, last.finish, stats, "; ".join(notes))
        except StopRequested as stop:
            yield Piece("", stop.reason, stats)  # type: ignore[arg-type]

    return Generation(pieces(), params, what="titles")


def _in_language(title: str, lang: str | None) -> bool:
    """Whether a title is in the script of ``lang`` (CJK or not; other languages are not
    told apart on a few words)."""
    if lang is None:
        return True
    cjk = sum(1 for c in title if "\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af")
    letters = sum(1 for c in title if c.isalpha())
    if is_cjk(lang):
        return cjk > 0 and cjk >= letters / 2
    return cjk == 0
