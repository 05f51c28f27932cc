"""Privacy: with the local backend, quill opens no network socket during a draft, a
summarize or a chat, and sends no telemetry. A child process runs quill's real entry
point under a Python audit hook that records every socket event (creation, connect,
bind, address lookup) and refuses it; the test then asserts the record is empty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GUARD = textwrap.dedent(
    """
    import json, sys
    events = []
    def hook(event, args):
        if event.startswith(("socket.", "http.client.", "urllib.Request")):
            events.append(event)
            raise PermissionError(f"network access refused by the test: {event}")
    sys.addaudithook(hook)
    from quill.cli.app import main
    code = 0
    try:
        main(sys.argv[2:])
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        with open(sys.argv[1], "w") as f:
            json.dump(events, f)
    sys.exit(code)
    """
)


def _guarded(args: list[str], env: dict[str, str], tmp: Path, stdin: str | None = None) -> None:
    log = tmp / "events.json"
    r = subprocess.run(
        [sys.executable, "-c", GUARD, str(log), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(log.read_text()) == [], "quill touched the network"


def test_the_guard_catches_a_socket(tmp_path: Path) -> None:
    """The guard itself works: a socket opened under it is recorded and refused."""
    log = tmp_path / "events.json"
    code = GUARD.replace("from quill.cli.app import main", "import socket; socket.socket()")
    r = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True)
    assert r.returncode != 0 and "network access refused" in r.stderr


@pytest.mark.model
def test_draft_summarize_and_chat_open_no_socket(real_env: dict[str, str], tmp_path: Path) -> None:
    env = {**real_env, "QUILL_CTX": "1024"}
    _guarded(["draft", "one line about tea", "--max-tokens", "8"], env, tmp_path)
    doc = tmp_path / "doc.md"
    doc.write_text("# Tea\n\nTea is grown in Yunnan. It is picked in spring.\n")
    _guarded(["summarize", str(doc), "--max-tokens", "24"], env, tmp_path)
    _guarded(["chat", "--session", "p"], env, tmp_path, stdin="hello")
