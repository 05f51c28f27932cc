"""`quill draft`: a first draft from a brief."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from quill import prompts
from quill.engine.base import Message, Piece, Result, Sampling
from quill.engine.generation import Generation
from quill.engine.length import CJK_CHARS_PER_WORD
from quill.engine.loop import pass_on
from quill.errors import InputError, UsageError
from quill.writing.cleanup import Transform, draft_filters, sentence_gate
from quill.writing.language import detect_language, is_cjk
from quill.writing.retry import RETRIES, Check, Outcome, Verdict, best_of, checked

DEFAULT_MAX_TOKENS = 1024


def forms(user_dir: Path | None = None) -> dict[str, str]:
    return dict(prompts.load("draft", user_dir)["forms"])


# A length the brief itself asks for ("about 80 words", "a 300-word post", "500字左右"),
# which `quill draft` reads as --words where that is not given: the 1.5B wrote 190 words
# for "a product description for noise-cancelling headphones, about 80 words".
# A count of words that are the piece's matter is not its length: "a list of 20 words".
_BRIEF_WORDS = re.compile(
    r"(?<![\d.,])(?<!list of )(?<!set of )(\d{1,3}(?:,\d{3})+|\d{2,5})(?:\s*-\s*|\s+)words?\b",
    re.I,
)
_BRIEF_CHARS = re.compile(r"(?<![\d.,])(\d{2,5})\s*个?字(?![母节符])")
BRIEF_WORDS_RANGE = (10, 5000)


# What a draft may not begin with (Sampling.not_first): the words that open talk about
# the request instead of the piece. The 0.5B, seed 2, began a coworking FAQ "Sure! I'd be
# happy to help you write a FAQ section… Could you please provide me with some
# information", and a meeting agenda "Sure! Below is a meeting agenda…".
TALK_OPENERS = ("Sure", "Certainly", "Absolutely", "Okay", "当然", "好的", "以下", "以下是")


def words_in_brief(brief: str | None) -> int | None:
    """The length in words that ``brief`` asks for, or None: "about 80 words" is 80, a
    range the larger number ("100-150 words"), a Chinese count of characters ("300字")
    in words (CJK_CHARS_PER_WORD characters a word)."""
    if not brief:
        return None
    n: float
    m = _BRIEF_WORDS.search(brief)
    if m:
        n = int(m.group(1).replace(",", ""))
    elif m := _BRIEF_CHARS.search(brief):
        n = int(m.group(1)) / CJK_CHARS_PER_WORD
    else:
        return None
    low, high = BRIEF_WORDS_RANGE
    return round(n) if low <= n <= high else None


def max_tokens_for(words: int | None) -> int:
    """A finite budget that leaves room for the requested length (CJK runs ~1.5 tok/char)."""
    if words is None:
        return DEFAULT_MAX_TOKENS
    return max(128, int(words * 2.2) + 64)


def piece_language(brief: str, lang: str | None = None) -> str | None:
    """The language a draft of ``brief`` is written in: ``lang`` where given, else the
    brief's own (:func:`brief_language`)."""
    return lang or brief_language(brief)


def brief_language(brief: str) -> str | None:
    """The language a brief is written in: by its words where it is long enough to tell,
    else by its script alone for Chinese and Japanese ("写一首短诗" is too short for
    :func:`detect_language`, but its script says enough)."""
    lang = detect_language(brief)
    if lang is not None:
        return lang
    kana = sum("\u3040" <= ch <= "\u30ff" for ch in brief)
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in brief)
    latin = sum(ch.isascii() and ch.isalpha() for ch in brief)
    if kana:
        return "Japanese"
    if han >= 2 and han >= latin:
        return "Chinese"
    return None


_VERBS_TEXT = """write draft create compose make give tell describe explain summarize summarise
list generate produce prepare help turn rewrite announce invite thank apologize apologise
introduce ask invent imagine design outline plan pitch pen craft put let send"""
_VERBS = frozenset(_VERBS_TEXT.split())
_ZH_VERB = re.compile(r"^(?:请|帮|为|给|替|用|把|将|介绍|描述|创作|编写|撰写|讲)|写")


# The form a brief names, where --form is not given: "a product page for a linen shirt"
# is a product page. In the order they are tried; the earliest match in the brief wins
# ("a blog post about our new product page" is a blog post).
_FORM_CUES: tuple[tuple[str, str], ...] = (
    ("news", r"\bnews (?:story|article|item|report|piece)\b|\bpress release\b|新闻|通讯稿"),
    (
        "product",
        r"\bproduct (?:page|description|listing)\b|产品(?:页|介绍|描述)|商品(?:页|详情|介绍)",
    ),
    ("announcement", r"\bannouncement\b|\bnotice\b|通知|公告"),
    ("speech", r"\b(?:speech|toast|eulogy)\b|演讲|致辞|讲话稿|发言稿"),
    ("review", r"\breviews?\b|评测|测评|点评|书评|影评"),
    ("blog", r"\bblog(?: post)?\b|博客|博文"),
    ("email", r"\be-?mail\b|\bnewsletter\b|邮件"),
    (
        "post",
        r"\b(?:linkedin|twitter|facebook|instagram|threads|mastodon|bluesky|social(?:[- ]media)?)"
        r"\s+(?:post|update|thread)s?\b|\btweets?\b|朋友圈|微博|小红书",
    ),
    ("poem", r"\b(?:poem|haiku|sonnet|limerick|verse)s?\b|诗"),
    ("script", r"\b(?:script|screenplay|skit)\b|剧本"),
    ("marketing", r"\b(?:marketing copy|ad copy|advert(?:isement)?|landing page)\b|广告|文案"),
    ("story", r"\b(?:short )?(?:story|fable|tale)\b|故事|小说"),
    ("article", r"\barticle\b|文章"),
)


def infer_form(brief: str, known: dict[str, Any] | None = None) -> str | None:
    """The form ``brief`` names (one of ``known``, the prompt file's [forms]), or None;
    an announcement where an English brief names none and is a statement of news ("the
    library will stay open until 10 pm", :func:`is_statement`)."""
    best: tuple[int, str] | None = None
    for form, cue in _FORM_CUES:
        if known is not None and form not in known:
            continue
        m = re.search(cue, brief, re.I)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), form)
    if best:
        return best[1]
    if (known is None or "announcement" in known) and not _has_cjk(brief[:10]):
        return "announcement" if is_statement(brief) else None
    return None


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _as_request(brief: str, write: str, announce: str = "") -> str:
    """The brief as a request: "a poem about tea" -> "Write a poem about tea."; a brief
    that starts with a verb of its own ("tell our customers…") stays as it is; a brief
    that is a statement of news ("the library will stay open until 10 pm") is put after
    ``announce`` ("Write an announcement: "), where the prompt file has one: after
    "Write " alone the 1.5B answered it with the statement again, one sentence long."""
    words = brief.split()
    cjk = _has_cjk(brief[:10])
    if cjk:
        needs = _ZH_VERB.search(brief[:10]) is None
    else:
        needs = bool(words) and words[0].lower().strip(",.:;!") not in _VERBS
    if not needs:
        text = brief
    elif announce and not cjk and is_statement(brief):
        text = announce + brief
    else:
        text = write + brief
    return (
        text
        if text.endswith((".", "!", "?", "。", "！", "？", ":", "："))
        else text + ("。" if write == "写" else ".")
    )


# A brief that starts as a noun phrase naming the piece ("a poem…", "three tips…").
_PIECE_START_TEXT = "a an one two three four five six seven eight nine ten some"
_PIECE_START = frozenset(_PIECE_START_TEXT.split())
_DETERMINERS_TEXT = "the a an our my your their its his her this these those"
_DETERMINERS = frozenset(_DETERMINERS_TEXT.split())
# A finite verb in the brief's first clause makes it a statement: an auxiliary, or a
# word in -s/-ed after a word that is not a determiner, followed by what starts its
# object or a time ("our bakery opens a second shop", "the market reopens on Friday").
_AUXILIARY = re.compile(
    r"\b(?:is|are|was|were|will|would|can|could|should|must|has|have|had|does|did|"
    r"isn't|aren't|won't|can't|doesn't|don't|didn't|wasn't|weren't|hasn't|haven't)\b"
    r"|\b\w+'ll\b",
    re.I,
)
# Words that start a phrase or clause of a noun phrase's own: a verb after one of them
# ("tips for parents whose kids are…") is not the brief's.
_SUBORDINATE_TEXT = """who whose whom which that when where why how what whether if because
while although though for about of with to like as than"""
_SUBORDINATE = frozenset(_SUBORDINATE_TEXT.split())
_OBJECT_START = re.compile(r"^(?:a|an|the|its|their|our|his|her|this|next|live|\d\S*)$", re.I)
_TIME_PREPOSITIONS = frozenset(("on", "at", "in", "until", "from"))
_TIME_OR_NAME = re.compile(r"^(?:\d|the$|next$|this$|[A-Z])")  # "on Friday", "in 2027"
# Verbs that news is told with, and that are seldom nouns: after one of them (in -s or
# -ed) any of _AFTER_NEWS_VERB makes a statement too ("the city pool closes for repairs
# from July 1", "the team welcomes two new engineers"), where after a plural noun it
# would not ("tips for parents", "weekend plans for families").
_NEWS_VERBS_TEXT = """open reopen close shut move relocate host begin join welcome celebrate
announce cancel postpone resume expand hire unveil introduce extend go come stay reach"""
_NEWS_VERBS = frozenset(
    w + e for w in _NEWS_VERBS_TEXT.split() for e in ("s", "es", "d", "ed", "ped", "ned", "ted")
)
_AFTER_NEWS_VERB_TEXT = """for to after with until from through during due again early today
tomorrow tonight temporarily permanently two three four five six seven eight nine ten"""
_AFTER_NEWS_VERB = frozenset(_AFTER_NEWS_VERB_TEXT.split())


def is_statement(brief: str) -> bool:
    """Whether an English brief reads as a statement of news rather than as the piece
    it asks for: "the library will stay open until 10 pm", "Northfield Hospital opens a
    new wing on June 12", against "a poem about tea", "marketing copy for a bakery" or
    "tips for parents whose kids are starting school". Only its first clause (before a
    colon or a dash) is read, and in it the verb must come before any word that starts
    a phrase or clause of its own ("for", "whose", "why"…)."""
    clause = re.split(r"[:;—–]| - ", brief, maxsplit=1)[0]
    words = clause.split()
    if not words or words[0].lower() in _PIECE_START or words[0][0].isdigit():
        return False
    if words[0].lower() in _SUBORDINATE:  # "how our team…", "why remote work is…"
        return False
    head = next(
        (i for i, w in enumerate(words) if i and w.lower().strip(",") in _SUBORDINATE),
        len(words),
    )
    if _AUXILIARY.search(" ".join(words[:head])):
        return True
    for i in range(1, min(head, len(words) - 1)):
        w, before, after = words[i], words[i - 1].lower(), words[i + 1]
        if before in _DETERMINERS or not re.fullmatch(r"[a-z]+(?:s|ed)", w) or w.endswith("ss"):
            continue
        if (
            _OBJECT_START.match(after)
            or (w in _NEWS_VERBS and after in _AFTER_NEWS_VERB)
            or (
                after.lower() in _TIME_PREPOSITIONS
                and i + 2 < len(words)
                and _TIME_OR_NAME.match(words[i + 2])
            )
        ):
            return True
    return False


def _table(p: dict[str, Any], lang: str | None) -> dict[str, Any]:
    """The prompts in ``lang`` where the prompt file has them, else the English ones."""
    native = p.get("native", {})
    if lang not in native:
        return p
    out = dict(p)
    for key, value in native[lang].items():
        out[key] = {**p[key], **value} if isinstance(value, dict) and key in p else value
    return out


def build_messages(
    brief: str | None,
    material: str | None = None,
    *,
    form: str | None = None,
    tone: str | None = None,
    words: int | None = None,
    lang: str | None = None,
    user_dir: Path | None = None,
) -> list[Message]:
    """The prompt for a draft. ``brief`` is the instruction, ``material`` what it works on.

    The prompt says what to write and how it should read, and nothing about the reply
    itself: a small model repeats such instructions back ("This piece is written in the
    same language as the brief…"), and a list of parts comes back as labels
    ("Headline:"). The form is shown rather than described: where the prompt file has
    an opening for it ([openings]: "# ", "Subject: "), the messages end with an
    assistant message holding it, the reply begun for the model to continue (see
    :func:`opening`). The prompt is written in the language of the piece where the
    prompt file has that language (Chinese) and the brief is written in it, so a
    Chinese brief gets a Chinese draft unasked; a piece in another language than its
    brief's is asked for by name ("Write it in Chinese.")."""
    brief = (brief or "").strip()
    material = (material or "").strip()
    if not brief and not material:
        raise InputError(
            "nothing to draft: the brief is empty",
            hint='pass a brief: quill draft "a product page for a linen shirt"',
        )
    if not brief:  # only stdin: it is the brief
        brief, material = material, ""
    p = prompts.load("draft", user_dir)
    if form is not None and form not in p["forms"]:
        raise UsageError(f"unknown form `{form}`", hint="choose one of: " + ", ".join(p["forms"]))
    if form is None:  # the form the brief names, if any: its shape helps a small model
        form = infer_form(brief, p["forms"])
    if words is not None and words < 1:
        raise UsageError("--words must be at least 1")
    detected = brief_language(brief)
    writes_in = lang or detected
    # the prompt is in the piece's language where the file has it and the brief is in
    # it too; another language is asked for by name in the file's own prompt: an
    # English brief wrapped in the Chinese prompt ("写a short welcome note…。") came
    # back in English on one seed of two, and asked "Write it in Chinese." on none of 3
    t = _table(p, writes_in) if writes_in == detected else p
    req = t["requirements"]
    reqs = []
    if tone:
        reqs.append(prompts.render(req["tone"], tone=tone))
    if words:
        if is_cjk(writes_in):
            reqs.append(prompts.render(req["cjk"], n=str(round(words * CJK_CHARS_PER_WORD))))
        else:
            reqs.append(prompts.render(req["words"], n=str(words)))
    if t is p and writes_in and (lang is not None or writes_in != "English"):
        reqs.append(prompts.render(req["lang"], lang=writes_in))  # a translation has none
    shape = ""
    if form:
        shape = t["forms"][form].strip()
        if not shape.endswith((".", "。")):  # a form of the older kind: a noun phrase
            shape = prompts.render(t.get("shape", "Shape it as $form."), form=shape)
    mark = "\x00material\x00"  # the writer's material goes in last, untouched
    user = prompts.render(
        t["user"],
        brief=_as_request(brief, t.get("write", "Write "), t.get("announce", "")),
        material=mark,
        form=shape,
        requirements=" ".join(reqs),
    )
    user = "\n".join(ln if mark in ln else ln.strip() for ln in user.split("\n"))
    if not material:
        user = user.replace(mark, "")
    user = re.sub(r"\n{3,}", "\n\n", user).strip()
    if material:
        user = user.replace(mark, prompts.render(t["material"], text=material).strip())
    out = [Message("system", t["system"].strip()), Message("user", user)]
    start = t.get("openings", {}).get(form, "") if form else ""
    if start:  # the reply begun for the model: it continues the piece from its opening
        out.append(Message("assistant", start))
    return out


def filters(
    messages: list[Message], max_tokens: int | None = None, check: Check | None = None
) -> list[Transform]:
    """The stream filters for a draft asked with ``messages``: the opening written for
    the model goes first (see :func:`quill.writing.cleanup.draft_filters`). With
    ``max_tokens``, a draft that reaches it is trimmed back to its last complete
    sentence; with ``check``, the final piece's note says what the check found (the
    draft streams as it is written: nothing is held for it)."""
    # The gate holds text only over the last tokens of the budget (a quarter of a small
    # one), so a draft streams from its first word.
    hold = min(48, max(4, max_tokens // 4)) if max_tokens else 0
    out = [sentence_gate(max_tokens, hold, keep_lone=True)] if max_tokens else []
    asked = "\n".join(m.content for m in messages if m.role == "user")
    out += draft_filters(opening(messages), asked)
    if check is not None:
        out.append(noting(check))
    return out


def noting(check: Check) -> Transform:
    """A transform that passes a stream on as it comes and, on its final piece, notes
    the problems ``check`` finds in the whole text (for the closing report)."""

    def note(pieces: Iterator[Piece]) -> Iterator[Piece]:
        seen: list[str] = []
        for piece in pieces:
            seen.append(piece.text)
            if piece.finish is not None:
                problems = check("".join(seen)).problems
                if problems and piece.finish != "interrupted":
                    line = "check: the draft " + "; ".join(problems)
                    note = f"{piece.note}; {line}" if piece.note else line
                    piece = Piece(piece.text, piece.finish, piece.stats, note)
                yield piece
                return
            if piece.text and (yield from pass_on(piece, pieces)):
                return

    return note


def opening(messages: list[Message]) -> str:
    """The start of the reply written for the model (a prefill: "# ", "Subject: "), or
    "": the printed draft begins with it, and the engine's stream continues it."""
    return messages[-1].content if messages and messages[-1].role == "assistant" else ""


# -- check, then retry ----------------------------------------------------------------

LENGTH_RANGE = (0.4, 2.0)  # of the length asked: outside it, a draft fails its check
REPEATED_4GRAMS = 0.2  # more of the draft's 4-grams already seen than this: it loops


def check(
    text: str, *, lang: str | None = None, words: int | None = None, form: str | None = None
) -> list[str]:
    """What is wrong with a finished draft, by the project's own measures
    (:mod:`quill.writing.metrics`), as short phrases for a report line; [] when nothing
    is: talk about the brief or about the piece's own shape, labels naming its parts,
    no complete ending (cut at the token limit, or in a loop), another language than
    ``lang``, a length far from ``words``, repetition. A poem (``form``) may end its
    last line without a full stop."""
    from quill.writing import metrics

    if not text.strip():
        return ["is empty"]
    problems = []
    talk = metrics.leaked_phrases(text) + metrics.shape_talk(text)
    if talk:
        problems.append(f"talks about the brief ({_quote(talk[0])})")
    labels = metrics.shape_labels(text)
    if labels:
        problems.append(f"labels its parts ({_quote(labels[0])})")
    ends = metrics.ends_complete_verse if form == "poem" else metrics.ends_complete
    if not ends(text):
        problems.append("has no complete ending")
    written = detect_language(text)
    if lang and written and written != lang:
        problems.append(f"is in {written}, not {lang}")
    if words:
        ratio = metrics.length_ratio(text, words, lang or written)
        if not LENGTH_RANGE[0] <= ratio <= LENGTH_RANGE[1]:
            problems.append(f"is {ratio:.1f} times the length asked")
    if metrics.repeated_ngram_rate(text, 4) > REPEATED_4GRAMS:
        problems.append("repeats itself")
    return problems


def _quote(phrase: str) -> str:
    phrase = " ".join(phrase.split())
    return f"“{phrase[:40]}…”" if len(phrase) > 40 else f"“{phrase}”"


def checker(lang: str | None = None, words: int | None = None, form: str | None = None) -> Check:
    """:func:`check` as a :mod:`quill.writing.retry` check: a draft with problems fails
    and is written again with the next seed (at most twice; see
    :func:`quill.writing.retry.best_of`)."""

    def verdict(text: str) -> Verdict:
        problems = check(text, lang=lang, words=words, form=form)
        return Verdict(tuple(problems), float(len(problems)))

    return verdict


def write_checked(
    write: Callable[[Sampling], Result],
    params: Sampling,
    *,
    lang: str | None = None,
    words: int | None = None,
    form: str | None = None,
    n: int = 1,
    retries: int = RETRIES,
) -> Outcome:
    """Write a draft with ``write(params)`` and check it; one that fails is written
    again with the next seed, at most ``retries`` times (``n`` > 1: the best of n).
    The outcome holds every try, the one kept, and the report line (``note()``)."""
    return best_of(write, checker(lang, words, form), params, n=n, retries=retries)


def piece_check(
    brief: str,
    *,
    form: str | None = None,
    lang: str | None = None,
    words: int | None = None,
    user_dir: Path | None = None,
) -> Check:
    """The check of a draft of ``brief`` asked as :func:`build_messages` asks it (the
    form the brief names, the language it is written in, unless given)."""
    form = form or infer_form(brief, forms(user_dir))
    return checker(piece_language(brief, lang), words, form)


def checked_generation(
    start: Callable[[Sampling], Generation], params: Sampling, check: Check, *, n: int = 1
) -> Generation:
    """A draft that is checked (and written again while it fails, or the best of
    ``n``) before it is shown: a Generation whose text comes out whole once chosen,
    its note the report line."""
    return checked(start, check, params, n=n, what="draft")
