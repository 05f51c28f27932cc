"""`quill bench --writing` on a FakeEngine: schema, table, options."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from quill import evalset
from quill.engine.base import Message
from quill.engine.fake import FakeEngine
from quill.writing import benchwriting

PROSE = (
    "# The Linen Shirt\n\nCut from washed European linen, it keeps you cool on the warmest "
    "days. Harrowmere water, 48,300 residents and a tariff of 4.5 per cent. Made to last."
)


def reply(messages: list[Message]) -> str:
    last = next(m.content for m in reversed(messages) if m.role == "user")
    if "poem" in last or "秋天" in last:
        # the reply continues its opening ("# "); a leak inside the text stays
        return "# 秋\n\n秋风起，落叶黄。根据您的要求，这首诗很短。"
    return PROSE


def run_json(cli: Callable[..., Any], *args: str) -> tuple[dict[str, Any], Any]:
    engine = FakeEngine(reply, n_ctx=8192)
    r = cli(["bench", "--writing", "--json", *args], engine=engine)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout), engine


def test_json_has_the_schema(cli: Callable[..., Any]) -> None:
    data, _ = run_json(cli)
    assert data["schema"] == benchwriting.SCHEMA
    assert set(data) == {"schema", "model", "options", "seconds", "figures", "drafts", "summaries"}
    assert data["model"]["n_ctx"] == 8192
    figs = data["figures"]
    assert set(figs) == {"diversity", "stability", "summary", "leaks"}
    assert set(figs["diversity"]) == {"distinct_2", "samples", "brief"}
    assert set(figs["stability"]) == {"repeated_4gram_rate", "ends_by_itself", "loops", "drafts"}
    assert set(figs["summary"]) == {
        "length_ratio",
        "length_ok",
        "copy_rate",
        "complete_final_sentence",
        "facts_carried",
        "documents",
    }
    assert set(figs["leaks"]) == {"rate", "texts", "phrases"}
    assert figs["diversity"]["samples"] == 4
    assert figs["diversity"]["brief"] == evalset.briefs()[0].id
    # the same text four times: a quarter of its bigrams are distinct
    assert figs["diversity"]["distinct_2"] == pytest.approx(0.25)
    assert figs["stability"]["ends_by_itself"] == 1.0
    assert figs["summary"]["documents"] == 1
    # the one summary is PROSE, which carries three of the water report's facts
    assert 0 < figs["summary"]["facts_carried"] < 0.5
    # the leak left inside the poem counts; the product pages are not leaks
    assert figs["leaks"]["phrases"] == ["根据您的要求"]
    assert figs["leaks"]["rate"] == pytest.approx(1 / 6)
    assert all(isinstance(d["text"], str) for d in data["drafts"])


def test_samples_changes_the_sample_count(cli: Callable[..., Any]) -> None:
    data, engine = run_json(cli, "--samples", "3")
    assert len([p for p in engine.params if p.temperature > 0.5]) == 3 + 1  # + one poem
    assert data["figures"]["diversity"]["samples"] == 3
    assert data["options"]["samples"] == 3
    first = evalset.briefs()[0].id
    assert [d["brief"] for d in data["drafts"]].count(first) == 3


def test_seed_makes_each_sample_a_different_repeatable_draw(cli: Callable[..., Any]) -> None:
    data, engine = run_json(cli, "--seed", "7", "--samples", "2")
    draft_seeds = [p.seed for p in engine.params if p.temperature > 0.5]
    assert draft_seeds[:2] == [7, 8]
    assert [d["seed"] for d in data["drafts"]][:2] == [7, 8]
    assert {p.seed for p in engine.params} >= {7, 8}


def test_full_set(cli: Callable[..., Any]) -> None:
    data, _ = run_json(cli, "--full", "--samples", "2")
    assert len(data["summaries"]) == len(evalset.documents())
    assert len(data["drafts"]) == 2 + len(evalset.briefs()) - 1


def test_plain_table_when_piped(cli: Callable[..., Any]) -> None:
    r = cli(["bench", "--writing"], engine=FakeEngine(reply, n_ctx=8192))
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("writing figures: fake")
    rows = {ln.split("\t")[0]: ln for ln in lines[1:]}  # tab-separated, no header, piped
    assert len(rows["diversity: distinct-2"].split("\t")) == 3
    assert "diversity: distinct-2" in rows
    assert "summary: copy rate" in rows
    assert "\x1b" not in r.stdout
    assert "leaked: 根据您的要求" in r.stdout
    # progress goes to stderr, never to stdout
    assert "[1/6] draft linen-shirt (seed 0)" in r.stderr
    assert "[1/6]" not in r.stdout


def test_aligned_columns_on_a_terminal(cli: Callable[..., Any]) -> None:
    r = cli(["bench"], engine=FakeEngine(reply, n_ctx=8192), stdout_tty=True)
    assert r.exit_code == 0, r.stderr
    assert "diversity: distinct-2" in r.stdout
    assert r.stdout.splitlines()[1].split() == ["figure", "value", "meaning"]


def test_samples_below_two_is_a_usage_error(cli: Callable[..., Any]) -> None:
    r = cli(["bench", "--samples", "1"], engine=FakeEngine(reply))
    assert r.exit_code == 2
    assert "--samples" in r.stderr


def test_report_figures_without_drafts() -> None:
    report = benchwriting.WritingReport(model={}, options=benchwriting.BenchOptions())
    figs = report.figures()
    assert figs["diversity"]["distinct_2"] is None
    assert figs["leaks"]["rate"] is None
    assert all(row[1] == "-" for row in report.rows())
