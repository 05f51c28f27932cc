"""`quill summarize` on the embedded default model (CPU): nothing is cut on the way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import run_quill

from quill.engine.base import Sampling
from quill.writing.summarize import SummaryOptions, summarize

DATA = Path(__file__).parent / "data"
SALTMERE = DATA / "saltmere_report.md"

ZH = """# 盐湖镇灯塔的修复

盐湖镇北灯塔建于1861年至1864年，由工程师马库斯·赫勒代设计。塔高三十一米，用当地的灰色花岗岩建成。\
第一位守塔人约纳斯·费里尔于1864年10月14日点亮了灯。

2019年，盐湖海事信托请结构工程师对灯塔进行了勘测。工程师发现塔身向海倾斜十一厘米，但地基牢固。\
四十三块石头有裂缝，阳台的铁架严重生锈。

修复工作在2021年和2022年的两个夏天完成。2024年3月3日，镇议会决定将灯塔改名为昆比灯塔，\
以纪念在1953年风暴中救出十九名水手的领航员塔尔薇·昆比。
"""


@pytest.mark.model
def test_fact_near_the_end_survives_map_reduce(real_env: dict[str, str]) -> None:
    """A ~3,100-token report in a 2,048-token context: it must be cut into parts, and the
    name planted in its last section (and nowhere before) must reach the summary."""
    text = SALTMERE.read_text(encoding="utf-8")
    assert "Quenby" not in text[: int(len(text) * 0.9)]
    r = run_quill(
        [
            "summarize",
            str(SALTMERE),
            "--method",
            "map-reduce",
            "--ctx",
            "2048",
            "--temperature",
            "0",
            "--length",
            "short",
            "--format",
            "bullets",
        ],
        env=real_env,
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr
    report = r.stderr.strip().splitlines()[-1]
    m = re.match(r"summarized ([\d,]+) tokens in (\d+) chunks, (\d+) passes, ", report)
    assert m is not None, r.stderr
    assert int(m.group(1).replace(",", "")) > 2048
    assert int(m.group(2)) >= 3
    assert int(m.group(3)) >= 2
    assert "Quenby" in r.stdout, r.stdout


@pytest.mark.model
def test_long_report_is_written_from_a_selection_as_prose(real_env: dict[str, str]) -> None:
    """The same report, as `quill summarize` reads it by default: the passages that fit
    one context, written once into prose, and the report line says what was left out."""
    r = run_quill(
        ["summarize", str(SALTMERE), "--ctx", "2048", "--temperature", "0", "--length", "short"],
        env=real_env,
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr
    report = r.stderr.strip().splitlines()[-1]
    m = re.search(r"wrote from ([\d,]+) of ([\d,]+) tokens", report)
    assert m is not None, r.stderr
    assert int(m.group(1).replace(",", "")) < int(m.group(2).replace(",", ""))
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(r.stdout.split()) >= 15, r.stdout
    assert not any(re.match(r"\s*(?:[-*+]|\d+[.)]|#)\s", ln) for ln in lines), r.stdout
    assert len(set(lines)) == len(lines), r.stdout  # no line twice


@pytest.mark.model
def test_chinese_document_gets_a_chinese_summary(llama_engine: Any) -> None:
    summary = summarize(
        llama_engine,
        ZH,
        SummaryOptions(length="short"),
        Sampling(temperature=0, repeat_penalty=1.12),
    )
    assert summary.job.plan.single
    assert summary.job.plan.lang == "Chinese"
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in summary.text)
    latin = sum(ch.isascii() and ch.isalpha() for ch in summary.text)
    assert han >= 20 and han > 3 * latin, summary.text


@pytest.mark.model
def test_the_engine_says_how_large_the_model_is(llama_engine: Any) -> None:
    """The summary's floor follows the model's size (summary_job.floor_share): the
    tests' 0.5B counts 630M parameters with its embeddings (the 1.5B, 1,777M)."""
    from quill.writing.summary_job import FLOOR_SHARE, floor_share

    assert 400_000_000 < llama_engine.info.n_params < 1_000_000_000
    assert floor_share(llama_engine.info.n_params) == FLOOR_SHARE
