"""benchmarks/writing_eval.py runs end to end on the fake engine (no model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from quill.engine.fake import FakeEngine

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "writing_eval.py"


def test_runs_on_the_fake_engine(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    env = dict(os.environ, QUILL_ENGINE="fake", QUILL_HOME=str(tmp_path / "home"))
    args = ["--quick", "--seeds", "0,1", "--briefs", "linen-shirt,autumn-poem"]
    r = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "### Summaries (2 documents, seeds 0,1)" in r.stdout
    assert "### Drafts (2 briefs, seeds 0,1)" in r.stdout
    assert "| facts carried |" in r.stdout and "±" in r.stdout
    data = json.loads(out.read_text())
    recs = data["models"][0]["records"]
    summaries = [x for x in recs if x["kind"] == "summary"]
    drafts = [x for x in recs if x["kind"] == "draft"]
    assert len(summaries) == 2 * 2 * 2  # documents x systems x seeds
    assert len(drafts) == 2 * 2 * 2
    assert {x["system"] for x in recs} == {"quill", "baseline"}
    assert all(0 <= x["facts"] <= 1 for x in summaries)
    again = subprocess.run(
        [sys.executable, str(SCRIPT), "--rescore", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert "(rescored)" in again.stdout
    assert again.stdout.split("## ", 1)[1] == r.stdout.split("## ", 1)[1]


def test_cut_to_tokens() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import writing_eval  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(SCRIPT.parent))
    engine = FakeEngine()
    text = "One two three. Four five six.\nSeven eight nine ten."
    assert writing_eval.cut_to_tokens(engine, text, 100) == text
    cut = writing_eval.cut_to_tokens(engine, text, 7)
    assert text.startswith(cut) and engine.count(cut) <= 7
    assert cut.rstrip().endswith((".", "\n")) or len(cut) < len(text) * 0.9
