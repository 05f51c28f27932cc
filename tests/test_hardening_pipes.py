"""A reader that goes away: `quill draft … | head -c 20` ends quietly with exit 0 (the
shell's 141 for SIGPIPE is not used: quill catches the broken pipe, so `set -o
pipefail` scripts do not fail on it), no traceback, and the text is kept as an
interrupted draft."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from quill.store.db import Store


@pytest.mark.parametrize("reader", ["head -c 20", "head -n 1", "true"])
def test_a_closed_pipe_is_quiet_and_exits_0(quill_home: Path, reader: str) -> None:
    reply = "\n".join(f"line {i}" for i in range(4000))
    env = {
        **os.environ,
        "QUILL_HOME": str(quill_home),
        "QUILL_ENGINE": "fake",
        "QUILL_FAKE_REPLY": reply,
        "QUILL_FAKE_DELAY": "0.002",  # the reader leaves long before the end
    }
    r = subprocess.run(
        [
            "bash",
            "-c",
            f'"$0" -m quill draft x --max-tokens 8000 | {reader}; '
            'echo "status=${PIPESTATUS[0]}" >&2',
            sys.executable,
        ],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert "status=0" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr
    if reader == "head -c 20":
        assert r.stdout == reply[:20]
    with Store(quill_home / "data" / "quill.db") as s:
        v = s.draft_version(1)
        assert v is not None
        assert v.status == "interrupted" and reply.startswith(v.content)
