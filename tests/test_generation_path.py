"""One generation path: the Generation object, the terminal loop, and every command's
result kept as a draft with provenance (FakeEngine; real signals in subprocesses)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Run, quill_cmd

from quill.engine.base import Piece, Result, Sampling
from quill.engine.fake import FakeEngine
from quill.engine.generation import Generation, generate
from quill.store.db import Store


class Recorder:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.results: list[Result] = []

    def on_text(self, text: str) -> None:
        self.texts.append(text)

    def on_done(self, result: Result) -> None:
        self.results.append(result)


def test_generation_streams_to_listeners_and_closes_once() -> None:
    rec = Recorder()
    gen = generate(FakeEngine("One two three."), [], Sampling(), listeners=[rec])
    assert "".join(gen) == "One two three."
    result = gen.close()
    assert gen.close() is result  # idempotent
    assert result.finish == "stop" and result.text == "One two three."
    assert "".join(rec.texts) == result.text and rec.results == [result]
    assert result.stats.generated_tokens == 3


def test_stop_ends_the_engine_cleanly_and_keeps_the_partial_text() -> None:
    engine = FakeEngine(" ".join(f"w{i}" for i in range(100)))
    gen = generate(engine, [], Sampling())
    it = iter(gen)
    got = [next(it) for _ in range(5)]
    gen.stop()
    result = gen.close()
    assert result.finish == "interrupted" and result.text == "".join(got)
    assert result.note == "interrupted: the partial text is kept"
    assert result.stats.generated_tokens == 5  # the engine's own final stats


def test_length_and_loop_notes_come_from_one_place() -> None:
    words = " ".join(f"w{i}" for i in range(50))
    r = generate(FakeEngine(words), [], Sampling(max_tokens=10), what="reply").close()
    assert r.finish == "interrupted"  # never iterated: closing early is an interruption
    gen = generate(FakeEngine(words), [], Sampling(max_tokens=10), what="reply")
    assert gen.text().count("w") == 10
    assert gen.close().note.startswith("stopped at the limit of 10 tokens; the reply may end")
    loop = generate(FakeEngine(loop=True), [], Sampling(max_tokens=5000))
    text = loop.text()
    assert text.count("The sea was calm that night.") == 1
    assert "repeating itself" in loop.close().note


def test_a_filter_note_joins_the_length_note() -> None:
    def trim(pieces: Iterator[Piece]) -> Iterator[Piece]:
        for p in pieces:
            if p.finish is not None:
                yield Piece("", p.finish, p.stats, note="trimmed back to the last sentence")
                return
            yield p

    gen = Generation(
        FakeEngine("a b c d e f").stream([], Sampling(max_tokens=3)),
        Sampling(max_tokens=3),
        transforms=[trim],
    )
    gen.text()
    note = gen.close().note
    assert note.startswith("stopped at the limit of 3 tokens; trimmed back to the last sentence")


# -- commands save drafts ---------------------------------------------------------------


def _store(run: Run) -> Store:
    return Store(run.env.paths.db_file)


def test_draft_is_saved_with_provenance(cli: Callable[..., Run]) -> None:
    r = cli(
        ["draft", "a product page for a linen shirt", "--form", "product", "--seed", "5"],
        engine=FakeEngine("# Linen shirt\n\nCool and light."),
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout.rstrip("\n") == "# Linen shirt\n\nCool and light."
    assert "saved as draft 1 v1" in r.stderr
    with _store(r) as s:
        d = s.draft(1)
        assert d is not None and d.title == "Linen shirt" and d.kind == "draft"
        v = d.latest
        assert v is not None and v.status == "complete" and v.finish == "stop"
        m = v.meta
        assert m["brief"] == "a product page for a linen shirt" and m["form"] == "product"
        assert m["template"] == "draft" and m["seed"] == 5 and m["sampling"]["seed"] == 5
        assert m["model"]["name"] == "fake" and m["stats"]["generated_tokens"] > 0
        assert m["finish"] == "stop" and "elapsed_s" in m


def test_a_seed_is_chosen_and_recorded_when_none_is_given(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("Text.")
    r = cli(["draft", "x"], engine=engine)
    with _store(r) as s:
        v = s.draft_version(1)
        assert v is not None and isinstance(v.meta["seed"], int)
        assert engine.params[0].seed == v.meta["seed"]


def test_draft_option_adds_a_version_and_no_save_keeps_nothing(cli: Callable[..., Run]) -> None:
    r = cli(["draft", "x", "--title", "My piece"], engine=FakeEngine("First."))
    r = cli(["draft", "x", "--draft", "1"], engine=FakeEngine("Second."))
    assert "saved as draft 1 v2" in r.stderr
    with _store(r) as s:
        assert [v.content for v in s.draft_versions(1)] == ["First.", "Second."]
        assert s.draft(1).title == "My piece"  # type: ignore[union-attr]
    r2 = cli(["draft", "x", "--no-save"], engine=FakeEngine("Third."))
    assert r2.exit_code == 0 and "saved as" not in r2.stderr
    with _store(r2) as s:
        assert len(s.drafts()) == 1 and len(s.draft_versions(1)) == 2


def test_draft_option_with_an_unknown_id_fails_before_generating(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("x")
    r = cli(["draft", "x", "--draft", "42"], engine=engine)
    assert r.exit_code == 2 and "no draft 42" in r.stderr
    assert engine.calls == []


def test_summary_is_saved_with_its_source(cli: Callable[..., Run], tmp_path: Path) -> None:
    doc = tmp_path / "report.md"
    doc.write_text("# Report\n\nThe harbour reopened in May.\n", encoding="utf-8")
    r = cli(["summarize", str(doc)], engine=FakeEngine("The harbour reopened in May."))
    assert r.exit_code == 0, r.stderr
    assert "saved as draft 1 v1" in r.stderr
    with _store(r) as s:
        d = s.draft(1)
        assert d is not None and d.kind == "summary"
        m = d.latest.meta  # type: ignore[union-attr]
        assert m["source"]["path"] == str(doc.resolve())
        assert m["source"]["sha256"] == hashlib.sha256(doc.read_bytes()).hexdigest()
        assert m["template"] == "summarize" and m["options"]["format"] == "paragraph"


# -- real signals: the store keeps what was interrupted ---------------------------------


def _fake_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"QUILL_HOME": str(home), "QUILL_ENGINE": "fake", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_draft_is_kept_and_marked(quill_home: Path, sig: int, code: int) -> None:
    reply = " ".join(f"word{i}" for i in range(400))
    p = subprocess.Popen(
        quill_cmd("draft", "x"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_fake_env(quill_home, QUILL_FAKE_REPLY=reply, QUILL_FAKE_DELAY="0.01"),
        text=True,
    )
    assert p.stdout is not None
    got = ""
    while "word20 " not in got:
        ch = p.stdout.read(1)
        assert ch, "quill ended before it could be interrupted"
        got += ch
    p.send_signal(sig)
    _, err = p.communicate(timeout=30)
    assert p.returncode == code
    assert "saved as draft 1 v1 (interrupted)" in err and "Traceback" not in err
    with Store(quill_home / "data" / "quill.db") as s:
        v = s.draft_version(1)
        assert v is not None and v.status == "interrupted" and v.finish == "interrupted"
        assert v.content.startswith("word0 word1") and "word20" in v.content
        assert "word399" not in v.content


DRAFT_ARGS = ["draft", "a long story about a lighthouse keeper", "--max-tokens", "400"]
DRAFT_ARGS += ["--temperature", "0", "--seed", "1"]


@pytest.mark.model
def test_sigkill_mid_draft_on_the_real_model_keeps_the_journal(
    quill_home: Path, real_env: dict[str, str]
) -> None:
    """SIGKILL while the default model streams a draft: after restart the draft is there,
    marked interrupted, with the text up to the last journal flush."""
    env = {**os.environ, **real_env}
    p = subprocess.Popen(
        quill_cmd(*DRAFT_ARGS),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert p.stdout is not None
    got = ""
    while len(got.split()) < 25:  # well under way
        ch = p.stdout.read(1)
        assert ch, "quill ended before it could be killed"
        got += ch
    import time

    # Kill once the journal holds what was seen (the state, not a guess at its timing).
    words = re.findall(r"\w+", got)[:20]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with Store(quill_home / "data" / "quill.db") as s:
            v = s.draft_version(1)
            if v is not None and re.findall(r"\w+", v.content)[: len(words)] == words:
                break
        time.sleep(0.05)
    p.kill()
    p.wait(timeout=30)
    with Store(quill_home / "data" / "quill.db") as s:
        assert s.integrity_check() == "ok"
        assert s.recovered == 1
        v = s.draft_version(1)
        assert v is not None and v.status == "interrupted"
        assert v.meta["brief"] == "a long story about a lighthouse keeper"
        # Everything that reached stdout before the last flush is in the store.
        stored = re.findall(r"\w+", v.content)
        assert stored[: len(words)] == words


def test_draft_filters_stream_a_long_paragraph_and_keep_held_text_on_failure() -> None:
    """The commentary filter holds back only what may still be talk about the brief: a
    paragraph of the piece streams on, and if the backend fails mid-stream, the text it
    held still reaches the writer (and the journal) before the error."""
    from quill.writing.cleanup import draft_filters, strip_commentary

    words = " ".join(f"word{i}" for i in range(120))
    gen = generate(FakeEngine(words), [], Sampling(), transforms=draft_filters())
    it = iter(gen)
    early = [next(it) for _ in range(3)]
    assert "".join(early).startswith("word0")  # streamed before the paragraph ended
    gen.stop()
    gen.close()

    def failing(pieces: Iterator[Piece]) -> Iterator[Piece]:
        yield Piece("The linen shirt is ")
        raise RuntimeError("the server went away")

    out: list[str] = []
    filtered = strip_commentary(failing(iter(())))
    with pytest.raises(RuntimeError):
        for p in filtered:
            out.append(p.text)
    assert "".join(out) == "The linen shirt is "
