"""The quality of quill's words on the embedded default model (CPU): a summary ends with
a complete sentence and keeps to its length; a draft is the piece and nothing about it.

Short on purpose (temperature 0, a fixed seed, small budgets): about a minute and a half
on two CPU cores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quill.engine.base import Piece
from quill.engine.loop import guarded
from quill.writing import draft as drafting
from quill.writing import metrics
from quill.writing.cleanup import draft_filters
from quill.writing.presets import sampling
from quill.writing.summarize import Summarizer, SummaryOptions

SALTMERE = Path(__file__).parent / "data" / "saltmere_report.md"
WORDS = 80
TOLERANCE = 0.5  # 40 to 120 words for 80 asked: a 0.5B model counts loosely

DRAFT_TOKENS = 320  # enough for a short piece and whatever the model adds after it
BRIEFS = [
    ("a product page for a linen shirt", "product", None),
    ("a launch email for our new tea shop", "email", 80),
    ("a short poem about the sea at night", "poem", None),
    ("写一首关于秋天的短诗", None, None),
]


@pytest.fixture(scope="module")
def engine_2k(default_model: Path) -> Iterator[Any]:
    """A 2,048-token context, so the ~3,100-token report is summarized in parts. One
    thread: steady on a loaded machine (llama.cpp's threads spin while they wait), about
    45 s here."""
    from quill.engine.llama import LlamaEngine

    engine = LlamaEngine(default_model, n_ctx=2048, threads=1)
    yield engine
    engine.close()


@pytest.mark.model
def test_summary_ends_with_a_sentence_and_keeps_to_its_length(engine_2k: Any) -> None:
    text = SALTMERE.read_text(encoding="utf-8")
    base = sampling("precise", 1, temperature=0, seed=1)
    s = Summarizer(engine_2k, SummaryOptions(words=WORDS, method="map-reduce"), base)
    job = s.start(s.plan(text, SALTMERE.name))
    for _ in s.run(job):
        pass
    assert not job.plan.single and len(job.plan.chunks) >= 3
    result = s.finish(job)
    summary = result.text
    assert metrics.ends_complete(summary), summary
    ratio = metrics.length_ratio(summary, WORDS, "English")
    assert abs(ratio - 1) <= TOLERANCE, f"{ratio:.2f} of {WORDS} words: {summary}"
    # A summary in its own words: no headings or code, no notes pasted back.
    assert "```" not in summary and "Part 1" not in summary, summary
    assert metrics.heading_echo(summary, text) == 0, summary
    for note in job.notes:
        assert "```" not in note.text and not note.text.lstrip().startswith("#"), note.text


def _draft(engine: Any, brief: str, form: str | None, words: int | None) -> str:
    messages = drafting.build_messages(brief, form=form, words=words)
    params = sampling("balanced", DRAFT_TOKENS, temperature=0, seed=1)
    pieces: Iterator[Piece] = guarded(engine.stream(messages, params))
    for f in draft_filters():  # what `quill draft` runs
        pieces = f(pieces)
    return "".join(p.text for p in pieces)


@pytest.mark.model
@pytest.mark.parametrize(("brief", "form", "words"), BRIEFS)
def test_draft_is_only_the_piece(
    llama_engine: Any, brief: str, form: str | None, words: int | None
) -> None:
    messages = drafting.build_messages(brief, form=form, words=words)
    prompt = messages[-1].content.lower()
    assert "same language" not in prompt and "markdown" not in prompt
    text = _draft(llama_engine, brief, form, words)
    assert text.strip(), brief
    assert metrics.leaked_phrases(text) == [], text
    if brief.startswith("写"):
        han = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
        assert han >= 10, text
