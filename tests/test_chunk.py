"""The chunker: exact round trip, every chunk within budget, cuts on structure."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quill.writing.chunk import Chunk, chunk_text, heading_paths, sentence_ends

DATA = Path(__file__).parent / "data"


def words(text: str) -> int:
    return len(text.split())


def cjk_count(text: str) -> int:
    """One token per non-space character: a stand-in for a CJK tokenizer."""
    return sum(not ch.isspace() for ch in text)


ENGLISH = """# Field Guide

The valley is long and narrow. Its river runs north in spring. \
Dr. Aho counted the birds, e.g. the herons, every morning.

## Birds

Herons nest in the reeds. They leave in October when the water cools. Nobody knows where they go.

```python
# not a heading
def count(birds):

    return len(birds)
```

## Empty

## Plants

- Reeds grow by the water.
- Willows grow on the banks.

This one sentence is far too long for any small budget because it keeps going on and on \
without a single full stop for many many words and then some more words again

### Deep

The last section ends here.
"""

CHINESE = """# 山谷

山谷很长，也很窄。春天河水向北流！谁会在清晨数鸟？阿霍博士每天都数。

## 鸟类

苍鹭在芦苇中筑巢。十月水变冷时它们离开。没有人知道它们去了哪里。

## 植物

芦苇长在水边。柳树长在岸上。
"""

JAPANESE = "谷は長くて狭い。春には川が北へ流れる！誰が朝に鳥を数えるのか？博士は毎日数えた。"


def check(chunks: list[Chunk], text: str, budget: int, count: Callable[[str], int]) -> None:
    assert "".join(c.text for c in chunks) == text
    offset = 0
    for c in chunks:
        assert c.tokens == count(c.text)
        assert c.tokens <= budget, (c.tokens, budget, c.text)
        assert c.start == offset
        offset += len(c.text)


@pytest.mark.parametrize("budget", [6, 9, 14, 25, 40, 80, 500])
def test_english_round_trip_within_budget(budget: int) -> None:
    chunks = chunk_text(ENGLISH, budget, words)
    check(chunks, ENGLISH, budget, words)


@pytest.mark.parametrize("budget", [8, 12, 20, 40, 400])
def test_chinese_round_trip_within_budget(budget: int) -> None:
    chunks = chunk_text(CHINESE, budget, cjk_count)
    check(chunks, CHINESE, budget, cjk_count)


def test_whole_document_that_fits_is_one_chunk() -> None:
    chunks = chunk_text(ENGLISH, 10_000, words)
    assert len(chunks) == 1
    assert chunks[0].text == ENGLISH
    assert chunks[0].tokens == words(ENGLISH)


def test_empty_input_and_bad_budget() -> None:
    assert chunk_text("", 10, words) == []
    with pytest.raises(ValueError):
        chunk_text("x", 0, words)


def test_chinese_cuts_at_sentence_ends_only() -> None:
    # Every sentence of CHINESE fits 12 "tokens", so no cut falls inside one.
    chunks = chunk_text(CHINESE, 12, cjk_count)
    check(chunks, CHINESE, 12, cjk_count)
    assert len(chunks) > 3
    for c in chunks[:-1]:
        body = c.text.rstrip()
        assert body[-1] in "。！？" or body.lstrip("#").strip() in ("山谷", "鸟类", "植物"), body


def test_japanese_sentence_ends() -> None:
    ends = sentence_ends(JAPANESE)
    cut = [JAPANESE[:e][-1] for e in ends]
    assert cut == ["。", "！", "？"]
    chunks = chunk_text(JAPANESE, 16, cjk_count)
    check(chunks, JAPANESE, 16, cjk_count)
    assert all(c.text[-1] in "。！？" for c in chunks)


def test_english_sentences_and_abbreviations() -> None:
    text = "Dr. Aho came home. He saw J. Smith, e.g. a friend. Then 3.5 km later! Done?"
    ends = sentence_ends(text)
    pieces = [text[a:b] for a, b in zip([0, *ends], [*ends, None], strict=True)]
    assert pieces == [
        "Dr. Aho came home. ",
        "He saw J. Smith, e.g. a friend. ",
        "Then 3.5 km later! ",
        "Done?",
    ]


def test_never_mid_sentence_when_sentences_fit() -> None:
    text = ENGLISH.replace(
        "This one sentence is far too long for any small budget because it keeps going on and "
        "on without a single full stop for many many words and then some more words again",
        "A short one.",
    )
    budget = 12
    chunks = chunk_text(text, budget, words)
    check(chunks, text, budget, words)
    for c in chunks[:-1]:
        last = c.text.rstrip().splitlines()[-1]
        ok = (
            last.endswith((".", "!", "?"))
            or last.startswith(("#", "- ", "```"))
            or last.strip() in ("return len(birds)", "def count(birds):")
        )
        assert ok, repr(c.text)


def test_one_giant_sentence_is_split_within_budget() -> None:
    giant = " ".join(f"word{i}" for i in range(500)) + "."
    text = f"# Title\n\nShort start.\n\n{giant}\n\nShort end.\n"
    chunks = chunk_text(text, 50, words)
    check(chunks, text, 50, words)
    assert len(chunks) >= 10
    # The sentences around the giant one are not glued into its pieces mid-way.
    assert chunks[-1].text.endswith("Short end.\n")


def test_giant_cjk_sentence_without_punctuation_is_split_by_characters() -> None:
    text = "长" * 100 + "。"
    chunks = chunk_text(text, 30, cjk_count)
    check(chunks, text, 30, cjk_count)
    assert [c.tokens for c in chunks] == [30, 30, 30, 11]


def test_code_block_kept_whole_where_it_fits() -> None:
    chunks = chunk_text(ENGLISH, 25, words)
    fence = re.search(r"```python.*?```\n", ENGLISH, re.S)
    assert fence is not None
    assert any(fence.group(0) in c.text for c in chunks)


def test_code_block_too_big_is_split_at_line_ends() -> None:
    code = "```\n" + "".join(f"x{i} = {i} + {i}\n" for i in range(40)) + "```\n"
    text = "Intro.\n\n" + code + "\nOutro.\n"
    chunks = chunk_text(text, 30, words)
    check(chunks, text, 30, words)
    starts = [c.start for c in chunks]
    for s in starts[1:]:
        assert text[s - 1] == "\n"  # every cut falls at a line end


def test_hash_inside_code_is_not_a_heading() -> None:
    assert heading_paths(ENGLISH) == [
        ("Field Guide",),
        ("Field Guide", "Birds"),
        ("Field Guide", "Empty"),
        ("Field Guide", "Plants"),
        ("Field Guide", "Plants", "Deep"),
    ]


def test_heading_path_of_each_chunk() -> None:
    chunks = chunk_text(ENGLISH, 14, words)
    by_start = {c.text.split("\n", 1)[0]: c.headings for c in chunks}
    assert by_start["## Birds"] == ("Field Guide", "Birds")
    assert by_start["## Plants"] == ("Field Guide", "Plants")
    deep = [c for c in chunk_text(ENGLISH, 6, words) if c.text.startswith("### Deep")]
    assert deep and deep[0].headings == ("Field Guide", "Plants", "Deep")
    # A chunk that starts inside a section knows the section it is in.
    mid = [c for c in chunks if c.text.startswith("They leave")]
    assert mid and mid[0].headings == ("Field Guide", "Birds")


def test_empty_section_survives() -> None:
    chunks = chunk_text(ENGLISH, 14, words)
    check(chunks, ENGLISH, 14, words)
    assert any("## Empty" in c.text for c in chunks)


def test_cuts_prefer_headings_and_never_end_on_a_heading() -> None:
    para = "One two three four five. Six seven eight nine ten.\n\n"
    text = "# A\n\n" + para * 3 + "## B\n\n" + para * 3 + "## C\n\n" + para
    chunks = chunk_text(text, 45, words)
    check(chunks, text, 45, words)
    assert chunks[1].text.startswith("## B")  # not filled up with B's first paragraphs
    for c in chunks:
        last = c.text.rstrip().splitlines()[-1]
        assert not last.startswith("#"), repr(c.text)


def test_crlf_and_no_final_newline_round_trip() -> None:
    text = "# T\r\n\r\nLine one. Line two.\r\n\r\nLast line without newline."
    for budget in (3, 5, 100):
        check(chunk_text(text, budget, words), text, budget, words)


def test_random_documents_round_trip() -> None:
    rng = random.Random(7)
    blocks = [
        "# Title\n\n",
        "## Part\n\n",
        "A sentence here. Another one follows!\n\n",
        "第一句。第二句！\n\n",
        "```\ncode line\n\nmore code\n```\n\n",
        "- item\n- item two\n\n",
        " ".join(["long"] * 40) + ".\n\n",
        "\n\n\n",
        "Dr. Who said no. e.g. yes.\n",
    ]
    for _ in range(200):
        text = "".join(rng.choice(blocks) for _ in range(rng.randint(1, 15)))
        budget = rng.randint(1, 60)
        check(chunk_text(text, budget, words), text, budget, words)
        check(chunk_text(text, max(budget, 2), cjk_count), text, max(budget, 2), cjk_count)


@pytest.mark.model
def test_real_tokenizer_round_trip(llama_engine: Any) -> None:
    text = (DATA / "saltmere_report.md").read_text(encoding="utf-8")
    count = llama_engine.count
    for budget in (300, 800, 1500):
        chunks = chunk_text(text, budget, count)
        check(chunks, text, budget, count)
        assert len(chunks) >= count(text) // budget
