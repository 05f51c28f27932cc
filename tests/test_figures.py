"""A document's key figures: which sentences are picked, and how a summary step shows them."""

from __future__ import annotations

import pytest
from conftest import ask

from quill.engine.fake import FakeEngine
from quill.writing import figures
from quill.writing.summarize import Summarizer, SummaryOptions

pytestmark = pytest.mark.usefixtures("unchecked")  # see conftest.unchecked

REPORT = """# Valley water report

The district served 48,300 residents in 2023, and 96.2 % of the samples met the standard.

## Setup

- Install the logger on 12 sites.
- Set the interval to 15 minutes.

| site | samples |
|------|---------|
| A    | 1,204   |

```
sample --every 900
```

## Results

Leaks fell by 17.5% after the mains were replaced. The work cost 2.4 million pounds.

Ruth Harlow · Water Office · 2024-03-01

The board met twice. It agreed on nothing new, and P99 of s3 stayed as it was.
"""

LEAKS = "Leaks fell by 17.5% after the mains were replaced."


def test_figures_are_normalized() -> None:
    assert figures.figures("48,300 and 2300 and 96.2 % and 3 steps") == {"48300", "2300", "96.2%"}
    assert figures.figures("part 2, P99, s33, v1") == frozenset()


def test_candidates_are_prose_statements_that_carry_a_figure() -> None:
    texts = [c.text for c in figures.candidates(REPORT)]
    assert "Leaks fell by 17.5% after the mains were replaced." in texts
    assert "The work cost 2.4 million pounds." in texts
    assert any(t.startswith("The district served 48,300 residents") for t in texts)
    joined = " ".join(texts)
    # Lists, tables, code and a byline are not statements of what the document found;
    # a sentence without a figure is not a key figure.
    for left_out in ("12 sites", "15 minutes", "1,204", "900", "2024-03-01", "board"):
        assert left_out not in joined


def test_a_key_sentence_loses_its_markup_but_not_its_words() -> None:
    """Emphasis, code spans and a link's target go; an underscore inside a name stays:
    shown "jinjacaps" for `jinja_caps`, the 1.5B wrote "jinjacaps" in its summary."""
    text = (
        "The parser reads `jinja_caps` and **all** _preserved_ tokens in 12 passes, as "
        "[the design note](https://example.com/note) says.\n"
    )
    [got] = [c.text for c in figures.candidates(text)]
    assert got == (
        "The parser reads jinja_caps and all preserved tokens in 12 passes, as the design "
        "note says."
    )


def test_key_sentences_are_sized_to_the_summary_and_in_document_order() -> None:
    assert len(figures.key_sentences(REPORT, 40)) == figures.MIN_SHOWN
    many = figures.key_sentences(REPORT, 400)
    assert len(many) == 3  # all there are
    order = [REPORT.index(s.split(" ")[1]) for s in many]
    assert order == sorted(order)
    assert figures.key_sentences("# Notes\n\nNothing to count here.\n", 150) == []
    long = "\n\n".join(f"Passage {k} says that {k * 1000 + 17} units were sold." for k in range(60))
    picked = figures.key_sentences(long, 400)
    assert len(picked) == figures.MAX_SHOWN
    assert sum(len(s) for s in picked) <= figures.MAX_CHARS


def single_prompt(text: str = REPORT, **opts: object) -> str:
    engine = FakeEngine("summary.", n_ctx=4096)
    s = Summarizer(engine, SummaryOptions(**opts))  # type: ignore[arg-type]
    job = s.start(s.plan(text, "water.md"))
    list(s.run(job))
    s.finish(job)
    return ask(engine.calls[-1])


def test_a_paragraph_summary_is_shown_the_key_figures_after_the_document() -> None:
    user = single_prompt(words=200)  # room for all three
    text_end = user.index("It agreed on nothing new")
    request = user.rindex("Summarize this in about")
    # After the document, just before the request, one a line, under a line that reads
    # as the author's own (a label that names them comes back in a small model's summary).
    block = user[user.index("\n\n", text_end) : request].strip().splitlines()
    assert block[0] == "In short:"
    assert block[1].startswith("The district served 48,300 residents")
    assert block[2:] == [LEAKS, "The work cost 2.4 million pounds."]


@pytest.mark.parametrize("opts", [{"figures": False}, {"format": "bullets"}, {"format": "tldr"}])
def test_no_key_figures_where_they_are_off_or_the_summary_is_not_a_paragraph(
    opts: dict[str, object],
) -> None:
    assert single_prompt(**opts).count(LEAKS) == 1  # in the document only


def test_no_key_figures_where_the_document_has_none() -> None:
    text = "# Notes\n\nThe board met. It agreed on nothing new.\n"
    user = single_prompt(text)
    assert user.count("It agreed on nothing new.") == 1
    assert user.endswith("nothing new.\n\nSummarize this in about 3 words.")


def test_chinese_documents_are_shown_them_in_chinese() -> None:
    text = "# 报告\n\n全年数据到达率为 96.2%，共有 126 个节点。\n\n大田节水约 23%，产量不减。\n"
    user = single_prompt(text)
    assert "简而言之：\n全年数据到达率为 96.2%，共有 126 个节点。" in user
    assert "大田节水约 23%，产量不减。\n\n请用" in user


def test_a_selection_leaves_room_for_the_key_figures() -> None:
    # A document three times the context: selected, and the step with the figures still
    # fits beside the summary's budget.
    para = "The plant made {n} tonnes of parts in week {n}, and shipped most of them."
    text = "# Plant\n\n" + "\n\n".join(para.format(n=10 + k) for k in range(400))
    engine = FakeEngine("summary.", n_ctx=1024)
    s = Summarizer(engine, SummaryOptions(method="select", words=60))
    job = s.start(s.plan(text, "plant.md"))
    list(s.run(job))
    s.finish(job)
    assert job.plan.method == "select" and job.plan.figures
    call, params = engine.calls[-1], engine.params[-1]
    assert ask(call).count("The plant made") > job.plan.selection.text.count("The plant made")
    assert engine.count_messages(call) + params.max_tokens <= 1024


@pytest.mark.parametrize("method", ["map-reduce", "refine"])
def test_a_document_read_in_parts_is_not_searched_for_them(method: str) -> None:
    para = "The plant made {n} tonnes of parts in week {n}, and shipped most of them."
    text = "# Plant\n\n" + "\n\n".join(para.format(n=10 + k) for k in range(120))
    s = Summarizer(FakeEngine("summary.", n_ctx=1024), SummaryOptions(method=method, words=60))
    assert s.plan(text, "plant.md").figures == []


def test_the_line_above_them_is_in_the_documents_language() -> None:
    # A Chinese summary of an English report: the sentences are English, and so is the
    # line above them.
    user = single_prompt(words=200, lang="Chinese")
    assert "In short:\nThe district served 48,300" in user and "简而言之" not in user
