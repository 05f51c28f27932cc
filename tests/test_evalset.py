"""The shipped evaluation set is whole and consistent."""

from __future__ import annotations

from importlib.resources import files

import pytest

from quill import evalset
from quill.writing import metrics
from quill.writing.draft import forms
from quill.writing.language import detect_language, is_cjk


def test_package_data_is_reachable() -> None:
    root = files("quill.evalset")
    assert (root / "briefs.toml").is_file()
    names = {p.name for p in (root / "docs").iterdir()}
    assert {"quenby-water.md", "quenby-water.toml"} <= names


def test_documents() -> None:
    docs = evalset.documents()
    assert len(docs) == 4
    assert sorted(d.lang for d in docs) == ["Chinese", "Chinese", "English", "English"]
    for d in docs:
        assert detect_language(d.text) == d.lang, d.name
        assert d.text.lstrip().startswith("# "), d.name
        assert metrics.heading_echo("", d.text) == 0.0
        # long: more than a 2,048-token context (checked with the model's tokenizer below)
        assert metrics.count_units(d.text) > (3500 if is_cjk(d.lang) else 2200), d.name
        # the abstract is a 60-120 word summary (in characters for Chinese)
        n = metrics.count_units(d.abstract) / (1.7 if is_cjk(d.lang) else 1)
        assert 60 <= n <= 121, (d.name, n)
        assert 8 <= len(d.facts) <= 14
        assert len({f.id for f in d.facts}) == len(d.facts)
        for f in d.facts:
            assert 0 <= f.position <= 1
            assert metrics.facts_found(d.text, [f.forms]) == [True], (d.name, f.id)
        positions = [f.position for f in d.facts]
        assert min(positions) < 0.2 and any(0.4 <= p <= 0.6 for p in positions), d.name
        assert sum(p >= 0.8 for p in positions) >= 2, d.name
        assert metrics.facts_carried(d.abstract, [f.forms for f in d.facts]) >= 0.9


def test_one_short_code_block() -> None:
    fenced = [d.name for d in evalset.documents() if "```" in d.text]
    assert len(fenced) == 1


def test_documents_by_name() -> None:
    assert [d.name for d in evalset.documents(["songfeng-teahouse"])] == ["songfeng-teahouse"]
    with pytest.raises(KeyError):
        evalset.documents(["nope"])


def test_briefs() -> None:
    briefs = evalset.briefs()
    assert 8 <= len(briefs) <= 12
    assert briefs[0].brief == "a product page for a linen shirt"
    known = forms()
    for b in briefs:
        assert b.form is None or b.form in known, b.id
        assert b.words is None or b.words > 0
        cjk = sum(len(u) == 1 and u > "\u3000" for u in metrics.units(b.brief))
        assert (cjk > len(metrics.units(b.brief)) / 2) == is_cjk(b.lang), b.id
    assert {b.lang for b in briefs} == {"English", "Chinese"}
    assert [b.id for b in evalset.briefs(["autumn-poem"])] == ["autumn-poem"]


@pytest.mark.model
def test_documents_are_longer_than_a_2048_context(llama_engine: object) -> None:
    for d in evalset.documents():
        tokens = llama_engine.count(d.text)  # type: ignore[attr-defined]
        assert 3000 <= tokens <= 5000, (d.name, tokens)
