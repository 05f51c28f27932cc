"""`quill drafts import` of Markdown with YAML front matter written by other tools
(Jekyll, Hugo, Obsidian): read with PyYAML's safe loader, the title and the rest kept,
the text without the front matter; hostile front matter refused by name, never a
traceback, and never run."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from quill.errors import InputError
from quill.store.db import Store
from quill.store.export import FrontMatterError, parse_markdown

JEKYLL = """---
layout: post
title: >-
  Brewing green tea:
  a slow guide
date: 2024-03-09 10:15:00 +0100
tags: [tea, "how to"]
categories:
  - kitchen
  - notes
draft: false
---

# Brewing green tea

Water at 80 degrees, not boiling.
"""


@pytest.fixture
def store(quill_home: Path) -> Store:
    from quill.config import resolve_paths

    s = Store(resolve_paths(dict(os.environ)).db_file)
    yield s  # type: ignore[misc]
    s.close()


def test_jekyll_front_matter_is_read_as_yaml(cli: Callable, store: Store, tmp_path: Path) -> None:
    post = tmp_path / "2024-03-09-tea.md"
    post.write_text(JEKYLL, encoding="utf-8")
    r = cli(["drafts", "import", str(post)])
    assert r.exit_code == 0, r.stderr
    d = store.drafts()[0]
    assert d.title == "Brewing green tea: a slow guide"  # the folded title, not ">-"
    assert d.latest is not None
    assert (
        d.latest.content.lstrip("\n")
        == "# Brewing green tea\n\nWater at 80 degrees, not boiling.\n"
    )
    front = d.latest.meta["front_matter"]
    assert front["tags"] == ["tea", "how to"] and front["categories"] == ["kitchen", "notes"]
    assert front["date"] == "2024-03-09 10:15:00 +0100" and front["draft"] is False
    assert front["layout"] == "post"
    # the title given in the front matter stays: a revision does not rename the draft
    assert d.title_fixed


def test_hugo_style_and_crlf_and_plain_dates(store: Store, cli: Callable, tmp_path: Path) -> None:
    post = tmp_path / "hugo.md"
    text = '---\r\ntitle: "秋天的诗"\r\ndate: 2023-10-01\r\nweight: 3\r\n---\r\n天高云淡。\r\n'
    post.write_bytes(text.encode("utf-8"))
    assert cli(["drafts", "import", str(post)]).exit_code == 0
    d = store.drafts()[0]
    assert d.title == "秋天的诗" and d.latest is not None
    assert d.latest.content == "天高云淡。\r\n"
    assert d.latest.meta["front_matter"] == {"title": "秋天的诗", "date": "2023-10-01", "weight": 3}


@pytest.mark.parametrize(
    "front, says",
    [
        ('title: "unclosed\n', "not valid YAML (line 2"),
        ("title: a\n\tbad: tab\n", "not valid YAML"),
        ("title: [a, b\n", "not valid YAML"),
        ("title: x\ntitle: {y\n", "not valid YAML"),
        ("run: !!python/object/apply:os.system ['touch /tmp/quill-pwned']\n", "not valid YAML"),
        ("a: &a [*a]\n", "too deep or too large"),
        (  # an alias bomb: nine levels of nine references
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
                for i in range(8)
            ),
            "too deep or too large",
        ),
    ],
)
def test_hostile_front_matter_is_a_clear_error(
    cli: Callable, store: Store, tmp_path: Path, front: str, says: str
) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(f"---\n{front}---\nBody text.\n", encoding="utf-8")
    good = tmp_path / "good.md"
    good.write_text("---\ntitle: Fine\n---\nFine text.\n", encoding="utf-8")
    r = cli(["drafts", "import", str(bad), str(good)])
    assert r.exit_code == 0  # the good file is imported all the same
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "bad.md" in errors[0] and says in errors[0], r.stderr
    assert [d.title for d in store.drafts()] == ["Fine"]
    assert not Path("/tmp/quill-pwned").exists()
    r = cli(["drafts", "import", str(bad)])
    assert r.exit_code == InputError.exit_code and "front matter" in r.stderr


def test_parse_markdown_cases() -> None:
    # a rule, a paragraph, a rule: ordinary Markdown, kept whole
    text = "---\n\nA paragraph after a rule.\n\n---\n"
    assert parse_markdown(text) == (None, text)
    # no closing fence: not front matter
    assert parse_markdown("---\ntitle: x\nbody\n") == (None, "---\ntitle: x\nbody\n")
    # a YAML list is not front matter
    assert parse_markdown("---\n- a\n- b\n---\nx\n")[0] is None
    # empty front matter
    assert parse_markdown("---\n---\nbody\n") == ({}, "body\n")
    front, body = parse_markdown("---\ntitle: 2024\nn: .nan\nbin: !!binary aGk=\n---\nx")
    assert front == {"title": 2024, "n": "nan", "bin": "hi"} and body == "x"
    with pytest.raises(FrontMatterError, match="line 3"):
        parse_markdown("---\ntitle: ok\nbad: 'x\n---\nx")


def test_front_matter_without_text_is_refused(cli: Callable, tmp_path: Path) -> None:
    only = tmp_path / "only.md"
    only.write_text("---\ntitle: Nothing here\n---\n\n", encoding="utf-8")
    r = cli(["drafts", "import", str(only)])
    assert r.exit_code == InputError.exit_code and "no text" in r.stderr
