"""benchmarks/doc_tables.py: every measured table in README.md and docs/ is what its
committed run file renders to, and a rewrite changes the marked tables and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "doc_tables.py"
SPEED = "benchmarks/runs/speed-1.5b.json"


@pytest.fixture(scope="module")
def doc_tables() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import doc_tables  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return doc_tables


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_the_docs_tables_match_their_run_files(doc_tables: ModuleType) -> None:
    """A table in the README or docs/ that drifts from its run file (an edited cell, a
    run file replaced, a metric changed under a rescored run) fails here: regenerate it
    with `benchmarks/doc_tables.py --write`."""
    r = _run("--check")
    assert r.returncode == 0, r.stdout + r.stderr
    checked = [line for line in r.stdout.splitlines() if line.endswith(" ok")]
    # every view renders a table of the docs from a committed run file
    used = {line.split()[-2] for line in checked}
    assert used == set(doc_tables.VIEWS), r.stdout
    assert r.stdout.splitlines()[-1] == f"{len(checked)} tables"


def _doc(table: str) -> str:
    return (
        "# Speed\n\nBefore.\n\n"
        f"<!-- table: {SPEED} speed -->\n{table}\n\nBetween.\n\n"
        f"<!-- table: {SPEED} speed -->\n\nAfter: this marker had no table yet.\n\n"
        "```md\n<!-- table: benchmarks/runs/none.json nothing -->\n| left | as is |\n```\n"
    )


def _figures() -> dict[str, Any]:
    """The figures of the speed run file the tests render."""
    saved = json.loads((ROOT / SPEED).read_text(encoding="utf-8"))
    return dict(saved["figures"])


def test_rewrite_renders_each_marked_table_and_leaves_the_rest(doc_tables: ModuleType) -> None:
    fresh = doc_tables.render(doc_tables.parse_marker(f"<!-- table: {SPEED} speed -->"))
    tg = f"{_figures()['tg']['tokens_per_s']:.1f} tok/s"
    assert f"| tg128 | {tg} |" in fresh  # from the run file
    stale = fresh.replace(tg, "999.9 tok/s")
    text = _doc(stale)
    lines = text.split("\n")
    markers = [i + 1 for i, line in enumerate(lines) if line.startswith(f"<!-- table: {SPEED}")]

    new, found, changed = doc_tables.rewrite(text)

    assert [m.line for m in found] == markers  # the fenced one is not a marker
    assert changed == found  # one stale, one missing
    assert new == _doc(fresh).replace(
        "speed -->\n\nAfter", f"speed -->\n{fresh}\n\nAfter"
    )  # byte for byte around the tables
    assert "| left | as is |" in new
    again, _, changed_again = doc_tables.rewrite(new)
    assert again == new and changed_again == []


def test_check_names_a_stale_table_and_write_fixes_it(
    doc_tables: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = doc_tables.render(doc_tables.parse_marker(f"<!-- table: {SPEED} speed -->"))
    doc = tmp_path / "speed.md"
    first = f"{_figures()['ttft_s'] * 1000:.0f} ms"
    doc.write_text(_doc(fresh.replace(f"| {first} |", "| 9999 ms |")), encoding="utf-8")
    line = doc.read_text().split("\n").index(f"<!-- table: {SPEED} speed -->") + 1

    assert doc_tables.main(["--check", str(doc)]) == 1
    err = capsys.readouterr().err
    assert f"speed.md:{line} ({SPEED} speed)" in err
    assert "9999 ms" in doc.read_text()  # a check writes nothing

    assert doc_tables.main(["--write", str(doc)]) == 0
    assert f"| first token | {first} |" in doc.read_text()
    assert doc_tables.main(["--check", str(doc)]) == 0


@pytest.mark.parametrize(
    ("marker", "says"),
    [
        (f"<!-- table: {SPEED} speeds -->", "unknown view 'speeds'"),
        ("<!-- table: benchmarks/runs/gone.json speed -->", "no run file benchmarks/runs/gone"),
        ("<!-- table: speed -->", "a marker names run files, then a view"),
        ("<!-- table: benchmarks/runs/summary-report.json speed -->", "is not a `quill bench"),
        ("<!-- table: benchmarks/runs/speed-1.5b.json summary -->", "does not fit view 'summary'"),
    ],
)
def test_a_marker_that_cannot_render_is_an_error_naming_its_line(
    doc_tables: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    marker: str,
    says: str,
) -> None:
    doc = tmp_path / "bad.md"
    doc.write_text(f"# Bad\n\n{marker}\n| a |\n", encoding="utf-8")
    assert doc_tables.main(["--write", str(doc)]) == 2
    err = capsys.readouterr().err
    assert "bad.md: line 3: " in err and says in err
    assert doc.read_text() == f"# Bad\n\n{marker}\n| a |\n"


@pytest.mark.parametrize(
    ("script", "flag", "files", "view"),
    [
        ("summary_eval.py", "--report", ["summary-report.json"], "summary"),
        (
            "draft_eval.py",
            "--report",
            ["draft-report-1.5b.json", "draft-report-0.5b.json"],
            "drafts",
        ),
    ],
)
def test_a_view_shows_the_cells_its_script_reports(
    doc_tables: ModuleType, script: str, flag: str, files: list[str], view: str
) -> None:
    """The docs' layout differs from the script's (figures as rows), its cells do not."""
    paths = [f"benchmarks/runs/{f}" for f in files]
    rendered = doc_tables.render(
        doc_tables.parse_marker(f"<!-- table: {' '.join(paths)} {view} -->")
    )
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), flag, *paths],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    cells = [c.strip() for row in rendered.splitlines()[2:] for c in row.strip("|").split("|")[1:]]
    assert cells
    missing = [c for c in cells if f" {c} |" not in r.stdout]
    assert not missing, missing
