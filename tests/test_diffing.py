"""The word diff and the unified diff (quill.writing.diffing), pure functions."""

from __future__ import annotations

import difflib
import itertools
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from quill.writing.diffing import Change, changes, tokenize, unified, words_changed

PAIRS = [
    ("the quick brown fox jumps", "a slow brown fox leaps"),
    ("", "new text\n"),
    ("old text\n", ""),
    ("same\n", "same\n"),
    ("one\ntwo\nthree", "one\n2\nthree\nfour\n"),
    ("今天天气很好，我们去海边。", "今天天气不好，我们去山上。"),
    ("これはペンです。", "これは本です。"),
    ("Hello  world\r\n", "Hello world\n"),
    ("mixed 中文 and English", "mixed 日本語 and english!"),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_changes_give_both_texts_back(a: str, b: str) -> None:
    items = changes(a, b)
    assert "".join(c.old for c in items) == a
    assert "".join(c.new for c in items) == b
    for c in items:
        assert (c.old == c.new) == (c.op == "equal")
        assert c.op != "insert" or not c.old
        assert c.op != "delete" or not c.new
    for x, y in itertools.pairwise(items):
        assert (x.op == "equal") != (y.op == "equal")  # runs are merged


def test_random_edits_round_trip() -> None:
    rng = random.Random(7)
    words = ["the", "sea", "keeper", "light", "。", "天", "气", " ", "\n", ",", "don't"]
    for _ in range(200):
        a = "".join(rng.choice(words) + rng.choice(["", " "]) for _ in range(rng.randint(0, 40)))
        b = list(a)
        for _ in range(rng.randint(0, 6)):
            i = rng.randint(0, len(b))
            b[i:i] = rng.choice(words)
        b = "".join(b)
        items = changes(a, b)
        assert "".join(c.old for c in items) == a and "".join(c.new for c in items) == b


def test_tokens_keep_whitespace_and_split_cjk_by_character() -> None:
    text = "Don't stop—now!  今天天气\n\tend"
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert tokens[:5] == ["Don't ", "stop", "—", "now", "!  "]
    assert tokens[5:] == ["今", "天", "天", "气\n\t", "end"]
    assert tokenize("  lead") == ["  ", "lead"]


def test_whitespace_changes_are_small() -> None:
    assert changes("Hello  world", "Hello world") == [
        Change("equal", "Hello ", "Hello "),
        Change("delete", " ", ""),
        Change("equal", "world", "world"),
    ]
    assert changes("the brown fox", "the browns fox")[1] == Change("replace", "brown", "browns")


def test_word_level_changes() -> None:
    assert changes("the quick brown fox", "a slow brown fox") == [
        Change("replace", "the quick", "a slow"),
        Change("equal", " brown fox", " brown fox"),
    ]
    items = changes("I went to the store today.", "We drove to the shop today.")
    assert [c for c in items if c.op != "equal"] == [
        Change("replace", "I went", "We drove"),
        Change("replace", "store", "shop"),
    ]


def test_chinese_is_compared_by_character() -> None:
    items = changes("今天天气很好。", "今天天气不好。")
    assert items == [
        Change("equal", "今天天气", "今天天气"),
        Change("replace", "很", "不"),
        Change("equal", "好。", "好。"),
    ]
    assert words_changed(items) == (1, 1)


def test_words_changed_counts_words_not_tokens() -> None:
    assert words_changed(changes("one two three", "one four five six three")) == (3, 1)


def test_a_long_rewritten_paragraph_is_compared_quickly() -> None:
    import time

    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(3000)]
    words = rng.choices(vocab, weights, k=3000)
    a = " ".join(w + ("." if i % 15 == 14 else "") for i, w in enumerate(words))  # one line
    edited = a.split(" ")
    for i in range(0, len(edited), 25):
        edited[i] = "edited"
    b = " ".join(edited)
    t0 = time.perf_counter()
    items = changes(a, b)
    took = time.perf_counter() - t0
    # The reference, in the same run: the words of the whole line matched at once (what
    # changes() would do without the sentence level; about 100 times slower).
    t0 = time.perf_counter()
    difflib.SequenceMatcher(None, tokenize(a), tokenize(b), autojunk=False).get_opcodes()
    flat = time.perf_counter() - t0
    assert took < flat / 5, (took, flat)
    assert sum(1 for c in items if c.op != "equal") >= 120


def test_unified_is_empty_for_equal_texts_and_marks_a_missing_newline() -> None:
    assert unified("same\n", "same\n") == ""
    text = unified("a\nb", "a\nc", "x", "y")
    assert text.splitlines()[:3] == ["--- x", "+++ y", "@@ -1,2 +1,2 @@"]
    assert "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n" in text


@pytest.mark.skipif(shutil.which("patch") is None, reason="no patch program")
@pytest.mark.parametrize(("a", "b"), [p for p in PAIRS if p[0] != p[1] and "\r" not in p[0]])
def test_patch_applies_the_unified_diff(tmp_path: Path, a: str, b: str) -> None:
    f = tmp_path / "text.md"
    f.write_text(a, encoding="utf-8", newline="")
    diff = unified(a, b, "a/text.md", "b/text.md")
    subprocess.run(["patch", "-s", "-p1", "-d", str(tmp_path)], input=diff.encode(), check=True)
    if b:
        assert f.read_bytes().decode("utf-8") == b
    else:  # patch removes a file that becomes empty
        assert not f.exists() or f.read_text() == ""
