"""Select, then write: which passages of a long document a summary is written from."""

from __future__ import annotations

import re

from quill.writing.salience import passages, score, select, terms


def count(text: str) -> int:  # about a token per four characters, like a real vocabulary
    return max(1, len(text) // 4)


def technical_article() -> str:
    filler = (
        "The cache keeps recent query results in memory so the database sees fewer reads, "
        "and the hit rate decides how much load the primary carries at peak hours. "
    )
    body = "\n\n".join(f"Measurement {i}: " + filler * 2 for i in range(12))
    return f"""# Caching the catalogue service

Author: A. Writer
Date: 2026-03-02

We added a read-through cache to the catalogue service and cut p99 latency from 840 ms
to 95 ms while the database load fell by 71 per cent. This article explains how.

## Requirements

- 16 GB of memory
- Redis 7.2 or later
- Python 3.11

## Installation

```sh
pip install catalogue-cache
catalogue-cache init --size 4G
```

| setting | value |
|---|---|
| ttl | 300 |
| size | 4G |

## Results

{body}

## Conclusion

The read-through cache paid for itself within a week: latency fell by a factor of nine
and the primary database now idles at 20 per cent load during the evening peak.
"""


def test_passages_are_classified() -> None:
    kinds = [p.kind for p in passages(technical_article())]
    assert kinds[0] == "heading"
    assert "meta" in kinds  # the author and date lines
    assert "list" in kinds and "code" in kinds and "table" in kinds
    assert kinds.count("prose") >= 14


def test_selection_keeps_opening_and_conclusion_within_budget() -> None:
    text = technical_article()
    sel = select(text, 420, count)
    assert sel.tokens <= 420 < sel.total_tokens
    assert "cut p99 latency from 840 ms" in sel.text  # the opening
    assert "paid for itself within a week" in sel.text  # the conclusion
    for left_out in ("pip install", "16 GB of memory", "| ttl |", "Author: A. Writer"):
        assert left_out not in sel.text
    # In document order, each passage under its section's heading.
    assert sel.text.index("840 ms") < sel.text.index("## Conclusion") < sel.text.index("paid")
    assert "## Installation" not in sel.text  # no heading without a passage kept under it
    line = sel.describe()
    assert "of" in line and "code block" in line and "table" in line
    assert re.search(r"\b1 (code block|table|list)s\b", line) is None  # "1 table", not "1 tables"


def test_whole_document_when_it_fits() -> None:
    text = technical_article()
    sel = select(text, 100_000, count)
    assert sel.prose_kept == sel.prose
    assert "pip install" not in sel.text  # code is never what a summary is written from


def test_chinese_article() -> None:
    para = "缓存命中率决定了数据库在高峰时段的负载，我们记录了每个小时的读取次数和延迟。"
    text = (
        "# 目录服务的缓存实践\n\n作者：王明\n\n本文介绍我们为目录服务增加读缓存的过程，"
        "p99 延迟从 840 毫秒降到 95 毫秒。\n\n## 安装步骤\n\n1. 安装 Redis\n2. 修改配置\n\n"
        + "\n\n".join(f"## 第{i}周\n\n" + para * 3 for i in range(1, 9))
        + "\n\n## 总结\n\n读缓存一周内就收回了成本，数据库负载降到百分之二十。\n"
    )
    sel = select(text, 300, count)
    assert "840 毫秒" in sel.text and "收回了成本" in sel.text
    assert "安装 Redis" not in sel.text and "作者" not in sel.text
    assert terms("缓存命中率")  # character pairs count as terms


def test_scores_prefer_central_prose_to_a_stray_aside() -> None:
    text = technical_article() + "\n\nUnrelated: the office plants were watered on Friday.\n"
    items = passages(text)
    scores = score(items)
    aside = next(p.index for p in items if "office plants" in p.text)
    central = [s for i, s in scores.items() if "Measurement" in items[i].text]
    assert scores[aside] < min(central)
