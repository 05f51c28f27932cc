"""Is a correction a minimal edit? The gate every proofreading change passes.

A model's reply for a sentence is compared with the sentence token by token
(:func:`hunks`); each change is one :class:`Hunk` in the sentence's own coordinates,
whose text keeps the sentence's own spacing. :func:`verdict` says why a hunk is not a
correction (``""`` when it is one): more than a few words, a joined or split line, a
deleted word that was not a doubled one, Markdown or code touched, a number or a name
changed, a different word rather than a fix of the same one, or only a spelling-variant
swap (colour/color, organise/organize, catalogue/catalog), which is never made.

Pure functions: nothing here prints.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from quill.engine.length import CJK
from quill.writing.diffing import tokenize

MAX_WORDS = 3  # the most words one change may remove or add
SIMILAR = 0.5  # how alike the old and new words must be (a fix, not another word)

_WORD = re.compile(r"[^\W\d_]", re.UNICODE)
_CJK = re.compile(f"[{CJK}]")
_MARKUP = re.compile(r"[`*_\[\]()<>#|\\~=^$/@{}]|https?:|www\.")


@dataclass(frozen=True)
class Hunk:
    """``text[start:end]`` (``old``) becomes ``new``; ``removed``/``added`` are the
    tokens the comparison took out and put in (before a neighbour was added to make the
    change read on its own)."""

    start: int
    end: int
    old: str
    new: str
    removed: tuple[str, ...]
    added: tuple[str, ...]


def _key(token: str) -> str:
    return token.strip()


def hunks(text: str, reply: str) -> list[Hunk]:
    """The changes that turn ``text`` into ``reply``, token by token. An insertion or a
    deletion takes in the token before it (or after it, at the start), so each change is
    a replacement of whole words that keeps the text's own whitespace around it."""
    a, b = tokenize(text), tokenize(reply)
    ka, kb = [_key(t) for t in a], [_key(t) for t in b]
    offsets = [0]
    for t in a:
        offsets.append(offsets[-1] + len(t))
    sm = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
    out: list[Hunk] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        removed, added = tuple(ka[i1:i2]), tuple(kb[j1:j2])
        if i1 == i2 or j1 == j2:  # an insertion or a deletion: take in a neighbour
            if i1 > 0 and j1 > 0:
                i1, j1 = i1 - 1, j1 - 1
            elif i2 < len(a) and j2 < len(b):
                i2, j2 = i2 + 1, j2 + 1
        old = "".join(a[i1:i2]).rstrip()
        new = "".join(b[j1:j2]).rstrip()
        start = offsets[i1]
        out.append(Hunk(start, start + len(old), old, new, removed, added))
    return out


def apply_hunks(text: str, chosen: list[Hunk]) -> str:
    out, pos = [], 0
    for h in sorted(chosen, key=lambda h: h.start):
        if h.start < pos:
            continue  # overlaps one already made
        out += [text[pos : h.start], h.new]
        pos = h.end
    out.append(text[pos:])
    return "".join(out)


# -- spelling variants ---------------------------------------------------------------------

# British forms and the American ones they turn into, ending by ending; a pair of words
# that become the same word this way is a variant swap, not a correction.
_VARIANTS = [
    (
        re.compile(
            r"(?<=[a-z]{3})our(s|ed|ing|ite|ites|able|ably|ful|less|er|ers|hood|hoods|ly|ist|"
            r"ists|ism)?$"
        ),
        r"or\1",
    ),
    (re.compile(r"([^aeiou])re(s|d)?$"), r"\1er\2"),
    (re.compile(r"is(e|es|ed|ing|ation|ations|er|ers)$"), r"iz\1"),
    (re.compile(r"ys(e|es|ed|ing)$"), r"yz\1"),
    (re.compile(r"ogue(s)?$"), r"og\1"),
    (re.compile(r"([aeiou][a-z]+[aeiou])ll(ed|ing|er|ers|or|ors)$"), r"\1l\2"),
    (re.compile(r"ence(s)?$"), r"ense\1"),
    (re.compile(r"amme(s)?$"), r"am\1"),
    (re.compile(r"ae"), "e"),
    (re.compile(r"oe"), "e"),
]
_WORDS = {
    "grey": "gray",
    "greys": "grays",
    "cheque": "check",
    "cheques": "checks",
    "tyre": "tire",
    "tyres": "tires",
    "plough": "plow",
    "aluminium": "aluminum",
    "mould": "mold",
    "kerb": "curb",
    "pyjamas": "pajamas",
    "sceptical": "skeptical",
    "storey": "story",
    "jewellery": "jewelry",
    "enrol": "enroll",
    "fulfil": "fulfill",
    "skilful": "skillful",
    "whilst": "while",
    "amongst": "among",
    "towards": "toward",
    "learnt": "learned",
    "spelt": "spelled",
    "dreamt": "dreamed",
    "smelt": "smelled",
    "burnt": "burned",
    "spoilt": "spoiled",
    "leapt": "leaped",
    "knelt": "kneeled",
    "spilt": "spilled",
}

# Irregular verbs (base, past, past participle): "was" -> "were" and "buyed" -> "bought"
# are fixes of the same word, however unlike they look.
_IRREGULAR = """be am is are was were been being|have has had|do does did done|go goes went gone
buy bought|bring brought|teach taught|catch caught|think thought|seek sought|fight fought
build built|send sent|spend spent|lend lent|bend bent|make made|say said|pay paid|lay laid
sell sold|tell told|find found|hold held|stand stood|understand understood|feel felt
keep kept|sleep slept|leave left|meet met|lose lost|mean meant|hear heard|read|lead led
run ran|come came|become became|begin began begun|drink drank drunk|swim swam swum
sing sang sung|ring rang rung|sit sat|get got gotten|forget forgot forgotten|win won
give gave given|take took taken|shake shook shaken|see saw seen|eat ate eaten|fall fell fallen
write wrote written|drive drove driven|ride rode ridden|rise rose risen|choose chose chosen
speak spoke spoken|break broke broken|wake woke woken|steal stole stolen|freeze froze frozen
know knew known|grow grew grown|throw threw thrown|fly flew flown|draw drew drawn
wear wore worn|tear tore torn|bear bore born|swear swore sworn|show showed shown
put|cut|hit|let|set|shut|cost|hurt|quit|spread|bet|burst|cast|split"""


def _verb_groups() -> dict[str, int]:
    out: dict[str, int] = {}
    for k, group in enumerate(_IRREGULAR.replace("\n", "|").split("|")):
        forms = group.split()
        base = forms[0]
        extra = [base + "s", base + "es", base + "ed", base + "d", base + "ing"]
        for f in forms + extra:
            out.setdefault(f, k)
    return out


_VERBS = _verb_groups()


def same_verb(old: str, new: str) -> bool:
    """Whether two words are forms of one irregular verb ("was"/"were",
    "buyed"/"bought")."""
    a, b = _VERBS.get(old.lower()), _VERBS.get(new.lower())
    return a is not None and a == b


def _american(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = _WORDS.get(w, w)
    for pattern, repl in _VARIANTS:
        w = pattern.sub(repl, w)
    return w


def spelling_variant(old: str, new: str) -> bool:
    """Whether ``old`` -> ``new`` only swaps British and American spellings (or adds a
    possessive to that swap: "catalogue" -> "catalog's")."""
    a, b = old.split(), new.split()
    if len(a) != len(b) or old == new:
        return False
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return bool(pairs) and all(
        x.lower() != y.lower() and _american(x) == _american(y) for x, y in pairs
    )


# -- the gate ------------------------------------------------------------------------------


def _words(tokens: tuple[str, ...]) -> int:
    return sum(1 for t in tokens if _WORD.search(t))


def _name(token: str) -> bool:
    return token[:1].isupper() and token.lower() != token and token not in ("I",)


# Inline code, links' targets, autolinks and HTML tags, URLs and paths: never edited.
_PROTECTED = re.compile(r"(`+).+?\1|\]\([^)]*\)|<[^>\n]*>|\S*(?:://|www\.)\S*|\S+[/\\]\S*")


def _in_code(text: str, h: Hunk) -> bool:
    return any(m.start() < h.end and h.start < m.end() for m in _PROTECTED.finditer(text))


def verdict(text: str, h: Hunk) -> str:
    """Why ``h`` is not a minimal correction of ``text`` ("" when it is one)."""
    if "\n" in h.old or "\n" in h.new:
        return "joins or splits lines"
    if not h.added and not h.removed:
        return "no change"
    cjk = bool(_CJK.search(h.old + h.new))
    limit = 4 if cjk else MAX_WORDS  # a Chinese word is often two characters
    if _words(h.removed) > limit or _words(h.added) > limit:
        return "changes too many words"
    if _MARKUP.search(h.old) or _MARKUP.search(h.new) or _in_code(text, h):
        return "touches Markdown or code"
    numbers_old = [t for t in h.removed if re.search(r"\d", t)]
    numbers_new = [t for t in h.added if re.search(r"\d", t)]
    if re.sub(r"\D", "", h.old) != re.sub(r"\D", "", h.new) or numbers_old != numbers_new:
        return "changes a number"  # or what is written with it: "200 g" -> "200g"
    if h.end == len(text.rstrip()) and not _words(h.added) and not _words(h.removed):
        return "changes how the line ends"  # a list item or a heading has no full stop
    if not h.added:  # only a doubled word may go: what is removed repeats its neighbour
        old_words, new_words = h.old.lower().split(), h.new.lower().split()
        if not new_words or old_words != new_words * 2:
            return "deletes words"
    if spelling_variant(h.old, h.new):
        return "spelling variant"
    if h.old.lower() == h.new.lower():
        if h.start != 0 and not re.fullmatch(r"i\b.*", h.old):
            return "only changes capitals"
        return ""
    at_start = h.start == 0
    old_words, new_words = h.old.split(), h.new.split()
    for k, w in enumerate(old_words):
        if _name(w) and not (at_start and k == 0) and w not in new_words:
            return "changes a name"
    if h.removed and h.added and not cjk:
        ratio = difflib.SequenceMatcher(None, h.old.lower(), h.new.lower()).ratio()
        pair = len(old_words) == len(new_words) and [
            (x, y) for x, y in zip(old_words, new_words, strict=True) if x != y
        ]
        if ratio < SIMILAR and not (pair and len(pair) == 1 and same_verb(*pair[0])):
            return "another word, not a fix"
    return ""


def rewritten(text: str, items: list[Hunk], rejected: int) -> bool:
    """Whether a reply is a rewrite rather than corrections: most of its changes fail
    the gate, or together they change more than a third of the words."""
    if rejected >= 2 and rejected >= len(items) - rejected:
        return True
    total = max(1, _words(tuple(tokenize(text))) if not _CJK.search(text) else len(text))
    changed = sum(
        max(_words(h.removed), _words(h.added)) if not _CJK.search(h.old) else len(h.old)
        for h in items
    )
    return changed > max(3, total / 3)
