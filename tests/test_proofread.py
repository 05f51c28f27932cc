"""`quill proofread`: minimal corrections as reviewable changes (English and Chinese),
the y/n/a/q review (an injected input stream, and a real pty), the grammar checker
paired with the model, and never overwriting the source without --in-place."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest
from conftest import Run, Streams

from quill import prompts
from quill.engine.base import Message
from quill.engine.fake import FakeEngine
from quill.env import Environment
from quill.errors import UsageError
from quill.writing import minimal
from quill.writing import proofread as pr
from quill.writing.presets import sampling

TEXT = "Teh cat sat on the mat. It was realy happy.\n\nThe dog barked.\n"
FIXED = "The cat sat on the mat. It was really happy.\n\nThe dog barked.\n"
SLIPS = {"Teh": "The", "realy": "really"}


def fixer(pairs: dict[str, str]) -> Callable[[list[Message]], str]:
    """A model that reads one sentence and corrects the words in ``pairs``."""

    def reply(messages: list[Message]) -> str:
        text = messages[-1].content
        for old, new in pairs.items():
            text = text.replace(old, new)
        return text

    return reply


# -- changes ------------------------------------------------------------------------------------


def test_each_correction_is_one_edit_and_applying_all_gives_the_model_text() -> None:
    items = pr.edits(TEXT, FIXED, FIXED)
    assert [(e.old, e.new, e.by) for e in items] == [
        ("Teh", "The", "model"),
        ("realy", "really", "model"),
    ]
    assert pr.apply(TEXT, items) == FIXED
    assert pr.apply(TEXT, items[1:]) == TEXT.replace("realy", "really")
    assert pr.apply(TEXT, []) == TEXT


def test_chinese_is_compared_character_by_character() -> None:
    text = "我们在公园里散不。天气很好。\n"
    fixed = "我们在公园里散步。天气很好。\n"
    items = pr.edits(text, fixed, fixed)
    assert [(e.old, e.new) for e in items] == [("不", "步")]
    assert pr.apply(text, items) == fixed


def test_the_checker_adds_what_the_model_missed_and_says_who_found_what() -> None:
    model = "The cat sat on the mat. It was realy happy.\n\nThe dog barked.\n"  # missed realy
    realy, dog = TEXT.index("realy"), TEXT.index("The dog")
    fixes = [
        pr.Fix(0, 3, "The", "Typo", "Did you mean the?"),
        pr.Fix(realy, realy + 5, "really", "Spelling", "Check the spelling."),
        pr.Fix(dog, dog + 3, "A", "Grammar", "overlaps nothing the model did"),
    ]
    final, used = pr.merge(TEXT, model, fixes)
    assert final == "The cat sat on the mat. It was really happy.\n\nA dog barked.\n"
    assert used == fixes[1:]  # the first: the model had made that change already
    items = pr.edits(TEXT, final, model, fixes)
    assert [(e.old, e.new, e.by) for e in items] == [
        ("Teh", "The", "model+checker"),
        ("realy", "really", "checker"),
        ("The", "A", "checker"),
    ]
    assert items[1].why == "Check the spelling."
    assert "by the grammar checker" in pr.summary(items)


def test_where_both_touched_the_text_the_model_wins() -> None:
    model = "Tho cat sat on the mat. It was realy happy.\n\nThe dog barked.\n"
    final, used = pr.merge(TEXT, model, [pr.Fix(0, 3, "The", "Typo")])
    assert final == model and used == []


def test_context_shows_the_change_within_its_line() -> None:
    text = "First line.\n" + "word " * 40 + "teh end " + "word " * 40 + "\nLast line.\n"
    start = text.index("teh")
    edit = pr.Edit(0, start, "teh", "the")
    runs = pr.context(text, edit, width=20)
    joined_old = "".join(r.old for r in runs)
    assert "teh" in joined_old and "First" not in joined_old and "Last" not in joined_old
    assert joined_old.startswith("…") and joined_old.endswith("…")
    assert [r.op for r in runs] == ["equal", "replace", "equal"]


# -- Harper (the optional grammar checker) ----------------------------------------------------


def test_harper_catches_plain_slips_and_leaves_technical_words_alone() -> None:
    pytest.importorskip("harper")
    check = pr.harper_checker()
    assert check is not None
    text = "Teh weather was realy nice, and we walked to the the park.\n"
    fixes = {(text[f.start : f.end], f.replacement) for f in check(text)}
    assert ("Teh", "The") in fixes and ("realy", "really") in fixes
    assert any(old.lower() == "the the" for old, _ in fixes)
    tech = "We load GGUF files with llama.cpp and Qwen2.5 on a small GPU.\n"
    assert check(tech) == []
    assert all(f.replacement != "wet her" for f in check("I wonder wether it works.\n"))


def test_harper_fixes_a_plural_possessive_whole_and_drops_no_word() -> None:
    pytest.importorskip("harper")
    check = pr.harper_checker()
    assert check is not None
    text = "The childrens' corner is busy. Its the best part.\n"
    fixes = {(text[f.start : f.end], f.replacement) for f in check(text)}
    assert ("childrens'", "children's") in fixes  # not "children's'"
    # Harper's "Repetition" of "Its the" would drop "the": only a word said twice goes
    assert all(not old.startswith("Its") for old, _ in fixes)


# -- the minimal-edit gate ---------------------------------------------------------------------


def test_a_change_keeps_the_sentences_own_spacing_and_says_what_it_took() -> None:
    text = "We baked  loaf, and the the kitchen smelled."
    found = minimal.hunks(text, "We baked a loaf, and the kitchen smelled.")
    assert [(h.old, h.new) for h in found] == [("baked", "baked a"), ("the the", "the")]
    assert all(not minimal.verdict(text, h) for h in found)
    assert minimal.apply_hunks(text, found) == "We baked a  loaf, and the kitchen smelled."
    assert minimal.hunks("One line.", "One\n  line.") == []  # spacing is the text's own


@pytest.mark.parametrize(
    ("text", "reply", "why"),
    [
        ("The cat sat on the mat today.", "The cat sat.", "changes too many words"),
        ("The cat sat on the old mat.", "The cat sat on the mat.", "deletes words"),
        ("It cost 12 pounds.", "It cost 15 pounds.", "changes a number"),
        ("Add 200 g of flour.", "Add 200g of flour.", "changes a number"),
        ("Ask Priya or me.", "Ask Maria or me.", "changes a name"),
        ("Run `teh` now.", "Run `the` now.", "touches Markdown or code"),
        ("It was a quiet evening.", "It was a calm evening.", "another word, not a fix"),
        ("A bright colour.", "A bright color.", "spelling variant"),
        ("The new catalogue.", "The new catalog's.", "spelling variant"),
        ("We travelled far.", "We traveled far.", "spelling variant"),
        ("One line.", "One\nnew line.", "joins or splits lines"),
    ],
)
def test_the_gate_refuses_what_is_not_a_minimal_correction(text: str, reply: str, why: str) -> None:
    found = minimal.hunks(text, reply)
    assert found and all(minimal.verdict(text, h) == why for h in found)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("We was tired.", "We were tired."),
        ("We buyed a cup.", "We bought a cup."),
        ("Its a small boat.", "It's a small boat."),
        ("It is better then before.", "It is better than before."),
        ("Go to the the car.", "Go to the car."),
        ("She bought new bicycle.", "She bought a new bicycle."),
        ("我们高兴的唱歌。", "我们高兴地唱歌。"),
    ],
)
def test_the_gate_keeps_real_corrections(text: str, reply: str) -> None:
    found = minimal.hunks(text, reply)
    assert found and all(minimal.verdict(text, h) == "" for h in found)


def test_british_and_american_spellings_are_variants_not_mistakes() -> None:
    for old, new in [
        ("neighbour", "neighbor"),
        ("neighbourhood", "neighborhood"),
        ("favourably", "favorably"),
        ("organise", "organize"),
        ("centre", "center"),
    ]:
        assert minimal.spelling_variant(old, new)
        assert minimal.spelling_variant(new, old)
    for old, new in [("their", "there"), ("four", "for"), ("caled", "called"), ("then", "than")]:
        assert not minimal.spelling_variant(old, new)


def test_prose_is_cut_into_sentences_and_markdown_is_never_sent() -> None:
    text = (
        "# Teh title\n\n- first item. Second sentence!\n> a quote\n\n"
        "| a | b |\n|---|---|\n\n```\ncode here.\n```\n---\n"
    )
    found = pr.units(text)
    assert [u.text for u in found] == [
        "Teh title",
        "first item.",
        "Second sentence!",
        "a quote",
    ]
    assert all(text[u.start : u.end] == u.text for u in found)


def test_a_rewrite_is_retried_once_with_another_seed_then_left() -> None:
    replies = iter(["A completely different sentence about dogs.", "The cat was really happy."])
    engine = FakeEngine(lambda messages: next(replies))
    params = sampling("precise", 256, temperature=0.0, seed=7)
    text = "The cat was realy happy.\n"
    final, items, run = pr.proofread_text(engine, params, text, prompts.load("proofread"))
    assert final == "The cat was really happy.\n"
    assert run.done_units[0].tries == 2
    assert engine.params[1].seed == 8 and engine.params[1].temperature > 0
    engine = FakeEngine("A completely different sentence about dogs.")
    final, items, run = pr.proofread_text(engine, params, text, prompts.load("proofread"))
    assert final == text and items == [] and len(engine.calls) == 2


# A document of three sections, 30 lines: the reply that once came back for it was the
# first four lines, a "correction" that deleted 26 lines.
SECTIONS = (
    "# Notes from the harbour\n\nThe ferry leaves at seven. It carries bikes and dogs.\n\n"
    + "".join(
        f"## Part {n}\n\n- the first point of part {n}\n- the second point\n- a third\n\n"
        f"A paragraph that closes part {n}. It has two sentences.\n\n"
        for n in (1, 2, 3)
    )
    + "```sh\nquill proofread notes.md\n```\n"
)


def test_a_reply_that_drops_lines_is_never_applied(cli: Callable[..., Run], tmp_path: Path) -> None:
    assert SECTIONS.count("\n") == 31
    cut = "\n".join(SECTIONS.split("\n")[:5])  # 26 lines fewer
    src = tmp_path / "notes.md"
    src.write_text(SECTIONS, encoding="utf-8")
    r = cli(
        ["proofread", str(src), "--apply", "--in-place", "--no-checker"],
        engine=FakeEngine(cut),
    )
    assert r.exit_code == 0, r.stderr
    assert src.read_text(encoding="utf-8") == SECTIONS  # nothing lost, nothing written
    assert "no changes" in r.stderr
    # and piped, every word comes back
    r = cli(
        ["proofread", "--apply", "--no-checker", "--no-save"],
        engine=FakeEngine(cut),
        stdin=SECTIONS,
    )
    assert r.stdout == SECTIONS


def test_markdown_and_british_spellings_come_back_byte_for_byte(cli: Callable[..., Run]) -> None:
    text = (
        "## The neighbour's garden\n\n"
        "Our neighbour painted the fence a bright colour. Teh catalogue was realy late.\n\n"
        "1. Organise the  tools\n2. Mow the lawn\n\n"
        "> We travelled far.\n\n"
        "```python\nprint('teh colour')\n```\n"
    )
    american = {
        "neighbour": "neighbor",
        "colour": "color",
        "catalogue": "catalog's",
        "Organise": "Organize",
        "travelled": "traveled",
        "Teh": "The",
        "realy": "really",
    }
    engine = FakeEngine(fixer(american))
    r = cli(["proofread", "--apply", "--no-save"], engine=engine, stdin=text)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == text.replace("Teh catalogue was realy", "The catalogue was really")
    assert "2 changes" in r.stderr


def test_the_checker_leaves_british_spellings_alone() -> None:
    pytest.importorskip("harper")
    check = pr.harper_checker()
    assert check is not None
    text = "Our neighbour's catalogue is grey; we organised the centre's colour scheme.\n"
    assert check(text) == []


# -- the real model --------------------------------------------------------------------------


@pytest.mark.model
def test_the_model_fixes_a_planted_their_and_changes_nothing_else(llama_engine: object) -> None:
    text = "## Ferry\n\nThe ferry leaves the harbour at seven. Their is always a queue.\n"
    params = sampling("precise", 64, temperature=0.0, seed=0)
    final, items, _ = pr.proofread_text(
        llama_engine,  # type: ignore[arg-type]
        params,
        text,
        prompts.load("proofread"),
        pr.harper_checker(),
    )
    assert final == text.replace("Their is", "There is")
    assert [(e.old, e.new) for e in items] == [("Their", "There")]


# -- the command ------------------------------------------------------------------------------


def test_piped_text_comes_back_corrected(cli: Callable[..., Run]) -> None:
    engine = FakeEngine(fixer(SLIPS))
    r = cli(["proofread", "--no-checker", "--no-save"], engine=engine, stdin=TEXT)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == FIXED
    assert "2 changes" in r.stderr
    assert engine.params[0].temperature == 0
    assert "spelling and grammar" in engine.calls[0][0].content
    # one sentence at a time, after the template's examples
    assert [c[-1].content for c in engine.calls] == [
        "Teh cat sat on the mat.",
        "It was realy happy.",
        "The dog barked.",
    ]
    assert engine.calls[0][1].role == "user" and engine.calls[0][2].role == "assistant"


def test_diff_prints_a_unified_diff_and_keeps_the_source(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    src = tmp_path / "post.md"
    src.write_text(TEXT, encoding="utf-8")
    r = cli(["proofread", str(src), "--diff", "--no-checker"], engine=FakeEngine(fixer(SLIPS)))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith(f"--- {src}\n+++ {src}\n")
    assert "-Teh cat sat on the mat. It was realy happy." in r.stdout
    assert "+The cat sat on the mat. It was really happy." in r.stdout
    assert src.read_text() == TEXT  # never overwritten without --in-place
    assert "saved as draft 1 v1" in r.stderr


def test_in_place_keeps_a_backup(cli: Callable[..., Run], tmp_path: Path) -> None:
    src = tmp_path / "post.md"
    src.write_text(TEXT, encoding="utf-8")
    r = cli(
        ["proofread", str(src), "--apply", "--in-place", "--no-checker"],
        engine=FakeEngine(fixer(SLIPS)),
    )
    assert r.exit_code == 0, r.stderr
    assert src.read_text() == FIXED
    assert (tmp_path / "post.md~").read_text() == TEXT
    assert r.stdout == ""


@pytest.mark.parametrize(
    "args",
    [["--in-place"], ["--diff", "--apply"], ["--in-place", "--out", "x.md"]],
)
def test_contradictions_and_in_place_without_a_file(
    cli: Callable[..., Run], args: list[str]
) -> None:
    r = cli(["proofread", *args], engine=FakeEngine(FIXED), stdin=TEXT)
    assert r.exit_code == UsageError.exit_code


def test_code_blocks_are_not_sent_to_the_model(cli: Callable[..., Run]) -> None:
    text = "Teh intro.\n\n```\nteh code\n```\n"
    engine = FakeEngine(fixer({"Teh": "The", "teh": "the"}))
    r = cli(["proofread", "--no-checker", "--no-save"], engine=engine, stdin=text)
    assert r.exit_code == 0
    assert r.stdout == "The intro.\n\n```\nteh code\n```\n"
    assert all("teh code" not in m.content for call in engine.calls for m in call)


def test_the_checker_catches_a_slip_the_model_missed(cli: Callable[..., Run]) -> None:
    pytest.importorskip("harper")
    engine = FakeEngine("We walked to teh park.")  # the model changed nothing
    r = cli(["proofread", "--no-save"], engine=engine, stdin="We walked to teh park.\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "We walked to the park.\n"
    assert "1 by the grammar checker" in r.stderr


# -- the review, with an injected input stream --------------------------------------------------


def _tty_env(answers: str, engine: FakeEngine) -> Environment:
    return Environment(
        stdin=Streams(answers),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin_tty=True,
        stdout_tty=True,
        stderr_tty=False,
        environ={**os.environ, "NO_COLOR": "1"},
        engine_factory=lambda opts, e: engine,  # type: ignore[arg-type,return-value]
    )


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ("y\ny\n", FIXED),
        ("n\ny\n", TEXT.replace("realy", "really")),
        ("a\n", FIXED),
        ("y\nq\n", TEXT.replace("Teh", "The")),
        ("x\n?\nn\nn\n", TEXT),  # unknown answers show the help and ask again
        ("", TEXT),  # end of input stops the review
    ],
)
def test_review_takes_what_the_writer_accepts(
    cli: Callable[..., Run], tmp_path: Path, answers: str, expected: str
) -> None:
    src = tmp_path / "post.md"
    src.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "fixed.md"
    env = _tty_env(answers, FakeEngine(fixer(SLIPS)))
    r = cli(["proofread", str(src), "--out", str(out), "--no-checker"], env=env)
    assert r.exit_code == 0, r.stderr
    assert out.read_text() == expected
    assert src.read_text() == TEXT
    assert "(1/2) model" in r.stdout and "[-Teh-]{+The+}" in r.stdout
    assert "Apply this change [y,n,a,q,?]?" in r.stdout
    with env_store(r) as s:
        v = s.draft_version(1)
        assert v is not None and v.content == expected


def env_store(r: Run) -> object:
    from quill.store.db import Store

    return Store(r.env.paths.db_file)


def test_rewrite_review_uses_the_same_machinery(cli: Callable[..., Run], tmp_path: Path) -> None:
    out = tmp_path / "new.md"
    env = _tty_env("n\n", FakeEngine("The dog sat."))
    src = tmp_path / "a.md"
    src.write_text("The cat sat.\n", encoding="utf-8")
    r = cli(["rewrite", str(src), "--review", "--out", str(out)], env=env)
    assert r.exit_code == 0, r.stderr
    assert "[-cat-]{+dog+}" in r.stdout and out.read_text() == "The cat sat.\n"
    assert "applied 0 of 1 changes" in r.stderr


# -- the review, in a real terminal ---------------------------------------------------------------


def test_review_in_a_real_terminal(quill_home: Path, tmp_path: Path) -> None:
    text = "Teh cat was realy happy.\n"  # one sentence: the fake gives one reply to all
    src = tmp_path / "post.md"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "fixed.md"
    env = {
        **os.environ,
        "QUILL_HOME": str(quill_home),
        "QUILL_ENGINE": "fake",
        "QUILL_FAKE_REPLY": "The cat was really happy.",
        "TERM": "xterm-256color",
    }
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "quill", "proofread", str(src), "--out", str(out), "--no-checker"],
        env=env,
        cwd=str(tmp_path),
        dimensions=(30, 100),
        encoding="utf-8",
        timeout=30,
    )
    try:
        child.expect(r"\(1/2\)")
        child.expect(r"Apply this change \[y,n,a,q,\?\]\? ")
        assert "\x1b[" in child.before  # the word diff is coloured
        child.send("n\r")
        child.expect(r"\(2/2\)")
        child.expect(r"Apply this change")
        child.send("y\r")
        child.expect(r"applied 1 of 2 changes")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert out.read_text() == text.replace("realy", "really")
    assert src.read_text() == text
