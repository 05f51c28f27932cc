"""A writer's voice: measured from their own samples, shown by example, and checked.

A profile is a TOML file, ``<config dir>/styles/NAME.toml``, that the writer can edit:
the figures of :mod:`quill.writing.stylometry` (sentence length, person, contractions,
headings…), the words and phrases the writer comes back to, an optional one-line tone
the model names, and passages of the samples. ``--style NAME`` shows a draft a few of
those passages (the closest to its brief) and the figures as a handful of plain
instructions; :class:`CheckedDraft` measures the draft with the same code and writes it
once more when it strays far from the figures.

Nothing here prints.
"""

from __future__ import annotations

import re
import statistics
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quill import prompts
from quill.engine.base import Message
from quill.errors import InputError, UsageError
from quill.writing import stylometry as sm
from quill.writing.language import detect_language

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MIN_WORDS = 250  # English samples: enough sentences for the figures to mean something
MIN_CHARS = 400  # Chinese samples, in characters (about as long to read)
PASSAGE = {sm.EN: (40, 140), sm.ZH: (80, 260)}  # words / characters in a kept passage
MAX_PASSAGES = 12
SHOWN = 3  # passages a draft sees
SHOWN_BUDGET = {sm.EN: 240, sm.ZH: 480}


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"`{name}` cannot be a style name",
            hint="use letters, digits, - _ and . (e.g. my-blog)",
        )
    return name


def style_path(styles_dir: Path, name: str) -> Path:
    return styles_dir / f"{check_name(name)}.toml"


@dataclass
class Profile:
    name: str
    script: str = sm.EN  # "en" or "zh": which figures
    figures: dict[str, float] = field(default_factory=dict)
    habits: list[str] = field(default_factory=list)  # characteristic words and phrases
    tone: str = ""
    passages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    samples: int = 0
    words: int = 0  # words (English) or characters (Chinese) learned from
    created: str = ""
    language: str = ""


# -- learning ----------------------------------------------------------------------------------


def size(samples: Sequence[str], script: str) -> int:
    """How much prose the samples hold: words, or characters for Chinese."""
    prose = "\n".join(p for s in samples for p in sm.blocks(s).paragraphs)
    if script == sm.ZH:
        return len(sm._HAN.findall(prose))
    return len(sm.words(prose))


def check_enough(samples: Sequence[str]) -> str:
    """The samples' script; too little prose to measure a voice is refused."""
    script = sm.script_of("\n".join(samples))
    have = size(samples, script)
    need, unit = (MIN_CHARS, "characters") if script == sm.ZH else (MIN_WORDS, "words")
    if have < need:
        raise InputError(
            f"too little to learn a voice from: {have:,} {unit} of prose",
            hint=f"give at least {need:,} {unit} of your writing (more is better: "
            f"a few pieces of {need * 3:,} {unit} in all)",
        )
    return script


def split_passages(samples: Sequence[str], script: str) -> list[str]:
    """Passages of the samples (a paragraph, or a few short ones together, or part of a
    long one), taken from each sample in turn, at most :data:`MAX_PASSAGES`."""
    lo, hi = PASSAGE[script]
    per_sample: list[list[str]] = []
    for sample in samples:
        out: list[str] = []
        run: list[str] = []
        for para in sm.blocks(sample).paragraphs:
            for piece in _cut(para, hi, script):
                run.append(piece)
                if _size(run, script) >= lo:
                    out.append("\n\n".join(run))
                    run = []
        if run and (_size(run, script) >= lo // 2 or not out):
            out.append("\n\n".join(run))
        per_sample.append(out)
    kept: list[str] = []
    for i in range(max((len(x) for x in per_sample), default=0)):
        kept += [x[i] for x in per_sample if i < len(x)]
    return kept[:MAX_PASSAGES]


def _size(parts: Sequence[str], script: str) -> int:
    return size(["\n\n".join(parts)], script)


def _cut(para: str, hi: int, script: str) -> list[str]:
    """A paragraph longer than ``hi`` in pieces of whole sentences."""
    if _size([para], script) <= hi:
        return [para]
    out, run = [], ""
    for s in sm.sentences(para, script):
        joined = run + ("" if script == sm.ZH or not run else " ") + s
        if run and _size([joined], script) > hi:
            out.append(run)
            run = s
        else:
            run = joined
    return [*out, run] if run else out


def learn_messages(
    samples: Sequence[str], count: Callable[[str], int], user_dir: Path | None = None
) -> list[Message]:
    """The prompt that asks the model to name the samples' tone (one line)."""
    p = prompts.load("style", user_dir)
    script = sm.script_of("\n".join(samples))
    shown: list[str] = []
    used = 0
    for passage in split_passages(samples, script):
        n = count(passage)
        if shown and used + n > 900:
            break
        shown.append(passage)
        used += n
    text = "\n\n".join(f"<<<\n{x}\n>>>" for x in shown)
    user = prompts.render(p["user"], text=text)
    return [Message("system", p["system"].strip()), Message("user", user.strip())]


def tone_line(text: str, samples: Sequence[str] = ()) -> str:
    """The model's answer as one short tone line ("dry, wry, quiet"), or "" if it is not
    one. An answer that runs on describes the samples instead, and a term made of the
    samples' own words ("chalky, bell sticks") names their content, not their tone:
    such terms are left out."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^[\s*_#>-]*(?:tone\s*[:：]\s*)?", "", line, flags=re.I).strip(" *_.。")
    if not line or len(line) > 80 or len(sm.words(line)) > 10:
        return ""
    used = {w.lower() for s in samples for w in sm.words(s)}
    joined = "\n".join(samples)
    terms = [t.strip(" *_") for t in re.split(r"[,，、;；/]|\band\b", line) if t.strip(" *_")]
    kept = [
        t
        for t in terms
        if len(sm.words(t)) <= 2
        and not any(w.lower() in used for w in sm.words(t))
        and not (sm._HAN.search(t) and t in joined)
    ]
    han = bool(re.search(r"[\u4e00-\u9fff]", line))
    if not kept or (han and len(kept) < len(terms)):
        return ""
    if samples and han != (sm.script_of(joined) == sm.ZH):  # in the samples' language
        return ""
    sep = "、" if han else ", "
    return sep.join(kept)


def new_profile(
    name: str, samples: Sequence[str], sources: Sequence[str], tone: str = ""
) -> Profile:
    script = check_enough(samples)
    return Profile(
        name=name,
        script=script,
        figures=sm.measure(samples, script),
        habits=sm.characteristic(samples, script),
        tone=tone_line(tone, samples),
        passages=split_passages(samples, script),
        sources=list(sources),
        samples=len(samples),
        words=size(samples, script),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        language=detect_language("\n\n".join(samples)) or "",
    )


# -- the profile file (TOML written by hand: every string escaped, floats as repr) -----------


def toml_string(text: str, multiline: bool = False) -> str:
    """``text`` as a TOML basic string that reads back exactly (a multi-line one where
    asked: easier to edit; a quote never makes a run of three)."""
    text = "".join(c if not 0xD800 <= ord(c) <= 0xDFFF else "\ufffd" for c in text)
    out = []
    quotes = 0
    for c in text:
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            if not multiline or quotes >= 1:
                out.append('\\"')
                quotes = 0
                continue
            out.append('"')
            quotes += 1
            continue
        elif c == "\n" and multiline:
            out.append("\n")
        elif c in "\b\t\n\f\r" and not (c == "\t" and multiline):
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
        quotes = 0
    body = "".join(out)
    if not multiline:
        return f'"{body}"'
    if body.endswith('"') and not body.endswith('\\"'):
        body = body[:-1] + '\\"'
    return f'"""\n{body}"""'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if v == v and abs(v) != float("inf") else "0.0"
    return toml_string(str(v))


def dumps(profile: Profile) -> str:
    f = profile
    lines = [
        f"# The voice of `{_comment(f.name)}` for quill, measured from your samples: use it",
        f"# with --style {_comment(f.name)} on draft, rewrite, continue and chat. Edit freely:",
        "# drafts see a few [[passage]]s and the figures as plain instructions.",
        "",
        f"name = {toml_string(f.name)}",
        f"language = {toml_string(f.language)}",
        f"script = {toml_string(f.script)}",
        f"created = {toml_string(f.created)}",
        f"samples = {f.samples}",
        f"{'characters' if f.script == sm.ZH else 'words'} = {f.words}",
        "sources = [" + ", ".join(toml_string(s) for s in f.sources) + "]",
        f"tone = {toml_string(f.tone)}",
        "habits = [" + ", ".join(toml_string(s) for s in f.habits) + "]",
        "",
        "[figures]",
        *(f"{k} = {_value(v)}" for k, v in f.figures.items()),
    ]
    for p in f.passages:
        lines += ["", "[[passage]]", f"text = {toml_string(p, multiline=True)}"]
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]", " ", text)


def loads(text: str, name: str) -> Profile:
    data = tomllib.loads(text)
    script = str(data.get("script") or sm.EN)
    if script not in sm.FIGURES:
        raise ValueError(f"script must be {' or '.join(sm.FIGURES)}, not {script!r}")
    figures = data.get("figures", {})
    passages = data.get("passage", [])
    return Profile(
        name=str(data.get("name", name)),
        script=script,
        figures={str(k): float(v) for k, v in figures.items() if isinstance(v, int | float)},
        habits=[str(x) for x in data.get("habits", [])],
        tone=str(data.get("tone", "")),
        passages=[str(p.get("text", "")) for p in passages if str(p.get("text", "")).strip()],
        sources=[str(s) for s in data.get("sources", [])],
        samples=int(data.get("samples", 0)),
        words=int(data.get("characters" if script == sm.ZH else "words", 0)),
        created=str(data.get("created", "")),
        language=str(data.get("language", "")),
    )


def load(styles_dir: Path, name: str) -> Profile:
    path = style_path(styles_dir, name)
    if not path.is_file():
        known = names(styles_dir)
        hint = (
            ("yours: " + ", ".join(known)) if known else "learn one: quill style learn NAME FILES…"
        )
        raise UsageError(f"there is no style `{name}`", hint=hint)
    try:
        return loads(path.read_text("utf-8"), name)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot read style file {path}: {exc}", hint="fix or remove it") from exc


def names(styles_dir: Path) -> list[str]:
    if not styles_dir.is_dir():
        return []
    return sorted(p.stem for p in styles_dir.glob("*.toml"))


# -- showing the voice to a draft ----------------------------------------------------------


def _keys(text: str, script: str) -> set[str]:
    if script == sm.ZH:
        han = "".join(sm._HAN.findall(text))
        return {han[i : i + 2] for i in range(len(han) - 1)}
    return {
        w.lower().rstrip("s")
        for w in sm.words(text)
        if w[0].isalpha() and len(w) > 2 and w.lower() not in sm._STOP
    }


def closest_passages(profile: Profile, brief: str | None, k: int = SHOWN) -> list[str]:
    """Up to ``k`` of the writer's passages for a draft: those sharing the most words
    with ``brief`` first, then those whose sentences are most typical of the writer,
    within a budget of words (characters for Chinese)."""
    script = profile.script
    key = "sentence_chars" if script == sm.ZH else "sentence_words"
    mean = profile.figures.get(key) or 1.0
    want = _keys(brief or "", script)

    def score(p: str) -> tuple[float, float]:
        shared = len(want & _keys(p, script))
        lengths = [size([s], script) for s in sm.sentences(p.replace("\n\n", " "), script)]
        typical = abs(statistics.mean(lengths or [0]) - mean) / mean
        return (-shared, typical)

    ranked = sorted(profile.passages, key=score)
    out: list[str] = []
    used = 0
    for p in ranked:
        n = size([p], script)
        if out and used + n > SHOWN_BUDGET[script]:
            continue
        out.append(p)
        used += n
        if len(out) >= k:
            break
    return out


def instructions(profile: Profile, user_dir: Path | None = None) -> list[str]:
    """The figures as a handful of plain instructions ("sentences of 5-9 words", "first
    person (I, my)", "no headings"), in the language of the samples."""
    p = prompts.load("style", user_dir)["profile"]
    h = (p.get("zh", {}) if profile.script == sm.ZH else p).get("habit", {})
    f = profile.figures
    out: list[str] = []

    def add(key: str, **values: str) -> None:
        if key in h:
            out.append(prompts.render(h[key], **values))

    key = "sentence_chars" if profile.script == sm.ZH else "sentence_words"
    if f.get(key):
        lo, hi = sm.spread_range(f[key], f.get(f"{key}_sd", 0.0))
        add("sentences", lo=str(lo), hi=str(hi))
    person = sm.dominant_person(f)
    if person:
        add(person)
    if profile.script == sm.EN:
        if f.get("contractions", 0) >= 8:
            add("contractions")
        elif f.get("contractions", 0) < 2:
            add("no_contractions")
        tense = f.get("past_tense", 50.0)
        if tense >= 70 or tense <= 30:
            add("past" if tense >= 70 else "present")
    else:
        if f.get("le_per_100", 0) >= 1.2:
            add("le")
        if f.get("idioms_per_1000", 0) >= 5:
            add("idioms")
    if f.get("paragraph_sentences"):
        ps = f["paragraph_sentences"]
        add("paragraphs", lo=str(max(1, round(ps * 0.7))), hi=str(max(1, round(ps * 1.3))))
    if f.get("questions_per_100", 0) >= 8:
        add("questions")
    if f.get("exclamations_per_100", 0) < 1:
        add("no_exclamations")
    if f.get("semicolons", 0) >= 3:
        add("semicolons")
    if f.get("dashes", 0) >= 4:
        add("dashes")
    if f.get("dialogue_per_100", 0) >= 25:
        add("dialogue")
    if f.get("headings_per_100", 0) < 1:
        add("no_headings")
    if f.get("list_items_per_100", 0) < 1:
        add("no_lists")
    return out


class VoiceText(str):
    """What ``--style`` adds to a system prompt (the passages quoted, the habits, the
    tone), with what :func:`quill.writing.verbs.with_style` uses instead where it can:
    ``turns``, the passages as the model's own earlier replies (a small model copies
    the voice of its earlier replies better than that of a quoted block), and
    ``system``, the habits and tone alone. ``headings`` is False for a writer who uses
    none (a "# " begun for the model is then taken back)."""

    headings: bool = True
    system: str = ""
    turns: tuple[Message, ...] = ()


def topic_of(passage: str, script: str) -> str:
    """What a passage is about, in a few of its own words ("bread, oven, loaf")."""
    if script == sm.ZH:
        han = [r for r in re.findall(r"[\u4e00-\u9fff]+", passage)]
        grams = Counter(
            run[i : i + 2]
            for run in han
            for i in range(len(run) - 1)
            if not set(run[i : i + 2]) & sm._ZH_FUNCTION
        )
        return "、".join(g for g, _ in grams.most_common(2))
    words = Counter(
        w.lower()
        for w in sm.words(passage)
        if len(w) > 3 and w[0].isalpha() and w.lower() not in sm._STOP | sm.COMMON
    )
    return ", ".join(w for w, _ in words.most_common(3))


def system_text(
    profile: Profile, brief: str | None = None, user_dir: Path | None = None
) -> VoiceText:
    """The voice for a draft about ``brief``: the writer's passages closest to it, their
    habits as plain instructions, and the tone (see :class:`VoiceText`)."""
    p = prompts.load("style", user_dir)["profile"]
    table = {**p, **p.get("zh", {})} if profile.script == sm.ZH else p
    passages = closest_passages(profile, brief)
    sep = "；" if profile.script == sm.ZH else "; "
    habits = instructions(profile, user_dir)
    tail = [prompts.render(table["habits"], habits=sep.join(habits))] if habits else []
    if profile.tone:
        tail.append(prompts.render(table["tone"], tone=profile.tone))
    quoted = [table["intro"].strip(), *(f"<<<\n{x}\n>>>" for x in passages)]
    text = VoiceText("\n\n".join(quoted + tail))
    text.headings = profile.figures.get("headings_per_100", 0.0) >= 1
    text.system = "\n\n".join([table["shown"].strip(), *tail])
    turns: list[Message] = []
    for x in passages:
        topic = topic_of(x, profile.script)
        ask = prompts.render(table["ask"], topic=topic) if topic else table["ask_any"]
        turns += [Message("user", ask), Message("assistant", x)]
    text.turns = tuple(turns)
    return text
