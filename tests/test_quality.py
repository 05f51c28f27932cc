"""The project's own checks: lint, format, types, docs and CI in step with the code."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint() -> None:
    r = _run(str(BIN / "ruff"), "check", "quill", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format() -> None:
    r = _run(str(BIN / "ruff"), "format", "--check", "quill", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy() -> None:
    r = _run(str(BIN / "mypy"))
    assert r.returncode == 0, r.stdout + r.stderr


def generate_cli_docs() -> str:
    r = _run(
        sys.executable,
        "-m",
        "typer",
        "quill.cli.app",
        "utils",
        "docs",
        "--name",
        "quill",
        "--title",
        "quill command reference",
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_cli_reference_is_current() -> None:
    """docs/cli.md is generated from the typer app; regenerate it when commands change:
    uv run python -m typer quill.cli.app utils docs --name quill \\
        --title "quill command reference" --output docs/cli.md"""
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current.strip() == generate_cli_docs().strip(), (
        "docs/cli.md is stale: regenerate it (see this test's docstring)"
    )


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:console|bash|sh)\n(.*?)```", readme, re.S)
    commands = [line.strip() for b in blocks for line in b.splitlines() if line.strip()]
    test_cmd = next(c for c in commands if "pytest" in c)
    assert test_cmd in (ROOT / ".ci" / "run").read_text()
    assert "quill draft" in commands[0]
