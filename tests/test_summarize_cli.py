"""`quill summarize` end to end on FakeEngine: input handling, output, the report line,
progress, --out, and interrupts (in process and with real signals)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Run, ask, quill_cmd

from quill.engine.base import Message, Piece, Sampling
from quill.engine.fake import FakeEngine

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.usefixtures("unchecked")  # see conftest.unchecked
REPORT = re.compile(
    r"^summarized (?:(\d+) files, )?([\d,]+) tokens? in ([\d,]+) chunks?, "
    r"(\d+(?:-\d+)?) pass(?:es)?, \d+\.\d s"
)
SALTMERE = DATA / "saltmere_report.md"


def doc(sections: int = 10) -> str:  # longer than a context of 800 tokens
    out = ["# Notes\n\n"]
    for s in range(1, sections + 1):
        body = f"Fact number {s} is written down here with plenty of ordinary words. " * 8
        out.append(f"## Section {s}\n\n{body}\n\n")
    return "".join(out)


def fake(reply: str | None = None, n_ctx: int = 800, delay: float = 0.0) -> FakeEngine:
    return FakeEngine(reply, n_ctx=n_ctx, delay=delay)


def test_stdin_to_stdout_with_one_report_line(cli: Callable[..., Run]) -> None:
    engine = fake()
    text = doc()
    r = cli(["summarize", "--length", "short", "--method", "map-reduce"], stdin=text, engine=engine)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Here is a reply about: These are notes on the")
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    m = REPORT.match(lines[0])
    assert m is not None, lines[0]
    assert m.group(2) == f"{engine.count(text):,}"
    maps = sum(ask(c).startswith("Part ") for c in engine.calls)
    assert m.group(3) == str(maps) and maps > 1
    assert m.group(4) == "2"


def test_quiet_prints_nothing_on_stderr(cli: Callable[..., Run]) -> None:
    r = cli(["summarize", "-q", "--length", "short", "-"], stdin=doc(), engine=fake())
    assert r.exit_code == 0
    assert r.stderr == ""
    assert r.stdout.strip()


def test_short_text_is_one_pass(cli: Callable[..., Run]) -> None:
    engine = fake(reply="This is a fine summary.", n_ctx=4096)
    r = cli(["summarize"], stdin="The lamp was lit at dusk. The ships came home.", engine=engine)
    assert r.exit_code == 0
    assert r.stdout == "This is a fine summary.\n"
    assert re.match(r"summarized \d+ tokens in 1 chunk, 1 pass, ", r.stderr)


def test_several_files_in_turn_with_headings_and_what_was_left_out(
    cli: Callable[..., Run], tmp_path: Path
) -> None:

    a = tmp_path / "a.md"
    b = tmp_path / "b.txt"
    pdf = tmp_path / "c.pdf"
    empty = tmp_path / "d.md"
    a.write_text("Alpha is the first letter. It leads.\n", encoding="utf-8")
    b.write_text("Beta is the second letter. It follows.\n", encoding="utf-8")
    pdf.write_bytes(b"%PDF-1.7\n\x00\x01binary")
    empty.write_text("\n\n", encoding="utf-8")
    engine = fake(n_ctx=4096)
    r = cli(["summarize", str(a), str(pdf), str(b), str(empty)], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.index(f"# {a}") < r.stdout.index(f"# {b}")
    assert "Alpha" in r.stdout.split(f"# {b}")[0] and "Beta" in r.stdout.split(f"# {b}")[1]
    line = r.stderr.strip()
    assert line.startswith("summarized 2 files, ")
    assert f"left out: {pdf} (binary, a PDF file), {empty} (empty)" in line
    assert len(engine.calls) == 2


def test_left_out_is_said_even_when_quiet(cli: Callable[..., Run], tmp_path: Path) -> None:
    a = tmp_path / "a.md"
    bad = tmp_path / "latin1.txt"
    a.write_text("Alpha is first.\n", encoding="utf-8")
    bad.write_bytes("café crème\n".encode("latin-1"))
    r = cli(["summarize", "-q", str(a), str(bad)], engine=fake(n_ctx=4096))
    assert r.exit_code == 0
    assert r.stderr.startswith("warning: left out: ")
    assert "not UTF-8 text" in r.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4 \x00\x00", "binary, a PDF file"),
        (b"PK\x03\x04zip", "binary, a zip archive"),
        (b"\x00\x01\x02\x03", "binary"),
        ("café".encode("latin-1"), "not UTF-8 text"),
        (b"   \n\n", "is empty"),
    ],
)
def test_one_unusable_file_is_an_error(
    cli: Callable[..., Run], tmp_path: Path, content: bytes, message: str
) -> None:
    f = tmp_path / "input"
    f.write_bytes(content)
    engine = fake()
    r = cli(["summarize", str(f)], engine=engine)
    assert r.exit_code == 3
    assert r.stderr.startswith("error: ")
    assert message in r.stderr
    assert engine.calls == []


def test_missing_file_directory_and_no_input(cli: Callable[..., Run], tmp_path: Path) -> None:
    r = cli(["summarize", str(tmp_path / "nope.md")], engine=fake())
    assert r.exit_code == 3 and "no such file" in r.stderr
    r = cli(["summarize", str(tmp_path)], engine=fake())
    assert r.exit_code == 3 and "is a directory" in r.stderr
    r = cli(["summarize"], engine=fake())  # stdin is a terminal: nothing piped
    assert r.exit_code == 3 and "nothing to summarize" in r.stderr
    r = cli(["summarize", "-", "-"], stdin="x", engine=fake())
    assert r.exit_code == 2


def test_utf16_with_bom_is_text(cli: Callable[..., Run], tmp_path: Path) -> None:
    f = tmp_path / "u16.txt"
    f.write_bytes("Das Leuchtfeuer brennt.".encode("utf-16"))
    engine = fake(n_ctx=4096)
    r = cli(["summarize", str(f)], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert "Das Leuchtfeuer brennt." in ask(engine.calls[0])


@pytest.mark.parametrize(
    "args",
    [
        ["--length", "huge"],
        ["--format", "poem"],
        ["--words", "0"],
        ["--jobs", "0"],
        ["--max-tokens", "0"],
        ["--preset", "wild"],
    ],
)
def test_bad_options_are_usage_errors(cli: Callable[..., Run], args: list[str]) -> None:
    r = cli(["summarize", *args], stdin="Some text.", engine=fake())
    assert r.exit_code == 2, r.stderr


def test_out_is_written_atomically_and_not_overwritten(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    out = tmp_path / "summary.md"
    r = cli(["summarize", "-o", str(out)], stdin=doc(), engine=fake(reply="This is all of it."))
    assert r.exit_code == 0, r.stderr
    assert out.read_text(encoding="utf-8") == "This is all of it.\n"
    assert f"; saved to {out}; saved as draft 1 v1" in r.stderr
    engine = fake(reply="This is it again.")
    r = cli(["summarize", "-o", str(out)], stdin=doc(), engine=engine)
    assert r.exit_code == 8
    assert engine.calls == []  # refused before any work
    again = fake(reply="This is it again.")
    r = cli(["summarize", "-o", str(out), "--force"], stdin=doc(), engine=again)
    assert r.exit_code == 0
    assert out.read_text(encoding="utf-8") == "This is it again.\n"


def test_stats_line(cli: Callable[..., Run]) -> None:
    r = cli(["summarize", "--stats", "--length", "short"], stdin=doc(), engine=fake())
    assert r.exit_code == 0
    assert r.stderr.splitlines()[-1].startswith("stats: prompt ")


def test_progress_bar_on_a_terminal(cli: Callable[..., Run]) -> None:
    r = cli(
        ["summarize", "--length", "short", "--method", "map-reduce"],
        stdin=doc(),
        engine=fake(delay=0.002),
        stderr_tty=True,
    )
    assert r.exit_code == 0
    assert "Reading parts" in r.stderr
    assert re.search(r"\d+/\d+ chunks", r.stderr)
    assert "tok/s" in r.stderr and "ETA" in r.stderr
    assert "summarized " in r.stderr


def test_jobs_on_a_one_request_backend_runs_in_turn(cli: Callable[..., Run]) -> None:
    r = cli(["summarize", "-j", "4", "--length", "short"], stdin=doc(), engine=fake())
    assert r.exit_code == 0
    assert len(r.stderr.splitlines()) == 1  # not a terminal: only the report


def test_final_step_limit_is_a_warning(cli: Callable[..., Run]) -> None:
    words = " ".join(f"w{i}" for i in range(500))
    r = cli(["summarize", "--max-tokens", "20"], stdin="Short text.", engine=fake(reply=words))
    assert r.exit_code == 0
    assert "warning: stopped at the limit of 20 tokens" in r.stderr


class InterruptingEngine(FakeEngine):
    """Streams the final step's first words, then Ctrl-C arrives."""

    def stream(self, messages: list[Message], params: Sampling) -> Iterator[Piece]:
        inner = super().stream(messages, params)
        if not ask(messages).startswith("These are notes"):
            return inner

        def gen() -> Iterator[Piece]:
            for i, piece in enumerate(inner):
                if i == 3:
                    raise KeyboardInterrupt
                yield piece

        return gen()


def test_interrupt_during_the_final_step_keeps_the_partial_text(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    out = tmp_path / "s.md"
    engine = InterruptingEngine("one two three four five six", n_ctx=800)
    r = cli(
        ["summarize", "--length", "short", "--method", "map-reduce", "-o", str(out)],
        stdin=doc(),
        engine=engine,
    )
    assert r.exit_code == 130
    assert r.stdout == "one two three\n"
    assert out.read_text(encoding="utf-8") == "one two three\n"
    assert "interrupted" in r.stderr


# -- real pipes and signals -------------------------------------------------------------


def _child(args: list[str], quill_home: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.update(
        {
            "QUILL_HOME": str(quill_home),
            "QUILL_ENGINE": "fake",
            "QUILL_FAKE_CTX": "800",
            "QUILL_FAKE_DELAY": "0.03",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return subprocess.Popen(
        quill_cmd("summarize", "--length", "short", "--method", "map-reduce", *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_draft(quill_home: Path, proc: subprocess.Popen[str], limit: float = 300) -> None:
    """Until the child has kept its request as a draft (bounded, and not past its exit)."""
    db = quill_home / "data" / "quill.db"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as conn:
                    if conn.execute("SELECT count(*) FROM drafts").fetchone()[0]:
                        return
            except sqlite3.OperationalError:
                pass  # the schema is still being made
        time.sleep(0.05)
    raise AssertionError("the summary never kept its request as a draft")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_map_keeps_the_notes_so_far(
    quill_home: Path, tmp_path: Path, sig: int, code: int
) -> None:
    out = tmp_path / "partial.md"
    proc = _child([str(SALTMERE), "-o", str(out)], quill_home)
    # The request is kept as a draft just before the map pass starts: wait for it (start-up
    # on a loaded machine takes what it takes), then for about half the map pass. Each map
    # step streams ~20 words at 0.03 s: ~0.6 s a step, 7 steps.
    _wait_for_draft(quill_home, proc)
    time.sleep(2.0)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert stdout == ""  # no summary was written, so none is printed
    assert "Traceback" not in stderr
    assert "interrupted during the map step" in stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!-- quill: interrupted during the map step")
    assert "### Part 1 of " in text


def test_pipe_run_prints_summary_and_report(quill_home: Path) -> None:
    proc = _child([str(SALTMERE)], quill_home)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert stdout.startswith("Here is a reply about:")
    assert "\x1b" not in stderr
    assert REPORT.match(stderr.strip()), stderr
