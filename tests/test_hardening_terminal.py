"""Terminal safety: model text, file names and error messages reach a terminal without
raw control sequences (ESC, CSI, OSC — OSC 52 clipboard writes included —, C1 controls,
BEL, backspace and carriage-return tricks), and rich markup in model text stays text.

The bytes written are checked: the only escape sequences allowed are the ones quill's
own renderer writes (SGR colour/style, OSC 8 hyperlinks, and the live view's cursor
hide/show, erase-line and cursor-up with a carriage return before them); the payload's
own sequences (clear screen, cursor report, alternate screen, OSC 0/52, C1) are none of
these."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run, quill_cmd

from quill.engine.fake import FakeEngine

PAYLOAD = (
    "Opening line.\x1b]0;retitled\x07 Title set.\n\n"
    "Clipboard \x1b]52;c;ZWNobyBwd25lZCA+IH4vLmJhc2hyYw==\x07 write (BEL).\n\n"
    "Clipboard \x1b]52;c;cm0gLXJmIH4=\x1b\\ write (ST).\n\n"
    "Screen \x1b[2J\x1b[H cleared, \x1b[6n cursor report, \x1b[?1049h alt screen.\n\n"
    "C1 \x9b31m csi \x9d0;t\x9c osc \x90q\x9c dcs \x85 nel.\n\n"
    "Bell\x07\x07 and back\x08\x08\x08spaced, car\rriage, \x1bc reset, \x1b(0 charset.\n\n"
    "Markup [red]stays text[/red] and [bold]so does this[/bold] :smile:.\n"
)
MARKUP = ("[red]stays text[/red]", "[bold]so does this[/bold]", ":smile:")

_SGR = re.compile(r"\x1b\[[0-9;]*m")
_OSC8 = re.compile(r"\x1b\]8;[^\x07\x1b]*(?:\x1b\\|\x07)")
_LIVE = re.compile(r"\x1b\[\?25[lh]|\r?\x1b\[2K|\r?\x1b\[[0-9]*A|\r(?=\x1b\[)")


def assert_terminal_safe(written: str) -> str:
    """The visible text, after checking that nothing but quill's own styling is there."""
    rest = _LIVE.sub("", _OSC8.sub("", _SGR.sub("", written)))
    bad = sorted({f"U+{ord(c):04X}" for c in rest if (ord(c) < 32 and c not in "\t\n")})
    bad += sorted({f"U+{ord(c):04X}" for c in rest if 0x7F <= ord(c) <= 0x9F})
    assert not bad, f"control characters reached the terminal: {bad}\n{rest!r}"
    return rest


def _visible(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("plain", [False, True])
def test_draft_on_a_terminal(cli: Callable[..., Run], plain: bool) -> None:
    args = ["draft", "x", *(["--plain"] if plain else [])]
    r = cli(args, engine=FakeEngine(PAYLOAD), stdout_tty=True, stderr_tty=True)
    assert r.exit_code == 0, r.stderr
    shown = _visible(assert_terminal_safe(r.stdout))
    for m in MARKUP:
        assert m in shown
    assert "retitled" not in shown and "ZWNob" not in shown  # the OSC bodies are gone
    assert_terminal_safe(r.stderr)


def test_chat_one_message_and_sessions_show(cli: Callable[..., Run]) -> None:
    r = cli(["chat"], engine=FakeEngine(PAYLOAD), stdin="hello", stdout_tty=True)
    assert r.exit_code == 0, r.stderr
    shown = _visible(assert_terminal_safe(r.stdout))
    assert all(m in shown for m in MARKUP)
    for args in (["sessions", "show"], ["sessions", "show", "--plain"], ["sessions", "list"]):
        r = cli(args, engine=FakeEngine(), stdout_tty=True, stderr_tty=True)
        assert r.exit_code == 0, (args, r.stderr)
        shown = _visible(assert_terminal_safe(r.stdout))
        if args[1] == "show":
            assert "[red]stays text[/red]" in shown
        assert_terminal_safe(r.stderr)


def test_summarize_and_drafts_show(cli: Callable[..., Run], tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("A short document about a harbor town.\n\n" + PAYLOAD)
    r = cli(["summarize", str(doc)], engine=FakeEngine(PAYLOAD), stdout_tty=True)
    assert r.exit_code == 0, r.stderr
    assert "[red]stays text[/red]" in _visible(assert_terminal_safe(r.stdout))
    for args in (["drafts", "show", "1"], ["drafts", "show", "1", "--plain"], ["drafts", "list"]):
        r = cli(args, engine=FakeEngine(), stdout_tty=True, stderr_tty=True)
        assert r.exit_code == 0, (args, r.stderr)
        shown = _visible(assert_terminal_safe(r.stdout))
        if args[1] == "show":
            assert "[red]stays text[/red]" in shown
    r = cli(["drafts", "search", "stays"], engine=FakeEngine(), stdout_tty=True)
    assert_terminal_safe(r.stdout)


def test_a_brief_with_controls_is_kept_as_given_but_shown_safely(
    cli: Callable[..., Run],
) -> None:
    brief = "a poem \x1b]52;c;aGk=\x07 about [red]roses[/red]"
    r = cli(["draft", brief], engine=FakeEngine("Roses."), stdout_tty=True, stderr_tty=True)
    assert r.exit_code == 0
    r = cli(["drafts", "list"], engine=FakeEngine(), stdout_tty=True, stderr_tty=True)
    assert_terminal_safe(r.stdout)


@pytest.mark.parametrize("stderr_tty", [False, True])
def test_a_hostile_file_name_in_an_error(
    cli: Callable[..., Run], tmp_path: Path, stderr_tty: bool
) -> None:
    name = str(tmp_path / "notes\x1b]52;c;cm0gLXJm\x07\x1b[2J\x9b1m[red]x[/red].md")
    r = cli(["summarize", name], engine=FakeEngine(), stderr_tty=stderr_tty)
    assert r.exit_code == 3
    shown = assert_terminal_safe(r.stderr)
    assert "[red]x[/red]" in shown and "no such file" in shown


def test_hostile_gguf_metadata_in_the_verbose_log(tmp_path: Path, quill_home: Path) -> None:
    """A model whose name and architecture metadata carry escape sequences: llama.cpp
    quotes them in its log, which --verbose shows; nothing reaches the terminal raw."""
    from assets import vendor_files
    from gguf_hostile import tiny_model

    folder, why = vendor_files()
    if folder is None:
        pytest.skip(f"llama.cpp's vocabulary files are not available: {why}")
    model = tiny_model(
        folder / "ggml-vocab-llama-spm.gguf",
        tmp_path / "hostile.gguf",
        name="evil\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x9b31m\x07[red]name[/red]",
    )
    env = {**os.environ, "QUILL_HOME": str(quill_home), "PYTHONUNBUFFERED": "1"}
    r = subprocess.run(
        quill_cmd("chat", "--model", str(model), "--max-tokens", "2", "--ctx", "128", "--verbose"),
        input=b"hi",
        capture_output=True,
        env=env,
        timeout=120,
    )
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, err[-2000:]
    assert "evil" in err, "the log did not quote the model name: the test proves nothing"
    assert_terminal_safe(err)
    assert_terminal_safe(r.stdout.decode("utf-8", "replace"))
    for args in (["models", "add", str(model), "--name", "evil"], ["models", "list"]):
        r = subprocess.run(quill_cmd(*args), capture_output=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        assert_terminal_safe(r.stdout.decode("utf-8", "replace"))
        assert_terminal_safe(r.stderr.decode("utf-8", "replace"))


def test_the_check_itself_catches_the_payload() -> None:
    """assert_terminal_safe is not vacuous: the raw payload fails it."""
    with pytest.raises(AssertionError):
        assert_terminal_safe(PAYLOAD)
    for seq in ("\x1b]52;c;aGk=\x07", "\x1b[2J", "\x9b31m", "a\x08b", "a\rb", "\x07"):
        with pytest.raises(AssertionError):
            assert_terminal_safe(f"text {seq} text")
