"""`quill bench --speed`: the report's JSON and table on a FakeEngine, and one run on the
real 0.5B model with tiny sizes (figures present and positive; never a timing
threshold)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from quill import speed
from quill.engine.fake import FakeEngine
from tests.conftest import run_quill

LONG = " ".join(f"word{i}" for i in range(400))  # more than --tg 16 words


def fake() -> FakeEngine:
    return FakeEngine(LONG, n_ctx=4096, name="fake[bold]")


def test_json_has_the_figures_and_settings(cli: Callable[..., Any]) -> None:
    engine = fake()
    r = cli(["bench", "--speed", "--pp", "64", "--tg", "16", "--json"], engine=engine)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["schema"] == speed.SCHEMA
    assert set(data) == {"schema", "model", "settings", "options", "figures", "notes"}
    assert data["options"] == {"pp": 64, "tg": 16}
    figs = data["figures"]
    assert set(figs) == {
        "load_s",
        "pp",
        "tg",
        "ttft_s",
        "peak_rss_bytes",
        "rss_bytes",
        "rss_bound_bytes",
    }
    assert figs["tg"]["tokens"] == 16
    assert 0 < figs["pp"]["tokens"] <= 64 + 8  # the filler text, with the message's tokens
    assert figs["peak_rss_bytes"] > 0
    assert data["model"]["name"] == "fake[bold]"
    assert data["settings"]["backend"] == "fake"
    # every measure ran with nothing cached, greedy, without prompt lookup
    assert all(p.temperature == 0 and p.lookup == 0 for p in engine.params)
    # warm-up, pp, tg, first token: and nothing else (the writing benchmark did not run)
    assert [p.max_tokens for p in engine.params] == [2, 1, 16, 1]


def test_piped_table_is_tab_separated(cli: Callable[..., Any]) -> None:
    r = cli(["bench", "--speed", "--pp", "32", "--tg", "8"], engine=fake())
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("speed: fake[bold] (fake, ctx 4096)")
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in lines[1:]}  # no header, as listings
    assert all(len(cells) == 3 for cells in rows.values())
    assert {"load", "pp32", "tg8", "first token", "peak RSS", "backend", "threads"} <= set(rows)
    assert rows["tg8"][1].endswith(" tok/s")
    assert "\x1b" not in r.stdout


def test_aligned_columns_on_a_terminal(cli: Callable[..., Any]) -> None:
    r = cli(["bench", "--speed", "--pp", "32", "--tg", "8"], engine=fake(), stdout_tty=True)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].split() == ["figure", "value", "what"]  # a header over aligned columns
    assert lines[2].index("0.00 s") == lines[1].index("value")
    assert "fake[bold]" in r.stdout  # the name is text, not markup
    assert "tg8" in r.stdout


def test_a_reply_shorter_than_tg_is_noted(cli: Callable[..., Any]) -> None:
    r = cli(["bench", "--speed", "--tg", "16", "--json"], engine=FakeEngine("Too short."))
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["figures"]["tg"]["tokens"] == 2
    assert "after 2 of 16 tokens" in data["notes"][0]
    assert "after 2 of 16 tokens" in r.stderr


def test_sizes_too_small_are_a_usage_error(cli: Callable[..., Any]) -> None:
    r = cli(["bench", "--speed", "--tg", "1"], engine=fake())
    assert r.exit_code == 2
    assert "--tg" in r.stderr


def test_filler_text_fits_the_token_count() -> None:
    engine = fake()
    text = speed.filler_text(engine, 50)
    assert engine.count(text) == 50


def test_report_rows_show_settings() -> None:
    report = speed.SpeedReport(
        model={"name": "m"},
        settings={"threads": 2, "gpu_offload": False, "kv_cache": "f16"},
        options=speed.SpeedOptions(pp=512, tg=128),
    )
    rows = {r[0]: r[1] for r in report.rows()}
    assert rows["load"] == "-"
    assert rows["threads"] == "2"
    assert rows["gpu offload"] == "off"
    assert rows["kv cache"] == "f16"


@pytest.mark.model
def test_speed_on_the_real_model(real_env: dict[str, str]) -> None:
    r = run_quill(
        ["bench", "--speed", "--pp", "64", "--tg", "16", "--ctx", "512", "--json"],
        env={**real_env, "OMP_WAIT_POLICY": "PASSIVE"},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads(r.stdout)
    figs = data["figures"]
    assert figs["load_s"] > 0
    assert figs["pp"]["tokens"] > 32 and figs["pp"]["tokens_per_s"] > 0
    assert figs["tg"]["tokens"] >= 2 and figs["tg"]["tokens_per_s"] > 0
    assert figs["ttft_s"] > 0
    assert figs["peak_rss_bytes"] > 300 * 2**20  # the 0.5B's weights are in memory
    # while generating, at most the model file + the KV cache + 200 MB (the file's pages
    # that loading copied into repacked buffers are dropped from the resident set)
    assert 0 < figs["rss_bytes"] <= figs["rss_bound_bytes"]
    s = data["settings"]
    assert s["threads"] >= 1 and s["threads_batch"] >= 1
    assert s["n_batch"] >= s["n_ubatch"] > 0
    assert s["n_ctx"] == 512
    assert s["layers"] == 25  # Qwen2.5 0.5B: 24 blocks and the output layer
    assert s["kv_cache"] == "f16"
    assert "CPU" in s["backend"]


@pytest.mark.model
@pytest.mark.parametrize("choice", ["on", "off"])
def test_cpu_repack_reaches_the_engine(real_env: dict[str, str], choice: str) -> None:
    """--cpu-repack off loads the weights as they are in the file; on lets llama.cpp
    repack them (where the CPU has the kernels): the settings say which ran."""
    import platform

    if choice == "on" and platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("repacked kernels for this model's types are checked on x86 only")
    args = ["bench", "--speed", "--pp", "16", "--tg", "2", "--ctx", "256", "--json"]
    r = run_quill(
        [*args, "--cpu-repack", choice],
        env={**real_env, "OMP_WAIT_POLICY": "PASSIVE", "QUILL_CPU_EXTRA_BUFFERS": "1"},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)["settings"]["cpu_repack"] is (choice == "on")
