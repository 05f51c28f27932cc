"""`quill chat` in a real pseudo-terminal (pexpect): keys, streaming, Ctrl-C, commands.

The terminal answers prompt-toolkit's cursor-position requests like a real one, so the
bottom toolbar is drawn. Most tests run FakeEngine (QUILL_ENGINE=fake) in the child; the
one marked ``model`` runs the embedded default model.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from quill.store.db import Store

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
PROMPT = "› "
LONG_REPLY = " ".join(f"word{i}" for i in range(60)) + "."
# A reply that outlasts any wait (4,000 words: minutes at the delays used): a test that
# interrupts it waits for a word, never races the end of the reply.
ENDLESS = " ".join(f"word{i}" for i in range(4000)) + "."


class Term:
    """A quill chat child in a pty, 30x100, with every wait bounded."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        cwd: Path,
        timeout: float = 20,
    ) -> None:
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "quill", "chat", *args],
            env=env,
            cwd=str(cwd),
            dimensions=(30, 100),
            encoding="utf-8",
            codec_errors="replace",
            timeout=timeout,
        )
        self.seen = ""

    def expect(self, pattern: str, timeout: float | None = None) -> str:
        """Wait for a regex in the output, answering cursor-position requests meanwhile."""
        deadline = time.monotonic() + (timeout or self.child.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise pexpect.TIMEOUT(f"no {pattern!r} in:\n{self.text()[-2000:]}")
            i = self.child.expect([pattern, r"\x1b\[6n"], timeout=left)
            self.seen += self.child.before + (self.child.after or "")
            if i == 1:
                self.child.send("\x1b[1;1R")
                continue
            return str(self.child.after)

    def prompt(self) -> None:
        """Wait for a fresh prompt: the prompt sign, then the bottom toolbar under it (an
        accepted line is redrawn without the toolbar)."""
        self.expect(re.escape(PROMPT) + r"[^›]*?Enter send")

    def send_line(self, text: str) -> None:
        self.child.send(text + "\r")

    def text(self) -> str:
        return ANSI.sub("", self.seen)

    def close(self) -> None:
        if self.child.isalive():
            self.child.kill(signal.SIGKILL)
        self.child.close(force=True)


@pytest.fixture
def chat_env(quill_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var in list(env):
        if var.startswith("QUILL_FAKE_") or var in ("EDITOR", "VISUAL", "NO_COLOR"):
            del env[var]
    env.update(
        {
            "QUILL_HOME": str(quill_home),
            "QUILL_ENGINE": "fake",
            "TERM": "xterm",
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "100",
            "LINES": "30",
        }
    )
    return env


@pytest.fixture
def term(chat_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Term]]:
    """Start `quill chat ARGS` in a pty (cwd: tmp_path), with extra environment."""
    started: list[Term] = []

    def start(*args: str, **env: str) -> Term:
        t = Term(list(args), {**chat_env, **env}, tmp_path)
        started.append(t)
        return t

    yield start
    for t in started:
        t.close()


def db_turns(home: Path, session: str) -> list[tuple[str, str, str]]:
    with Store(home / "data" / "quill.db") as s:
        sess = s.session(session)
        assert sess is not None, f"no session {session}"
        return [(t.role, t.content, t.status) for t in s.turns(sess.id)]


def test_message_and_streamed_markdown_reply(term, quill_home: Path) -> None:
    reply = "# Notes\n\nA first paragraph here.\n\n- apples\n- pears\n\nThe end of it."
    t = term("--session", "s1", QUILL_FAKE_REPLY=reply, QUILL_FAKE_DELAY="0.01")
    t.expect("session s1")
    t.prompt()
    # The bottom toolbar: model, tokens used / context size, session.
    assert re.search(r"fake · \d+/4,096 tokens · s1", t.text())
    t.send_line("hello there")
    t.expect("The end of it")
    t.prompt()
    shown = t.text()
    # Rendered as Markdown: the list gets bullets, the heading its own line.
    assert "• apples" in shown and "• pears" in shown
    assert "# Notes" not in shown and "Notes" in shown
    assert "A first paragraph here." in shown[shown.index("hello there") :]
    t.child.sendcontrol("d")
    t.child.expect(pexpect.EOF)
    t.child.close()
    assert t.child.exitstatus == 0
    assert db_turns(quill_home, "s1") == [
        ("user", "hello there", "complete"),
        ("assistant", reply, "complete"),
    ]


def test_reply_taller_than_the_screen(term, quill_home: Path) -> None:
    code = "\n".join(f"line_{i:02d} = {i}" for i in range(60))
    reply = f"Here is the code:\n\n```python\n{code}\n```\n\nDone."
    t = term("--session", "tall", QUILL_FAKE_REPLY=reply, QUILL_FAKE_DELAY="0.002")
    t.prompt()
    t.send_line("show me")
    t.expect("Done")
    t.prompt()
    shown = t.text()
    assert "line_00 = 0" in shown and "line_59 = 59" in shown
    assert db_turns(quill_home, "tall")[-1] == ("assistant", reply, "complete")


def test_plain_shows_raw_text(term) -> None:
    t = term("--plain", QUILL_FAKE_REPLY="Some **bold** words.")
    t.prompt()
    t.send_line("hi")
    t.expect(r"Some \*\*bold\*\* words\.")
    t.prompt()


def test_ctrl_c_mid_reply_keeps_partial_and_repl_goes_on(term, quill_home: Path) -> None:
    t = term("--session", "cc", QUILL_FAKE_REPLY=ENDLESS, QUILL_FAKE_DELAY="0.05")
    t.prompt()
    t.send_line("go on")
    t.expect("word5 ")
    t.child.sendintr()
    t.expect("interrupted: the partial reply is kept", timeout=60)
    t.prompt()
    turns = db_turns(quill_home, "cc")
    role, partial, status = turns[-1]
    assert role == "assistant" and status == "interrupted"
    assert partial.startswith("word0 word1 word2 word3 word4 word5")
    assert "word3999" not in partial
    # The REPL goes on; the next turn works and the partial reply stays in the chat.
    t.send_line("/max-tokens 3")
    t.prompt()
    t.send_line("next")
    t.expect("word2")
    t.prompt()
    turns = db_turns(quill_home, "cc")
    assert [s for _, _, s in turns] == ["complete", "interrupted", "complete", "complete"]
    assert turns[1][1] == partial


def test_ctrl_c_at_prompt_says_how_to_leave_and_ctrl_d_leaves(term) -> None:
    t = term()
    t.prompt()
    t.child.send("some text")
    t.child.sendintr()  # clears the line
    t.child.sendintr()  # at an empty prompt: the hint
    t.expect("to leave: Ctrl-D or /exit")
    t.prompt()
    t.child.sendcontrol("d")
    t.child.expect(pexpect.EOF)
    t.child.close()
    assert t.child.exitstatus == 0
    assert "some text" not in t.text().split("to leave")[-1]


def test_retry_and_undo(term, quill_home: Path) -> None:
    t = term("--session", "ru", "--temperature", "0")
    t.prompt()
    t.send_line("first question")
    t.expect("good measure")
    t.prompt()
    t.send_line("second question")
    t.expect("good measure")
    t.prompt()
    t.send_line("/retry")
    t.expect("reply about: second question")
    t.prompt()
    turns = db_turns(quill_home, "ru")
    assert [r for r, _, _ in turns] == ["user", "assistant", "user", "assistant"]
    with Store(quill_home / "data" / "quill.db") as s:
        sess = s.session("ru")
        assert sess is not None
        assert len(s.turns(sess.id, include_dropped=True)) == 5  # the old reply is kept aside
    t.send_line("/undo")
    t.expect("dropped the last exchange")
    t.prompt()
    assert next(c for _, c, _ in db_turns(quill_home, "ru")) == "first question"
    assert len(db_turns(quill_home, "ru")) == 2
    t.send_line("/history")
    t.expect("you: first question")
    t.prompt()


def test_save_writes_the_reply_and_asks_before_overwriting(
    term, tmp_path: Path, quill_home: Path
) -> None:
    t = term("--session", "sv", QUILL_FAKE_REPLY="Saved words.")
    t.prompt()
    t.send_line("write")
    t.expect("Saved words")
    t.prompt()
    t.send_line("/save out.md")
    t.expect("saved to out.md")
    t.prompt()
    out = tmp_path / "out.md"
    assert out.read_text() == "Saved words.\n"
    out.write_text("mine")
    t.send_line("/save out.md")
    t.expect(r"exists\. Overwrite\? \[y/N\]")
    t.send_line("n")
    t.expect("not saved")
    t.prompt()
    assert out.read_text() == "mine"
    t.send_line("/save out.md")
    t.expect(r"Overwrite\?")
    t.send_line("y")
    t.expect("saved to out.md")
    t.prompt()
    assert out.read_text() == "Saved words.\n"
    t.send_line("/save --all whole.md")
    t.expect("saved to whole.md")
    t.prompt()
    whole = (tmp_path / "whole.md").read_text()
    assert "## You\n\nwrite\n" in whole and "## Assistant\n\nSaved words.\n" in whole


def test_multiline_paste_and_alt_enter_make_one_message(term, quill_home: Path) -> None:
    t = term("--session", "ml")
    t.prompt()
    t.child.send("\x1b[200~line one\nline two\r\nline three\x1b[201~")
    t.child.send("\r")
    t.expect("good measure")
    t.prompt()
    t.child.send("alpha\x1b\rbeta\r")  # Esc Enter (Alt-Enter) inserts a newline
    t.expect("good measure")
    t.prompt()
    users = [c for r, c, _ in db_turns(quill_home, "ml") if r == "user"]
    assert users == ["line one\nline two\nline three", "alpha\nbeta"]


def test_input_history_persists_and_ctrl_r_searches(term, quill_home: Path) -> None:
    t = term("--session", "h1")
    t.prompt()
    t.send_line("remember the lighthouse")
    t.expect("good measure")
    t.prompt()
    t.child.sendcontrol("d")
    t.child.expect(pexpect.EOF)
    r = term("--session", "h2")
    r.prompt()
    r.child.sendcontrol("r")
    r.child.send("lighth")
    r.expect("I-search backward")
    r.child.send("\r")  # accept the search result into the line
    r.child.send("\r")  # send it
    r.expect("good measure")
    r.prompt()
    assert db_turns(quill_home, "h2")[0] == ("user", "remember the lighthouse", "complete")


def test_commands_help_unknown_settings_and_tokens(term) -> None:
    t = term()
    t.prompt()
    t.send_line("/help")
    t.expect("/retry")
    t.prompt()
    t.send_line("/retyr")
    t.expect(r"unknown command /retyr: did you mean /retry\?")
    t.prompt()
    t.send_line("/temp 0.25")
    t.expect("temp = 0.25")
    t.prompt()
    t.send_line("/temp -3")
    t.expect("temperature must be 0 or more")
    t.expect("/help lists the commands")
    t.prompt()
    t.send_line("/settings")
    t.expect("temp 0.25")
    t.prompt()
    t.send_line("/tokens")
    t.expect(r"context 4,096 tokens")
    t.prompt()
    t.child.send("/he")
    t.child.send("\t")  # completion
    t.expect("/help")
    t.child.sendcontrol("c")
    t.child.sendcontrol("d")
    t.child.expect(pexpect.EOF)


def test_draft_keeps_the_reply_and_runs_the_editor(term, tmp_path: Path, quill_home: Path) -> None:
    editor = tmp_path / "ed.sh"
    editor.write_text('#!/bin/sh\necho "edited line" >> "$1"\n')
    editor.chmod(0o755)
    t = term(QUILL_FAKE_REPLY="Draft body.", EDITOR=str(editor))
    t.prompt()
    t.send_line("write it")
    t.expect("Draft body")
    t.prompt()
    t.send_line("/draft")
    t.expect(r"draft #1 version 2 saved")
    t.prompt()
    with Store(quill_home / "data" / "quill.db") as s:
        versions = s.draft_versions(1)
    assert [v.content for v in versions] == ["Draft body.\n", "Draft body.\nedited line\n"]


def test_too_long_message_is_refused_and_repl_goes_on(term, quill_home: Path) -> None:
    t = term("--session", "big", QUILL_FAKE_CTX="200", QUILL_FAKE_REPLY="ok.")
    t.prompt()
    t.send_line(" ".join(["long"] * 300))
    t.expect("the message is too long for the context")
    t.prompt()
    t.send_line("short")
    t.expect(r"ok\.")
    t.prompt()
    assert [c for _, c, _ in db_turns(quill_home, "big")] == ["short", "ok."]


def test_kill_9_mid_reply_then_resume_shows_turns_and_the_partial(term, quill_home: Path) -> None:
    t = term("--session", "k9", QUILL_FAKE_REPLY=ENDLESS, QUILL_FAKE_DELAY="0.02")
    t.prompt()
    t.send_line("/max-tokens 4")
    t.prompt()
    t.send_line("earlier question")
    t.expect("word3")
    t.prompt()
    t.send_line("/max-tokens 1000")
    t.prompt()
    t.send_line("now the long one")
    t.expect("word30 ")
    # Wait until the journal holds some of the reply, as it does every 0.25 s.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if db_turns(quill_home, "k9")[-1][1]:
            break
        time.sleep(0.05)
    t.child.kill(signal.SIGKILL)
    t.child.expect(pexpect.EOF)
    t.child.close()

    with Store(quill_home / "data" / "quill.db") as s:
        assert s.integrity_check() == "ok"
    turns = db_turns(quill_home, "k9")
    assert [(r, st) for r, _, st in turns] == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "interrupted"),
    ]
    assert turns[-1][1].startswith("word0 word1")

    r = term("--continue", QUILL_FAKE_REPLY="fine.")
    r.expect("resuming session k9")
    r.expect("earlier question")
    r.expect("now the long one")
    r.expect(r"\(interrupted\)")
    r.prompt()


def test_sigterm_mid_reply_and_at_the_prompt_exit_143(term, quill_home: Path) -> None:
    t = term("--session", "st", QUILL_FAKE_REPLY=ENDLESS, QUILL_FAKE_DELAY="0.05")
    t.prompt()
    t.send_line("go")
    t.expect("word3 ")
    t.child.kill(signal.SIGTERM)
    t.child.expect(pexpect.EOF, timeout=10)
    t.child.close()
    assert t.child.exitstatus == 143
    role, partial, status = db_turns(quill_home, "st")[-1]
    assert (role, status) == ("assistant", "interrupted") and partial.startswith("word0 word1")

    r = term("--continue")
    r.prompt()
    r.child.kill(signal.SIGTERM)
    r.child.expect(pexpect.EOF, timeout=10)
    r.child.close()
    assert r.child.exitstatus == 143
    assert "Unhandled exception" not in r.text()
    # The terminal is left as it was found: bracketed paste switched off again.
    assert (r.seen + r.child.before).rstrip().endswith("\x1b[?2004l")


def test_model_command_shows_and_switches(term) -> None:
    t = term()
    t.prompt()
    t.send_line("/model")
    t.expect(r"fake \(<fake>\), context 4,096 tokens")
    t.prompt()
    t.send_line("/model another")
    t.expect("model: fake, context 4,096 tokens")
    t.prompt()
    t.send_line("still talking")
    t.expect("good measure")
    t.prompt()


@pytest.mark.model
def test_real_model_reply_in_the_repl(
    real_env: dict[str, str], chat_env: dict[str, str], tmp_path: Path, quill_home: Path
) -> None:
    env = {**chat_env, **real_env}
    del env["QUILL_ENGINE"]
    t = Term(
        ["--session", "real", "--max-tokens", "24", "--temperature", "0"],
        env,
        tmp_path,
        timeout=120,
    )
    try:
        t.prompt()
        t.send_line("Say hello to a writer in one short sentence.")
        t.prompt()
        turns = db_turns(quill_home, "real")
        assert [(r, s) for r, _, s in turns] == [("user", "complete"), ("assistant", "complete")]
        reply = turns[-1][1]
        assert reply.strip() and "\ufffd" not in reply
        words = [w for w in re.findall(r"[A-Za-z]{3,}", reply)][:3]
        shown = t.text()
        assert all(w in shown for w in words)
        t.send_line("/tokens")
        t.expect(r"context [\d,]+ tokens")
        t.prompt()
        t.child.sendcontrol("d")
        t.child.expect(pexpect.EOF)
    finally:
        t.close()
