"""`quill chat` without a terminal (stdin piped), signals and SIGKILL on the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run, quill_cmd, run_quill

from quill.engine.base import Message
from quill.engine.fake import FakeEngine
from quill.store.db import Store

# Streamed at 0.05 s a word, a reply of a minute or more (the chat's 1,024-token cap):
# a test that acts while it streams never races its end.
LONG_REPLY = " ".join(f"word{i}" for i in range(2000)) + "."


def db(home: Path) -> Store:
    return Store(home / "data" / "quill.db")


def contents(home: Path, session: str) -> list[tuple[str, str, str]]:
    with db(home) as s:
        sess = s.session(session) if session else s.last_session()
        assert sess is not None
        return [(t.role, t.content, t.status) for t in s.turns(sess.id)]


def test_piped_message_is_sent_printed_raw_and_saved(
    cli: Callable[..., Run], quill_home: Path
) -> None:
    engine = FakeEngine("Shorter **now**.")
    r = cli(["chat", "--session", "s"], engine=engine, stdin="make it shorter\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "Shorter **now**.\n"  # raw: no rendering, no ANSI
    assert contents(quill_home, "s") == [
        ("user", "make it shorter", "complete"),
        ("assistant", "Shorter **now**.", "complete"),
    ]


def test_continue_appends_to_the_last_session(cli: Callable[..., Run], quill_home: Path) -> None:
    engine = FakeEngine("ok.")
    assert cli(["chat", "--session", "first"], engine=engine, stdin="one").exit_code == 0
    assert cli(["chat", "--session", "other"], engine=engine, stdin="x").exit_code == 0
    assert cli(["chat", "--session", "first"], engine=engine, stdin="two").exit_code == 0
    r = cli(["chat", "--continue"], engine=engine, stdin="three")
    assert r.exit_code == 0, r.stderr
    users = [c for role, c, _ in contents(quill_home, "first") if role == "user"]
    assert users == ["one", "two", "three"]
    # The model saw the whole conversation so far.
    assert [m.content for m in engine.calls[-1] if m.role == "user"] == ["one", "two", "three"]


def test_continue_without_sessions_starts_one(cli: Callable[..., Run], quill_home: Path) -> None:
    r = cli(["chat", "--continue"], engine=FakeEngine("hi."), stdin="hello")
    assert r.exit_code == 0
    assert "no session to continue" in r.stderr
    assert contents(quill_home, "")[0][1] == "hello"


def test_system_and_sampling_flags(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("ok.")
    r = cli(
        ["chat", "--system", "Be terse.", "--temperature", "0", "--max-tokens", "7"],
        engine=engine,
        stdin="hi",
    )
    assert r.exit_code == 0
    assert engine.calls[0][0] == Message("system", "Be terse.")
    assert engine.params[0].temperature == 0 and engine.params[0].max_tokens == 7


def test_chat_default_max_tokens_is_finite(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("ok.")
    cli(["chat"], engine=engine, stdin="hi")
    assert 0 < engine.params[0].max_tokens <= 4096


def test_usage_errors(cli: Callable[..., Run]) -> None:
    r = cli(["chat", "--continue", "--session", "x"], stdin="hi")
    assert r.exit_code == 2 and "not both" in r.stderr
    r = cli(["chat"], stdin="   \n")
    assert r.exit_code == 3 and "stdin is empty" in r.stderr
    r = cli(["chat"])  # stdin a terminal, stdout not: no REPL
    assert r.exit_code == 2 and "needs a terminal" in r.stderr


def test_too_long_piped_message_fails_cleanly(cli: Callable[..., Run], quill_home: Path) -> None:
    r = cli(["chat", "--session", "t"], engine=FakeEngine("x", n_ctx=64), stdin="w " * 500)
    assert r.exit_code == 7 and "too long for the context" in r.stderr
    with db(quill_home) as s:
        sess = s.session("t")
        assert sess is None or s.turns(sess.id) == []


def test_sessions_list_show_export_rm(
    cli: Callable[..., Run], quill_home: Path, tmp_path: Path
) -> None:
    engine = FakeEngine("A *reply*.")
    cli(["chat", "--session", "alpha"], engine=engine, stdin="first question")
    cli(["chat", "--session", "beta"], engine=engine, stdin="second \x1b[31mred")
    r = cli(["sessions", "list"])
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("beta") and lines[1].startswith("alpha")
    assert "first question" in lines[1] and "\x1b" not in r.stdout
    r = cli(["sessions", "show", "alpha"])
    assert "## You\n\nfirst question" in r.stdout and "A *reply*." in r.stdout
    out = tmp_path / "alpha.md"
    r = cli(["sessions", "export", "alpha", "--out", str(out)])
    assert r.exit_code == 0 and out.read_text().startswith("# alpha\n")
    r = cli(["sessions", "export", "alpha", "--out", str(out)])
    assert r.exit_code == 8  # exists: needs --force
    assert cli(["sessions", "export", "alpha", "-o", str(out), "--force"]).exit_code == 0
    r = cli(["sessions", "export"])  # the most recent
    assert r.stdout.startswith("# beta\n")
    r = cli(["sessions", "rm", "alpha"])
    assert r.exit_code == 2 and "--yes" in r.stderr
    r = cli(["sessions", "rm", "alpha", "--yes"])
    assert r.exit_code == 0
    assert cli(["sessions", "show", "alpha"]).exit_code == 3
    assert [ln.split()[0] for ln in cli(["sessions", "list"]).stdout.splitlines()] == ["beta"]


def test_sessions_list_empty(cli: Callable[..., Run]) -> None:
    r = cli(["sessions", "list"])
    assert r.exit_code == 0 and r.stdout == "" and "no sessions" in r.stderr


# -- real processes ----------------------------------------------------------------------


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"QUILL_HOME": str(home), "QUILL_ENGINE": "fake", "PYTHONUNBUFFERED": "1", **extra})
    return env


def start_streaming(home: Path, session: str, message: str) -> subprocess.Popen[str]:
    """A `quill chat` child streaming a long, slow reply; returns once the journal holds
    part of it."""
    p = subprocess.Popen(
        quill_cmd("chat", "--session", session),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(home, QUILL_FAKE_REPLY=LONG_REPLY, QUILL_FAKE_DELAY="0.05"),
    )
    assert p.stdin is not None
    p.stdin.write(message)
    p.stdin.close()
    p.stdin = None  # communicate() later must not flush it
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with db(home) as s:
            sess = s.session(session)
            turns = s.turns(sess.id) if sess else []
        if turns and turns[-1].role == "assistant" and turns[-1].content.count(" ") > 10:
            return p
        time.sleep(0.05)
    p.kill()
    pytest.fail("the reply was not journaled while streaming")


def test_sigkill_while_streaming_keeps_every_saved_turn(quill_home: Path) -> None:
    env = child_env(quill_home, QUILL_FAKE_REPLY="Fine.")
    for i in range(3):
        done = run_quill(["chat", "--session", "crash"], env=env, input=f"turn {i}", timeout=60)
        assert done.returncode == 0, done.stderr
    p = start_streaming(quill_home, "crash", "the long one")
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    assert p.returncode == -signal.SIGKILL
    with db(quill_home) as s:
        assert s.integrity_check() == "ok"
        assert s.recovered == 1  # the reply of the dead process is marked interrupted
    turns = contents(quill_home, "crash")
    assert [c for r, c, _ in turns if r == "user"] == ["turn 0", "turn 1", "turn 2", "the long one"]
    assert [st for _, _, st in turns] == ["complete"] * 7 + ["interrupted"]
    partial = turns[-1][1]
    assert partial.startswith("word0 word1 word2") and "word1999" not in partial
    # The session goes on after the crash.
    again = run_quill(["chat", "--continue"], env=env, input="after the crash", timeout=60)
    assert again.returncode == 0 and again.stdout == "Fine.\n"
    with db(quill_home) as s:
        assert s.integrity_check() == "ok"


def test_sigterm_while_streaming_keeps_the_partial_reply(quill_home: Path) -> None:
    p = start_streaming(quill_home, "term", "write a lot")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err
    role, text, status = contents(quill_home, "term")[-1]
    assert (role, status) == ("assistant", "interrupted")
    assert out == text + "\n"  # what was printed is what was saved


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_in_pipe_mode_exits_130(quill_home: Path) -> None:
    p = start_streaming(quill_home, "int", "write a lot")
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=20)
    assert p.returncode == 130, err
    assert contents(quill_home, "int")[-1][2] == "interrupted"


def test_a_second_process_cannot_send_while_a_reply_streams(quill_home: Path) -> None:
    """One writer per session: while one quill streams a reply, another quill's message
    to the same session is refused with a clear message, and the streaming reply is
    never sent to the model as history."""
    p = start_streaming(quill_home, "shared", "first question")
    try:
        r = run_quill(
            ["chat", "--session", "shared"],
            env=child_env(quill_home, QUILL_FAKE_REPLY="Second."),
            input="second question",
            timeout=60,
        )
        assert r.returncode == 10, r.stderr
        assert "is replying in session `shared`" in r.stderr and "Traceback" not in r.stderr
        with db(quill_home) as s:
            sess = s.session("shared")
            assert sess is not None
            assert "second question" not in [t.content for t in s.turns(sess.id)]
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    # Once the first reply has ended, the session takes messages again.
    r = run_quill(
        ["chat", "--session", "shared"],
        env=child_env(quill_home, QUILL_FAKE_REPLY="Second."),
        input="second question",
        timeout=60,
    )
    assert r.returncode == 0 and r.stdout.strip() == "Second."
