"""CI=true turns a skip into a failure with its reason (tests/conftest.py): run the suite's
own tests in a child pytest with the llama.cpp sources made unreachable, and with CI
unset, and check what each run says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assets import SDIST

ROOT = Path(__file__).resolve().parent.parent
# one item that needs llama.cpp's vocabulary files (tests/assets.py)
NEEDS_SOURCES = "tests/test_tokens_matrix.py"


def _child(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    """pytest on NEEDS_SOURCES (first item only) with every cache empty and the package
    index forbidden: the sources cannot be found anywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CI"))}
    empty = tmp_path / "nowhere"
    env.update(
        CI=ci,
        QUILL_TEST_CACHE=str(empty / "project"),
        UV_CACHE_DIR=str(empty / "uv"),
        XDG_CACHE_HOME=str(empty / "xdg"),
        PIP_CACHE_DIR=str(empty / "pip"),
        PIP_NO_INDEX="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", NEEDS_SOURCES, "-x", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_unreachable_sources_fail_in_ci_naming_what_is_missing(tmp_path: Path) -> None:
    run = _child(tmp_path, "true")
    out = run.stdout + run.stderr
    assert run.returncode == 1, out[-2000:]
    assert "skipped under CI=true, which counts as a failure here" in out
    assert SDIST in out  # what is missing
    assert str(tmp_path / "nowhere" / "uv") in out  # and where it was looked for
    assert "PIP_NO_INDEX" in out  # and why it was not fetched
    assert " passed" not in out.splitlines()[-1]


def test_unreachable_sources_skip_outside_ci(tmp_path: Path) -> None:
    run = _child(tmp_path, "")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-2000:]
    last = out.strip().splitlines()[-1]
    assert "skipped" in last and "failed" not in last and "error" not in last
