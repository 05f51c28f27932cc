"""The writing verbs on the embedded default model (CPU): properties of the output,
never its exact wording. Temperature 0 and a fixed seed; short texts, small budgets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from conftest import Run

from quill.writing.textstats import count_cjk

pytestmark = pytest.mark.model

FIXED = ["--temperature", "0", "--seed", "7", "--no-save"]
MARKET = (
    "The morning market opens at seven. Farmers bring fresh bread, cheese and apples "
    "from the valley. Visitors enjoy coffee while musicians play near the fountain.\n"
)


def _latin_words(text: str) -> int:
    return len(re.findall(r"[A-Za-z]{2,}", text))


def test_translate_to_chinese_and_back(cli: Callable[..., Run], llama_engine: object) -> None:
    r = cli(
        ["translate", "--to", "zh", "--max-tokens", "120", *FIXED],
        engine=llama_engine,
        stdin=MARKET,
    )
    assert r.exit_code == 0, r.stderr
    zh = r.stdout
    assert count_cjk(zh) >= 15 and count_cjk(zh) > 3 * _latin_words(zh)  # Chinese script
    r = cli(
        ["translate", "--to", "en", "--max-tokens", "120", *FIXED], engine=llama_engine, stdin=zh
    )
    assert r.exit_code == 0, r.stderr
    assert count_cjk(r.stdout) == 0 and _latin_words(r.stdout) >= 10  # back in English


def test_classify_answers_one_of_the_labels(cli: Callable[..., Run], llama_engine: object) -> None:
    labels = ["sports", "cooking", "finance"]
    texts = {
        "sports": "The striker scored twice in the second half and the crowd roared.",
        "cooking": "Whisk the eggs with sugar, fold in the flour and bake for twenty minutes.",
    }
    answers = {}
    for want, text in texts.items():
        r = cli(
            ["classify", "-l", ",".join(labels), "--temperature", "0"],
            engine=llama_engine,
            stdin=text,
        )
        assert r.exit_code == 0, r.stderr
        answers[want] = r.stdout.strip()
        assert answers[want] in labels  # the grammar allows nothing else
    assert answers["sports"] == "sports"
    r = cli(
        ["classify", "-l", ",".join(labels), "--json", "--temperature", "0"],
        engine=llama_engine,
        stdin=texts["sports"],
    )
    data = json.loads(r.stdout)
    assert data["label"] in labels and isinstance(data["reason"], str)


def test_analyze_json_parses(cli: Callable[..., Run], llama_engine: object) -> None:
    text = (
        "I love this little café. The coffee is great, honestly. Staff was kind of rude "
        "though. Prices ok I guess. Would go again maybe.\n"
    )
    r = cli(
        ["analyze", "--json", "--temperature", "0", "--seed", "7"], engine=llama_engine, stdin=text
    )
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["words"] == 24 and data["sentences"] == 5
    assert data["sentiment"]["label"] in ("positive", "negative", "neutral", "mixed")
    assert -1 <= data["sentiment"]["score"] <= 1 and 1 <= len(data["tone"]) <= 4
    assert 1 <= len(data["weakest"]) <= 3
    assert all(1 <= w["index"] <= 5 and w["sentence"] in text for w in data["weakest"])


def test_proofread_fixes_planted_typos_and_leaves_the_rest(
    cli: Callable[..., Run], llama_engine: object
) -> None:
    text = (
        "The meeting is on Tuesday. We will recieve the report tomorow morning. "
        "Please bring your laptop.\n"
    )
    r = cli(["proofread", "--no-checker", *FIXED], engine=llama_engine, stdin=text)
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "recieve" not in out or "tomorow" not in out  # at least one typo fixed
    assert "The meeting is on Tuesday." in out and "Please bring your laptop." in out
    assert abs(len(out) - len(text)) <= 10  # corrected, not rewritten


def test_rewrite_formal_has_no_greeting_and_keeps_the_facts(
    cli: Callable[..., Run], llama_engine: object
) -> None:
    text = "hey team!! the demo moved to Thursday at 3pm, Priya's running it lol\n"
    r = cli(
        ["rewrite", "--tone", "formal", "--max-tokens", "80", *FIXED],
        engine=llama_engine,
        stdin=text,
    )
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert not re.search(r"(?im)^\W*(hey|hi|hiya|yo)\b", out)  # no greeting like "hey"
    assert "!!" not in out and "sorry" not in out.lower()
    assert "Thursday" in out and "Priya" in out  # the facts of the input


def test_translate_to_chinese_has_no_preamble(
    cli: Callable[..., Run], llama_engine: object
) -> None:
    from quill.writing.verbcheck import preamble_lines

    text = "## Ferry\n\nThe ferry leaves at 7:40 every morning. Tickets cost 6 pounds.\n"
    r = cli(
        ["translate", "--to", "zh", "--max-tokens", "80", *FIXED], engine=llama_engine, stdin=text
    )
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert out.startswith("## ") and "\n\n" in out  # the heading stays a heading
    assert preamble_lines(out) == 0 and "翻译" not in out and "以下" not in out
    assert count_cjk(out) >= 8 and "6" in out  # Chinese, its numbers kept
