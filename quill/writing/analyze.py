"""`quill analyze`, `quill classify` and `quill moderate`: answers a script can rely on.

What can be counted is counted (words, sentences, the reading level, e-mail addresses
and card numbers); the model is asked only for judgement, and its answer is generated
under a grammar built from a JSON schema (llama.cpp's GBNF), so it always parses on the
in-process engine. Backends that cannot constrain their output (a fake in tests, an HTTP
server) are checked after the fact.

Nothing here prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quill import prompts
from quill.engine.base import Message
from quill.errors import BackendError, UsageError
from quill.writing.chunk import sentence_ends
from quill.writing.language import UNKNOWN, detect_language, is_cjk
from quill.writing.textstats import count_words, text_stats
from quill.writing.verbs import messages, split_code

SENTIMENTS = ("positive", "negative", "neutral", "mixed")
PROBLEMS = (
    "vague",
    "wordy",
    "unclear",
    "repetitive",
    "informal",
    "hedging",
    "cliché",
    "passive",
    "run-on",
    "filler",
    "weak verb",
    "grammar",
)
CATEGORIES = ("harassment", "hate", "self_harm", "sexual", "violence", "personal_data")
WEAKEST = 3
WHY_CHARS = 120  # the grammar's bound on a weak sentence's reason


def whole(why: str) -> str:
    """A reason the grammar cut at WHY_CHARS, ended where its last sentence or word ends,
    with "…": cut mid-word, the 1.5B's read "half of itcovered" and "which might不如"."""
    if not why or why[-1] in ".!?。！？…)\"'":
        return why
    ends = [m.end() for m in re.finditer(r"[.!?。！？](?=\s|$)", why)]
    if ends and ends[-1] >= 40:
        return why[: ends[-1]]
    m = re.match(r"(.*[^\W_])[\s,;:]+\S*$", why, re.S)
    return (m.group(1) if m else why) + "…"


_ENUM_LIMIT = 400  # sentence numbers listed one by one in the grammar up to here


def schema_grammar(schema: dict[str, Any]) -> str:
    """GBNF text (root rule ``root``) for JSON that matches ``schema``."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from quill.engine.tokens import keep_llama_log

    keep_llama_log()  # the import set llama-cpp-python's own stderr logger
    return json_schema_to_gbnf(json.dumps(schema))


def literal(text: str) -> str:
    """A GBNF string literal for ``text``."""
    return json.dumps(text, ensure_ascii=False)


def parse_json(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text.strip())
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise BackendError(
            f"the model's {what} is not the JSON asked for: {text.strip()[:120]!r}",
            hint="the in-process llama.cpp engine constrains it with a grammar; "
            "another backend may not",
        )
    return value


# -- counting ----------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_RULE_OR_TABLE = re.compile(r"^\s*(?:[-*_]{3,}\s*|\|.*)$")
_MARK = re.compile(r"^\s*(?:[-*+>]|\d{1,3}[.)])\s+")
_VOWELS = re.compile(r"[aeiouy]+")


def sentences(text: str) -> list[str]:
    """The sentences of a text's prose: code blocks, headings, rules and tables left
    out; a list item counts as (at least) one sentence."""
    out: list[str] = []
    for is_code, run in split_code(text):
        if is_code:
            continue
        for para in re.split(r"\n\s*\n", run):
            lines = [ln for ln in para.splitlines() if ln.strip()]
            lines = [ln for ln in lines if not _HEADING.match(ln) and not _RULE_OR_TABLE.match(ln)]
            if not lines:
                continue
            body = "\n".join(lines)
            start = 0
            for end in [*sentence_ends(body), len(body)]:
                s = _MARK.sub("", body[start:end]).strip()
                start = end
                s = " ".join(s.split())
                if count_words(s):
                    out.append(s)
    return out


def syllables(word: str) -> int:
    w = word.lower()
    n = len(_VOWELS.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    return max(1, n)


@dataclass(frozen=True)
class Counts:
    words: int
    sentences: int
    characters: int
    paragraphs: int
    reading_s: int
    language: str | None
    flesch: float | None  # Flesch reading ease (English only)
    grade: float | None  # Flesch-Kincaid grade level (English only)

    @property
    def level(self) -> str | None:
        f = self.flesch
        if f is None:
            return None
        for floor, label in (
            (90, "very easy"),
            (80, "easy"),
            (70, "fairly easy"),
            (60, "standard"),
            (50, "fairly difficult"),
            (30, "difficult"),
        ):
            if f >= floor:
                return label
        return "very difficult"


def count(text: str, parts: list[str] | None = None) -> Counts:
    parts = sentences(text) if parts is None else parts
    st = text_stats(text)
    lang = detect_language(text)
    paragraphs = len([p for p in re.split(r"\n\s*\n", text) if p.strip()])
    flesch = grade = None
    if lang == "English" and parts:
        words = re.findall(r"[A-Za-z]+(?:'[a-z]+)?", " ".join(parts))
        if words:
            wps = len(words) / len(parts)
            spw = sum(syllables(w) for w in words) / len(words)
            flesch = round(206.835 - 1.015 * wps - 84.6 * spw, 1)
            grade = round(max(0.0, 0.39 * wps + 11.8 * spw - 15.59), 1)
    return Counts(
        words=st.words,
        sentences=len(parts),
        characters=len(text.strip()),
        paragraphs=paragraphs,
        reading_s=round(st.reading_s),
        language=lang,
        flesch=flesch,
        grade=grade,
    )


# -- analyze ------------------------------------------------------------------------------


def analysis_schema(n: int) -> dict[str, Any]:
    k = min(WEAKEST, n)
    number: dict[str, Any] = (
        {"enum": list(range(1, n + 1))} if n <= _ENUM_LIMIT else {"type": "integer"}
    )
    weak = {
        "type": "object",
        "properties": {
            "sentence": number,
            "problem": {"enum": list(PROBLEMS)},
            "why": {"type": "string", "maxLength": WHY_CHARS},
        },
        "required": ["sentence", "problem", "why"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "sentiment": {"enum": list(SENTIMENTS)},
            "score": {"type": "number"},
            "tone": {
                "type": "array",
                "items": {"type": "string", "maxLength": 24},
                "minItems": 1,
                "maxItems": 4,
            },
            "weakest": {"type": "array", "items": weak, "minItems": k, "maxItems": k},
        },
        "required": ["sentiment", "score", "tone", "weakest"],
        "additionalProperties": False,
    }


def analysis_messages(parts: Sequence[str], user_dir: Path | None = None) -> list[Message]:
    p = prompts.load("analyze", user_dir)
    numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(parts, 1))
    user = prompts.render(
        p["user"], text=numbered, count=str(len(parts)), problems=", ".join(PROBLEMS)
    )
    return messages(p["system"], user)


def fit_sentences(parts: list[str], budget: int, count_tokens: Any) -> list[str]:
    """The first sentences that fit ``budget`` tokens (the caller says what was left)."""
    out: list[str] = []
    used = 0
    for s in parts:
        n = count_tokens(s) + 3
        if out and used + n > budget:
            break
        out.append(s)
        used += n
    return out


def report(counts: Counts, parts: Sequence[str], answer: dict[str, Any]) -> dict[str, Any]:
    """The fixed schema of ``quill analyze --json``."""
    label = answer.get("sentiment")
    label = label if label in SENTIMENTS else "neutral"
    try:
        score = max(-1.0, min(1.0, float(answer.get("score", 0.0))))
    except (TypeError, ValueError):
        score = 0.0
    # The score follows the label: a small model can say "neutral" and 0.5.
    if label == "positive":
        score = abs(score) or 0.5
    elif label == "negative":
        score = -abs(score) or -0.5
    elif label == "neutral":
        score = max(-0.2, min(0.2, score))
    tone = [str(t).strip().lower() for t in answer.get("tone", []) if str(t).strip()]
    weakest: list[dict[str, Any]] = []
    seen: set[int] = set()
    for item in answer.get("weakest", []):
        if not isinstance(item, dict):
            continue
        try:
            i = int(item.get("sentence", 0))
        except (TypeError, ValueError):
            continue
        if 1 <= i <= len(parts) and i not in seen:
            seen.add(i)
            problem = str(item.get("problem", "")).strip()
            why = whole(str(item.get("why", "")).strip())
            if why.rstrip(".").lower() == parts[i - 1].rstrip(".").lower():
                why = ""  # a small model may only repeat the sentence
            weakest.append({"index": i, "sentence": parts[i - 1], "problem": problem, "why": why})
    return {
        "language": counts.language or UNKNOWN,
        "words": counts.words,
        "sentences": counts.sentences,
        "paragraphs": counts.paragraphs,
        "characters": counts.characters,
        "reading_time_s": counts.reading_s,
        "reading_level": {
            "flesch_reading_ease": counts.flesch,
            "grade": counts.grade,
            "label": counts.level,
        },
        "sentiment": {"label": label, "score": round(score, 2)},
        "tone": list(dict.fromkeys(tone))[:4],
        "weakest": weakest,
    }


def describe(r: dict[str, Any]) -> str:
    """The report as plain text for a reader."""
    cjk = is_cjk(r["language"])
    size = f"{r['words']:,} {'characters' if cjk else 'words'}"
    lines = [
        f"{size}, {r['sentences']:,} sentences, {r['paragraphs']:,} paragraphs",
    ]
    lvl = r["reading_level"]
    if lvl["flesch_reading_ease"] is not None:
        lines.append(
            f"reading level: {lvl['label']} (Flesch reading ease {lvl['flesch_reading_ease']}, "
            f"grade {lvl['grade']})"
        )
    s = r["sentiment"]
    lines.append(f"sentiment: {s['label']} ({s['score']:+.2f})")
    if r["tone"]:
        lines.append("tone: " + ", ".join(r["tone"]))
    if r["weakest"]:
        lines.append("weakest sentences:")
        for w in r["weakest"]:
            why = "; ".join(x for x in (w["problem"], w["why"]) if x)
            lines.append(f"  {w['index']}. {w['sentence']}" + (f" — {why}" if why else ""))
    return "\n".join(lines) + "\n"


# -- classify -----------------------------------------------------------------------------


def parse_labels(spec: str) -> list[str]:
    labels = list(dict.fromkeys(x.strip() for x in spec.split(",") if x.strip()))
    if len(labels) < 2:
        raise UsageError(
            "--labels needs at least two labels", hint='e.g. --labels "bug,feature,question"'
        )
    return labels


def classify_grammar(labels: Sequence[str], reason: bool) -> str:
    if reason:
        return schema_grammar(
            {
                "type": "object",
                "properties": {
                    "label": {"enum": list(labels)},
                    "reason": {"type": "string", "maxLength": 160},
                },
                "required": ["label", "reason"],
                "additionalProperties": False,
            }
        )
    return "root ::= " + " | ".join(literal(x) for x in labels) + "\n"


def classify_messages(
    text: str, labels: Sequence[str], reason: bool, user_dir: Path | None = None
) -> list[Message]:
    p = prompts.load("classify", user_dir)
    ask = (
        '\nAnswer in JSON: {"label": the label, "reason": one short sentence why}.'
        if reason
        else ""
    )
    listed = "\n".join(f"- {x}" for x in labels)
    user = prompts.render(p["user"], text=text, labels=listed, reason=ask)
    return messages(p["system"], user)


def pick_label(answer: str, labels: Sequence[str]) -> str:
    """The label the answer names (exactly, else ignoring case and punctuation)."""
    a = answer.strip()
    if a in labels:
        return a
    norm = {re.sub(r"\W+", "", x.lower()): x for x in labels}
    key = re.sub(r"\W+", "", a.lower())
    if key in norm:
        return norm[key]
    found = [x for x in labels if re.search(rf"(?<!\w){re.escape(x.lower())}(?!\w)", a.lower())]
    if len(found) == 1:
        return found[0]
    raise BackendError(
        f"the model answered {a[:80]!r}, not one of the labels",
        hint="the in-process llama.cpp engine constrains the answer with a grammar; "
        "another backend may not",
    )


# -- moderate -----------------------------------------------------------------------------

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){2,4}(?!\w)"
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def personal_data(text: str) -> list[str]:
    """Kinds of personal data found by pattern: e-mail addresses, phone numbers, card
    numbers (that pass the Luhn check)."""
    found = []
    if _EMAIL.search(text):
        found.append("e-mail address")
    cards = [re.sub(r"\D", "", m.group()) for m in _CARD.finditer(text)]
    if any(_luhn(c) for c in cards):
        found.append("card number")
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 9 <= len(digits) <= 15 and not (len(digits) >= 13 and _luhn(digits)):
            found.append("phone number")
            break
    return found


def moderation_schema() -> dict[str, Any]:
    props: dict[str, Any] = {c: {"type": "boolean"} for c in CATEGORIES}
    props["reason"] = {"type": "string", "maxLength": 160}
    return {
        "type": "object",
        "properties": props,
        "required": [*CATEGORIES, "reason"],
        "additionalProperties": False,
    }


def moderation_messages(text: str, user_dir: Path | None = None) -> list[Message]:
    p = prompts.load("moderate", user_dir)
    return messages(p["system"], prompts.render(p["user"], text=text))


@dataclass
class Moderation:
    categories: dict[str, bool]
    reason: str = ""
    patterns: list[str] = field(default_factory=list)  # personal data found by code

    @property
    def flagged(self) -> list[str]:
        return [c for c in CATEGORIES if self.categories.get(c)]

    def as_json(self) -> dict[str, Any]:
        return {
            "flagged": bool(self.flagged),
            "categories": {c: bool(self.categories.get(c)) for c in CATEGORIES},
            "reason": self.reason,
            "personal_data_found": self.patterns,
        }


def moderation(answer: dict[str, Any], text: str) -> Moderation:
    cats = {c: answer.get(c) is True for c in CATEGORIES}
    found = personal_data(text)
    if found:
        cats["personal_data"] = True
    return Moderation(cats, str(answer.get("reason", "")).strip(), found)


def category_name(c: str) -> str:
    return c.replace("_", " ").replace("self harm", "self-harm")
