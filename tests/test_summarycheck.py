"""The check of a summary's final step: what fails it, and the retry it leads to."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from conftest import Run

from quill.engine.base import Message, Piece, Result, Sampling
from quill.engine.fake import FakeEngine
from quill.signals import ABORT
from quill.writing.figures import figures
from quill.writing.summarize import Summarizer, SummaryOptions
from quill.writing.summarycheck import (
    FIGURE_BONUS,
    INVENTED_COST,
    figures_penalty,
    invented_names,
    list_share,
    summary_verdict,
)

DOC = (
    "# The Harbour Report\n\n"
    + "\n\n".join(
        f"In {1990 + k} the harbour at Saltmere handled {120 + k * 7} ships, and the "
        f"pilots of berth {k} kept their own log of every tide and every late arrival."
        for k in range(12)
    )
    + "\n"
)
GOOD = (
    "The report follows the Saltmere harbour over twelve years, from 1990 to 2001. Ship "
    "numbers rose every year, from 120 to 197, and each berth's pilots kept a log of "
    "tides and late arrivals. The account is plain and numeric, and it ends with the "
    "busiest year on record."
)


class Signalled(FakeEngine):
    """Raises the abort flag, as Ctrl-C's handler does (quill.signals), at piece
    ``piece`` of its ``call``-th request (0 is the first)."""

    def __init__(self, reply: Any, *, call: int, piece: int, **kw: Any) -> None:
        super().__init__(reply, **kw)
        self.at = (call, piece)

    def stream(self, messages: list[Message], params: Sampling) -> Iterator[Piece]:
        call = len(self.calls)
        for i, piece in enumerate(super().stream(messages, params)):
            if (call, i) == self.at:
                ABORT.raised = True
            yield piece


def summarized_under_a_signal(engine: FakeEngine, words: int) -> Result:
    """The summary of DOC by ``engine`` (the flag lowered again after it)."""
    s = Summarizer(engine, SummaryOptions(words=words))
    job = s.start(s.plan(DOC, "harbour.md"))
    list(s.run(job))
    try:
        return s.finish(job)
    finally:
        ABORT.raised = False


def test_a_summary_in_its_own_words_at_the_length_asked_passes() -> None:
    v = summary_verdict(GOOD, DOC, target_words=50, lang="English")
    assert v.ok, v.problems
    assert v.penalty < 1.0


def test_a_copy_of_the_document_fails() -> None:
    copied = DOC[len("# The Harbour Report\n\n") :][:420]
    v = summary_verdict(copied, DOC, target_words=60, lang="English")
    assert any("copies the document" in p for p in v.problems)


def test_a_list_fails_where_prose_was_asked_and_passes_where_a_list_was() -> None:
    listed = "\n".join(f"- Ships rose to {120 + k} in year {k} of the count." for k in range(6))
    assert list_share(listed) == 1.0
    prose = summary_verdict(listed, DOC, target_words=50, lang="English")
    assert any("is a list" in p for p in prose.problems)
    bullets = summary_verdict(listed, DOC, target_words=50, lang="English", prose=False)
    assert not any("is a list" in p for p in bullets.problems)


def test_an_escaped_list_number_is_a_list_line() -> None:
    """Markdown shows "1\\." as "1.": a model that may not write "1." writes that."""
    escaped = "Key findings:\n\n1\\. Coverage is high.\n2\\. Hesitancy is low.\n\\- And more."
    assert list_share(escaped) == 0.75


def test_a_line_or_three_times_the_length_fails() -> None:
    short = summary_verdict("The Harbour Report.", DOC, target_words=80, lang="English")
    assert any("times the length asked" in p for p in short.problems)
    long = summary_verdict(" ".join([GOOD] * 6), DOC, target_words=40, lang="English")
    assert not long.ok


def test_chinese_length_is_counted_in_characters() -> None:
    zh_doc = "松风茶馆由沈鹤年于一九二六年开办。" * 40
    summary = (
        "本文介绍了松风茶馆的历史：它由一位私塾先生在一九二六年开办，此后几经变迁，至今仍在营业。"
    )
    v = summary_verdict(summary, zh_doc, target_words=25, lang="Chinese")
    assert not any("times the length" in p for p in v.problems), v.problems


def test_a_name_the_document_does_not_have_counts_against_a_try() -> None:
    source = "The survey of 1,200 parents in the Hauler district found coverage at 91%."
    assert invented_names("Coverage in South Africa was 91%.", source) == ["South Africa"]
    # a plural of the document's name, an acronym, a sentence's first word: not invented
    assert invented_names("Overall, the Haulers' CEO saw 91%. Parents agreed.", source) == []
    assert invented_names("本文来自 Alibaba Cloud。", source) == ["Alibaba Cloud"]
    plain = summary_verdict("Coverage was 91% among parents.", source, 6, "English")
    named = summary_verdict("Coverage in Oregon was 91% among parents.", source, 6, "English")
    assert not plain.problems and not named.problems
    assert named.penalty > plain.penalty  # of two that pass, the one inventing less is kept


def test_a_copied_summary_is_written_again_with_the_next_seed() -> None:
    replies: list[str] = []

    def reply(messages: list[Message]) -> str:
        # The first try copies the document out; the retry writes a summary.
        text = DOC[len("# The Harbour Report\n\n") :][:500] if not replies else GOOD
        replies.append(text)
        return text

    engine = FakeEngine(reply, n_ctx=4096)
    s = Summarizer(engine, SummaryOptions(words=50))
    job = s.start(s.plan(DOC, "harbour.md"))
    list(s.run(job))
    result = s.finish(job)
    assert len(engine.calls) == 3  # the default's three tries; the later two pass
    assert engine.calls[1] == engine.calls[0]  # the retry is asked alike (another seed)
    assert result.text == GOOD
    assert "retried with seed" in result.note and "copies the document" in result.note
    # Both tries are counted in the job's stats: their cost is real.
    assert job.total.generated_tokens == sum(len(r.split()) for r in replies)


def test_a_summary_that_keeps_failing_is_kept_at_its_best_and_said_so() -> None:
    engine = FakeEngine("This is it.", n_ctx=4096)
    s = Summarizer(engine, SummaryOptions(words=80))
    job = s.start(s.plan(DOC, "harbour.md"))
    list(s.run(job))
    result = s.finish(job)
    assert len(engine.calls) == 3  # the first try and two retries, no more
    assert result.text == "This is it."
    assert "still failing after 3 tries" in result.note


def test_a_signal_while_a_try_is_written_stops_it_and_keeps_its_text() -> None:
    """Ctrl-C raises the process-wide abort flag (quill.signals); the try in progress
    stops at its next piece, with no retry after it, and what it wrote is the result."""

    text = "This one is copied out word for word, and goes on and on."
    engine = Signalled(text, n_ctx=4096, call=0, piece=4)
    result = summarized_under_a_signal(engine, words=80)
    assert len(engine.calls) == 1
    assert result.finish == "interrupted"
    # What it wrote before the signal, and no more.
    assert result.text and text.startswith(result.text) and len(result.text) < len(text)
    assert "on and on" not in result.text


def test_best_of_n_writes_n_and_keeps_the_best(cli: Callable[..., Run]) -> None:
    """`quill summarize --best-of 3`: three summaries; of the two that pass, which carry
    the same figures, the earlier is printed, and the report says so."""
    replies = iter(
        [
            "This is short.",
            GOOD,
            " ".join([GOOD] * 2),
        ]
    )
    engine = FakeEngine(lambda m: next(replies), n_ctx=4096)
    r = cli(["summarize", "--best-of", "3", "--words", "50"], stdin=DOC, engine=engine)
    assert r.exit_code == 0, r.stderr
    assert len(engine.calls) == 3
    assert "twelve years" in r.stdout and r.stdout.count("twelve years") == 1
    assert "kept the best of 3 tries" in r.stderr


VAGUE = (
    "The report follows the Saltmere harbour over a number of years. Ship numbers rose "
    "steadily, and each berth's pilots kept a log of tides and late arrivals. The account "
    "is plain and careful, and it ends with the busiest year the harbour has seen so far."
)
INVENTED = GOOD.replace("from 120 to 197", "from 350 to 480")


def test_the_documents_figures_lower_the_penalty_and_invented_ones_raise_it() -> None:
    """Of summaries that pass, the one that carries what the document found ranks first,
    and one with numbers the document does not have ranks last."""
    good, vague, invented = (
        summary_verdict(t, DOC, target_words=50, lang="English") for t in (GOOD, VAGUE, INVENTED)
    )
    assert good.ok and vague.ok and invented.ok
    assert good.penalty < vague.penalty < invented.penalty
    assert figures_penalty(GOOD, figures(DOC)) == -FIGURE_BONUS * 4  # 1990, 2001, 120, 197
    assert figures_penalty(VAGUE, figures(DOC)) == 0.0
    assert figures_penalty(INVENTED, figures(DOC)) == INVENTED_COST * 2 - FIGURE_BONUS * 2


def test_by_default_three_summaries_are_written_and_the_one_with_the_figures_kept(
    cli: Callable[..., Run],
) -> None:
    """`quill summarize` writes three summaries and keeps the best by the check, saying
    nothing of it when the first passed; `--best-of 1` writes one."""
    engine = FakeEngine(lambda m: VAGUE if len(engine.calls) != 2 else GOOD, n_ctx=4096)
    r = cli(["summarize", "--words", "50"], stdin=DOC, engine=engine)
    assert r.exit_code == 0, r.stderr
    assert len(engine.calls) == 3
    assert "from 120 to 197" in r.stdout
    assert "best of" not in r.stderr and "retried" not in r.stderr
    once = FakeEngine(lambda m: VAGUE, n_ctx=4096)
    r = cli(["summarize", "--words", "50", "--best-of", "1"], stdin=DOC, engine=once)
    assert r.exit_code == 0 and len(once.calls) == 1


def test_ctrl_c_in_the_second_try_keeps_the_first_whole() -> None:
    """The default writes three summaries: Ctrl-C while the second is written stops it and
    keeps the first, which is whole and passed, rather than the second's first words;
    the result still says it was interrupted, so the command stops."""

    engine = Signalled(lambda m: GOOD, n_ctx=4096, call=1, piece=3)
    result = summarized_under_a_signal(engine, words=50)
    assert len(engine.calls) == 2
    assert result.finish == "interrupted"
    assert result.text == GOOD
    assert result.note == "interrupted while try 2 was written; kept try 1, which is whole"


def test_a_keyboard_interrupt_in_a_later_try_gives_out_the_whole_one() -> None:
    """Where Ctrl-C comes as KeyboardInterrupt (no handler installed), the generation
    gives out the whole try that passed before it raises."""
    from quill.engine.generation import Generation
    from quill.writing.retry import PASS, checked

    def start(p: Sampling) -> Generation:
        def pieces() -> Iterator[Piece]:
            yield Piece("A whole first try." if p.seed == 3 else "The second")
            if p.seed != 3:
                raise KeyboardInterrupt
            yield Piece("", finish="stop")

        return Generation(pieces(), p)

    gen = checked(start, lambda text: PASS, Sampling(seed=3), n=2)
    got = []
    try:
        for piece in gen:
            got.append(piece)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    assert "".join(got) == "A whole first try."
