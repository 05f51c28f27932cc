"""Every script in benchmarks/ runs: those that go through quill's Environment on the
fake engine (QUILL_ENGINE=fake), with their smallest settings; those that drive
llama.cpp itself (sampler chains, KV cache, load and decode timing) on the embedded
default model with a few tokens (marked ``model``). A run must end with exit 0 and
write what it promises (its JSON file, its summary line). mypy checks benchmarks/ too
(pyproject.toml), so an engine change that breaks one shows there first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

# script: (arguments, writes a JSON file with --json, a line its output must hold)
ON_FAKE: dict[str, tuple[list[str], bool, str]] = {
    "doc_tables.py": (["--check"], False, "tables"),
    "draft_eval.py": (["--seeds", "0", "--max-tokens", "16", "--retries", "0"], True, ""),
    "style_eval.py": (["--voices", "terse", "--max-tokens", "16"], True, ""),
    "summary_eval.py": (["--split", "report", "--systems", "select,baseline"], True, ""),
    "summary_tries.py": (["--docs", "quenby-water", "--tries", "2"], True, "| quill"),
    "writing_eval.py": (["--quick"], True, ""),
    "verbs_eval.py": (["--seeds", "0"], True, ""),
    "proofread_eval.py": (["--lang", "English"], True, ""),
    "draft_first_byte.py": (["--repeat", "1", "--max-tokens", "8"], False, "first byte"),
    "startup_bench.py": (["--repeat", "1"], True, "same help text as the typer app: yes"),
    # quill's children run on the fake engine, which wins over --base-url
    "server_jobs.py": (
        ["--base-url", "http://127.0.0.1:9", "--slots", "2", "--files", "2", "--max-tokens", "8"],
        False,
        "speedup",
    ),
}
# script: (arguments after --model PATH or --models PATH, a line its output must hold)
ON_MODEL: dict[str, tuple[list[str], str]] = {
    "check_cost.py": (["--sizes", "1,2", "--rounds", "1", "--repack", "off"], "best gain"),
    "chat_ttft.py": (["--turns", "2", "--repeat", "1", "--max-tokens", "4", "--ctx", "1024"], ""),
    "model_compare.py": (
        ["--prompt-tokens", "32", "--tokens", "4", "--rounds", "1", "--ctx", "512"],
        "tok/s",
    ),
    "lookup_bench.py": (["--words", "30", "--ctx", "1024"], "ratio"),
    "prompt_bench.py": (["--lengths", "64", "--rounds", "1"], "ratio"),
    "repack_bench.py": (["--rounds", "1", "--pp", "16", "--tg", "4"], "repacking pays"),
    "prefix_bench.py": (["--rounds", "1", "--ctx", "1024"], "prefix files: 4"),
    "sampler_bench.py": (["--samples", "5", "--rounds", "1"], "ms/token"),
    "speculative_bench.py": (
        ["--small", "{model}", "--tokens", "12", "--rounds", "1"],
        "same text",
    ),
    "stream_bench.py": (["--tokens", "8", "--rounds", "1", "--ctx", "512"], ""),
    "summarize_bench.py": (["--ctx", "1024", "--length", "short", "--file", "{short}"], ""),
}


def test_every_benchmark_has_a_smoke_run() -> None:
    scripts = {p.name for p in BENCH.glob("*.py")}
    assert scripts == set(ON_FAKE) | set(ON_MODEL)


def _run(script: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("script", sorted(ON_FAKE))
def test_benchmark_runs_on_the_fake_engine(script: str, tmp_path: Path) -> None:
    args, writes_json, says = ON_FAKE[script]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUILL_")}
    env.update({"QUILL_HOME": str(tmp_path / "home"), "QUILL_ENGINE": "fake"})
    out = tmp_path / "run.json"
    r = _run(script, [*args, *(["--json", str(out)] if writes_json else [])], env)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "Traceback" not in r.stderr
    if writes_json:
        data = json.loads(out.read_text())
        assert data, "the run file is empty"
    assert says in r.stdout + r.stderr


@pytest.mark.model
@pytest.mark.parametrize("script", sorted(ON_MODEL))
def test_benchmark_runs_on_the_default_model(
    script: str, tmp_path: Path, default_model: Path
) -> None:
    args, says = ON_MODEL[script]
    flag = "--models" if script == "model_compare.py" else "--model"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUILL_")}
    env["QUILL_HOME"] = str(tmp_path / "home")
    short = tmp_path / "short.md"  # a document of a few parts, not the 3,000-word report
    short.write_text(
        "# Tea\n\n"
        + "\n\n".join(f"## Part {i}\n\n" + "Tea grows on misty hills. " * 30 for i in range(3))
    )
    args = [a.replace("{short}", str(short)).replace("{model}", str(default_model)) for a in args]
    r = _run(script, [flag, str(default_model), *args], env)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "Traceback" not in r.stderr
    assert says in r.stdout + r.stderr


# Run files committed under benchmarks/runs/ that a script prints again as the tables the
# docs quote: file name prefix -> (script, its flag for saved runs).
REPORTS = {
    "summary-": ("summary_eval.py", "--report"),
    "draft-": ("draft_eval.py", "--report"),
    "verbs-": ("verbs_eval.py", "--rescore"),
    "tries-": ("summary_tries.py", "--report"),
}


@pytest.mark.parametrize(
    "run_file",
    sorted(
        p.name
        for p in (BENCH / "runs").glob("*.json")
        if any(p.name.startswith(k) for k in REPORTS)
    ),
)
def test_a_committed_run_prints_its_tables_again(run_file: str) -> None:
    script, flag = next(v for k, v in REPORTS.items() if run_file.startswith(k))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUILL_")}
    r = _run(script, [flag, str(BENCH / "runs" / run_file)], env)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert any(row in r.stdout for row in ("| quill", "| auto")), r.stdout[-2000:]
