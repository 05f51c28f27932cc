"""A writer's voice: a profile learned from their own samples, used to write like them.

A profile is a TOML file, ``<config dir>/styles/NAME.toml``, that the writer can edit:
a description of the voice written by the model, a few short excerpts of the samples
chosen by code (paragraphs whose sentences are typical of the writer, from different
samples), and what was measured. ``--style NAME`` adds it to the system prompt.

Nothing here prints.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quill import prompts
from quill.engine.base import Message
from quill.errors import UsageError
from quill.writing.language import detect_language, is_cjk
from quill.writing.textstats import count_words
from quill.writing.verbs import messages, split_code

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SKIP_LINE = re.compile(r"^\s*(?:#{1,6}\s|[-*+>|]|\d{1,3}[.)]\s|!\[|<)")
EXCERPTS = 3
EXCERPT_WORDS = (25, 110)  # a paragraph of this many words can be an excerpt
SAMPLE_TOKENS = 1800  # of the samples shown to the model when it describes the voice


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
    description: str
    excerpts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    language: str | None = None


# -- reading samples ------------------------------------------------------------------------


def paragraphs(text: str) -> list[str]:
    """The prose paragraphs of a text (no code, headings, lists, tables or quotes)."""
    out = []
    for is_code, run in split_code(text):
        if is_code:
            continue
        for para in re.split(r"\n\s*\n", run):
            lines = [ln.strip() for ln in para.splitlines() if ln.strip()]
            if lines and not any(_SKIP_LINE.match(ln) for ln in lines):
                out.append(" ".join(lines) if not is_cjk(detect_language(para)) else "".join(lines))
    return out


_SENT_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+|(?<=[。！？])")


def _sentences(para: str) -> list[str]:
    return [s for s in _SENT_END.split(para) if s and count_words(s)]


def measure(samples: Sequence[str]) -> dict[str, Any]:
    """Facts about the samples that describe a voice: sentence length and its spread,
    paragraph length, questions, exclamations, first person, contractions, dashes."""
    paras = [p for s in samples for p in paragraphs(s)]
    sents = [x for p in paras for x in _sentences(p)]
    lengths = [count_words(x) for x in sents] or [0]
    words = " ".join(paras)
    latin = re.findall(r"[A-Za-z]+(?:['’][a-z]+)?", words)
    n = max(len(latin), 1)
    first = sum(w.lower() in ("i", "me", "my", "we", "our", "us") for w in latin)
    contractions = sum(("'" in w or "’" in w) for w in latin)
    return {
        "samples": len(samples),
        "words": sum(count_words(s) for s in samples),
        "sentences": len(sents),
        "sentence_words": round(statistics.mean(lengths), 1),
        "sentence_words_spread": round(statistics.pstdev(lengths), 1),
        "paragraph_sentences": round(len(sents) / max(len(paras), 1), 1),
        "questions_per_100": round(
            100 * sum(x.rstrip("\"'”’)").endswith(("?", "？")) for x in sents) / max(len(sents), 1)
        ),
        "exclamations_per_100": round(
            100 * sum(x.rstrip("\"'”’)").endswith(("!", "！")) for x in sents) / max(len(sents), 1)
        ),
        "first_person_per_1000_words": round(1000 * first / n),
        "contractions_per_1000_words": round(1000 * contractions / n),
        "dashes_per_1000_words": round(1000 * (words.count("—") + words.count(" - ")) / n),
    }


def pick_excerpts(samples: Sequence[str], k: int = EXCERPTS) -> list[str]:
    """Up to ``k`` paragraphs that show the voice best: of a readable length, with
    sentences close to the writer's usual length, taken from different samples first."""
    m = measure(samples)
    mean = m["sentence_words"] or 1.0
    scored: list[tuple[float, int, int, str]] = []
    for si, sample in enumerate(samples):
        for pi, para in enumerate(paragraphs(sample)):
            n = count_words(para)
            lo, hi = EXCERPT_WORDS
            if is_cjk(detect_language(para)):
                lo, hi = lo * 2, hi * 2
            if not lo <= n <= hi:
                continue
            lengths = [count_words(x) for x in _sentences(para)] or [n]
            typical = abs(statistics.mean(lengths) - mean) / mean
            scored.append((typical + 0.002 * abs(n - 60), si, pi, para))
    scored.sort()
    out: list[str] = []
    used: set[int] = set()
    for _, si, _, para in scored:  # one per sample first
        if si not in used and len(out) < k:
            out.append(para)
            used.add(si)
    for *_, para in scored:
        if len(out) >= k:
            break
        if para not in out:
            out.append(para)
    return out


def sample_text(samples: Sequence[str], budget: int, count: Callable[[str], int]) -> str:
    """The samples for the model, each cut to its share of ``budget`` tokens at a
    paragraph end (the whole sample when it fits)."""
    share = max(budget // max(len(samples), 1), 64)
    out = []
    for i, sample in enumerate(samples, 1):
        kept: list[str] = []
        used = 0
        for para in paragraphs(sample) or [sample.strip()]:
            n = count(para)
            if kept and used + n > share:
                break
            kept.append(para)
            used += n
        out.append(f"<sample {i}>\n" + "\n\n".join(kept) + f"\n</sample {i}>")
    return "\n\n".join(out)


def describe_measured(m: dict[str, Any]) -> str:
    return (
        f"{m['sentence_words']} words per sentence on average "
        f"(spread {m['sentence_words_spread']}); "
        f"{m['paragraph_sentences']} sentences per paragraph; "
        f"{m['questions_per_100']} questions and {m['exclamations_per_100']} exclamations per "
        f"100 sentences; {m['first_person_per_1000_words']} first-person words and "
        f"{m['contractions_per_1000_words']} contractions per 1000 words"
    )


def learn_messages(
    samples: Sequence[str], count: Callable[[str], int], user_dir: Path | None = None
) -> list[Message]:
    p = prompts.load("style", user_dir)
    text = sample_text(samples, SAMPLE_TOKENS, count)
    user = prompts.render(p["user"], text=text, stats=describe_measured(measure(samples)))
    return messages(p["system"], user)


# -- the profile file -------------------------------------------------------------------------


def _toml_str(text: str) -> str:
    """A TOML string that is easy to edit: a multi-line literal string where it can be,
    else a basic string."""
    if "'''" not in text and not any(ord(c) < 32 and c not in "\n\t" for c in text):
        return "'''\n" + text.strip("\n") + "\n'''"
    return json.dumps(text, ensure_ascii=False)


def dumps(profile: Profile) -> str:
    lines = [
        f"# The voice profile `{profile.name}` for quill: use it with --style {profile.name}",
        "# on quill draft, rewrite, continue and chat. Edit it freely: the description and",
        "# the excerpts are what the model is shown.",
        "",
        f"name = {json.dumps(profile.name)}",
        f"created = {json.dumps(profile.created)}",
        f"language = {json.dumps(profile.language or '')}",
        "sources = [" + ", ".join(json.dumps(s, ensure_ascii=False) for s in profile.sources) + "]",
        "",
        f"description = {_toml_str(profile.description)}",
        "",
        "excerpts = [",
        *(f"{_toml_str(x)}," for x in profile.excerpts),
        "]",
        "",
        "[measured]",
        *(f"{k} = {json.dumps(v)}" for k, v in profile.measured.items()),
    ]
    return "\n".join(lines) + "\n"


def loads(text: str, name: str) -> Profile:
    data = tomllib.loads(text)
    excerpts = data.get("excerpts", [])
    return Profile(
        name=str(data.get("name", name)),
        description=str(data.get("description", "")).strip(),
        excerpts=[str(x).strip() for x in excerpts if str(x).strip()]
        if isinstance(excerpts, list)
        else [],
        sources=[str(s) for s in data.get("sources", [])],
        measured=dict(data.get("measured", {})),
        created=str(data.get("created", "")),
        language=str(data.get("language") or "") or None,
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
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read style file {path}: {exc}", hint="fix or remove it") from exc


def names(styles_dir: Path) -> list[str]:
    if not styles_dir.is_dir():
        return []
    return sorted(p.stem for p in styles_dir.glob("*.toml"))


def new_profile(
    name: str, description: str, samples: Sequence[str], sources: Sequence[str]
) -> Profile:
    return Profile(
        name=name,
        description=description.strip(),
        excerpts=pick_excerpts(samples),
        sources=list(sources),
        measured=measure(samples),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        language=detect_language("\n\n".join(samples)),
    )


def system_text(profile: Profile, user_dir: Path | None = None) -> str:
    """What ``--style`` adds to the system prompt."""
    p = prompts.load("style", user_dir)["profile"]
    parts = [prompts.render(p["intro"], name=profile.name)]
    if profile.description:
        parts.append(p["voice"] + "\n" + profile.description)
    if profile.excerpts:
        quoted = "\n\n".join(f"<<<\n{x}\n>>>" for x in profile.excerpts)
        parts.append(p["examples"] + "\n" + quoted)
    return "\n\n".join(parts)
