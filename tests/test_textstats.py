"""Word counts and reading time in any script (quill.writing.textstats)."""

from __future__ import annotations

import pytest

from quill.writing.textstats import reading_time, text_stats


@pytest.mark.parametrize(
    ("text", "latin", "cjk"),
    [
        ("", 0, 0),
        ("# Hello, world!\n\n- don't stop **now** — it's 3.5 well-known things", 9, 0),
        ("写一首关于秋天的短诗。", 0, 10),
        ("これはテストです。Hello", 1, 8),
        ("안녕하세요 세계", 2, 0),  # Korean is written with spaces: words
        ("Привет, мир", 2, 0),
        ("增长42%的 revenue", 2, 3),
        ("--- *** ``` | --- |", 0, 0),
    ],
)
def test_words_in_any_script(text: str, latin: int, cjk: int) -> None:
    st = text_stats(text)
    assert (st.latin_words, st.cjk_chars, st.words) == (latin, cjk, latin + cjk)


def test_reading_time_follows_both_rates() -> None:
    assert text_stats("word " * 230).reading_s == pytest.approx(60)
    assert text_stats("字" * 400).reading_s == pytest.approx(60)
    assert text_stats("word " * 230 + "字" * 400).reading_s == pytest.approx(120)
    assert text_stats("字" * 400).describe() == "400 characters"
    assert text_stats("word " * 230).describe() == "230 words"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0 s"), (1, "5 s"), (22, "20 s"), (61, "1 min"), (600, "10 min"), (3900, "1 h 5 min")],
)
def test_reading_time_is_rounded_for_people(seconds: float, shown: str) -> None:
    assert reading_time(seconds) == shown
