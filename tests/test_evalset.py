"""The shipped evaluation set is whole and consistent."""

from __future__ import annotations

import re
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


# The first four documents (a history, a report, a review, a postmortem) carry
# reference summaries that restate their facts; the technical articles and reports
# added beside them carry their authors' own abstracts.
REFERENCE_SUMMARIES = {
    "harlow-finch-review",
    "payment-outage-postmortem",
    "quenby-water",
    "songfeng-teahouse",
}


def _cjk_chars(text: str) -> int:
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff")


def _english_words(text: str) -> int:
    return len(re.findall(r"[A-Za-z]+(?:['’-][A-Za-z]+)*", text))


def test_documents() -> None:
    docs = evalset.documents()
    assert len(docs) == 12
    assert {d.lang for d in docs} == {"Chinese", "English"}
    assert {d.name for d in docs} >= REFERENCE_SUMMARIES
    for d in docs:
        assert detect_language(d.text) == d.lang, d.name
        assert d.text.lstrip().startswith("# "), d.name
        assert metrics.heading_echo("", d.text) == 0.0
        # long: more than a 2,048-token context (checked with the model's tokenizer below)
        assert metrics.count_units(d.text) > (3500 if is_cjk(d.lang) else 2200), d.name
        assert d.text.count("```") % 2 == 0, d.name  # code fences are closed
        assert 8 <= len(d.facts) <= 14
        assert len({f.id for f in d.facts}) == len(d.facts)
        for f in d.facts:
            assert 0 <= f.position <= 1
            assert metrics.facts_found(d.text, [f.forms]) == [True], (d.name, f.id)
        positions = [f.position for f in d.facts]
        assert min(positions) < 0.2 and any(0.4 <= p <= 0.6 for p in positions), d.name
        assert sum(p >= 0.8 for p in positions) >= 2, d.name
        if d.name in REFERENCE_SUMMARIES:
            # a 60-120 word reference summary (in characters for Chinese) of every fact
            n = metrics.count_units(d.abstract) / (1.7 if is_cjk(d.lang) else 1)
            assert 60 <= n <= 121, (d.name, n)
            assert metrics.facts_carried(d.abstract, [f.forms for f in d.facts]) >= 0.9


def test_articles_are_long_and_have_their_own_abstracts() -> None:
    articles = [d for d in evalset.documents() if d.name not in REFERENCE_SUMMARIES]
    assert len(articles) == 8
    assert sorted(d.lang for d in articles) == ["Chinese"] * 5 + ["English"] * 3
    for d in articles:
        if is_cjk(d.lang):
            # 6,000-12,000 Chinese characters; an abstract (摘要) of 150-300 characters
            assert 6000 <= _cjk_chars(d.text) <= 12000, (d.name, _cjk_chars(d.text))
            assert 150 <= len(d.abstract) <= 300, (d.name, len(d.abstract))
        else:
            assert 3500 <= _english_words(d.text) <= 7000, (d.name, _english_words(d.text))
            assert 100 <= _english_words(d.abstract) <= 180, d.name
        # the abstract is the author's, kept out of the text
        head = d.text[: len(d.text) // 10]
        assert "摘要" not in head and "abstract" not in head.lower(), d.name
        assert metrics.copy_rate(d.abstract, d.text) < 0.5, d.name
        # it states some of the main results, not every planted fact
        assert metrics.facts_carried(d.abstract, [f.forms for f in d.facts]) > 0, d.name
        assert "```" in d.text, d.name  # technical: configuration and code blocks


def test_facts_sit_where_stated() -> None:
    for d in evalset.documents():
        text = metrics.normalize(d.text)
        for f in d.facts:
            at = [
                m.start() / len(text)
                for form in f.forms
                for m in re.finditer(re.escape(metrics.normalize(form)), text)
            ]
            assert at, (d.name, f.id)
            assert min(abs(a - f.position) for a in at) <= 0.08, (d.name, f.id, at)


def test_splits() -> None:
    docs = evalset.documents()
    tune = evalset.documents(split="tune")
    report = evalset.documents(split="report")
    assert sorted(d.name for d in tune + report) == sorted(d.name for d in docs)
    assert all(d.split == "report" for d in report) and all(d.split == "tune" for d in tune)
    assert {d.split for d in docs} <= set(evalset.SPLITS)
    # every original document is for tuning
    assert {d.name for d in tune} >= REFERENCE_SUMMARIES
    assert evalset.documents(["quenby-water"], split="report") == []
    # reporting: three Chinese articles and one English
    assert sorted(d.lang for d in report) == ["Chinese", "Chinese", "Chinese", "English"]
    with pytest.raises(ValueError):
        evalset.documents(split="test")


def test_one_short_code_block_among_the_first_four() -> None:
    fenced = [d.name for d in evalset.documents(sorted(REFERENCE_SUMMARIES)) if "```" in d.text]
    assert len(fenced) == 1


def test_documents_by_name() -> None:
    assert [d.name for d in evalset.documents(["songfeng-teahouse"])] == ["songfeng-teahouse"]
    with pytest.raises(KeyError):
        evalset.documents(["nope"])


def test_briefs() -> None:
    briefs = evalset.briefs()
    assert 8 <= len(briefs) <= 24
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
        if d.name in REFERENCE_SUMMARIES:
            assert 3000 <= tokens <= 5000, (d.name, tokens)
        else:  # the articles take more than one 4,096-token context
            assert 5000 <= tokens <= 12000, (d.name, tokens)
