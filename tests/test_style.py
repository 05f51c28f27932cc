"""Voice profiles: measured facts and excerpts chosen by code, a TOML file the writer can
edit, `quill style learn|list|show|rm`, and `--style` on draft, rewrite, continue, chat."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run

from quill.engine.fake import FakeEngine
from quill.errors import UsageError
from quill.writing import style

SAMPLE_A = """# Morning

I wake before the birds. The kettle hums, and I stand at the window with my hands around \
the cup, watching the street decide what kind of day it will be. Nobody hurries here. Why \
would they?

- a list item that is not prose

The baker opens at seven. I've never once beaten the old man in the flat cap to the door; \
he's there every morning, like a fencepost, and he nods as if we had agreed on it.
"""

SAMPLE_B = """Rain again. I don't mind it. The garden drinks, the gutters sing, and the cat \
sulks on the stairs as if I had arranged the weather to spite her personally. I make soup. \
I read. I let the afternoon go by without asking anything of it.

```
code is never an excerpt
```
"""

DESCRIPTION = "- Short, quiet sentences in the first person.\n- Dry humour."


@pytest.fixture
def samples(tmp_path: Path) -> list[str]:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text(SAMPLE_A, encoding="utf-8")
    b.write_text(SAMPLE_B, encoding="utf-8")
    return [str(a), str(b)]


def test_measure_and_excerpts_come_from_code() -> None:
    m = style.measure([SAMPLE_A, SAMPLE_B])
    assert m["samples"] == 2 and m["sentences"] >= 10
    assert 5 < m["sentence_words"] < 20
    assert m["questions_per_100"] > 0 and m["first_person_per_1000_words"] > 0
    excerpts = style.pick_excerpts([SAMPLE_A, SAMPLE_B])
    assert 1 <= len(excerpts) <= style.EXCERPTS
    flat = " ".join((SAMPLE_A + SAMPLE_B).split())
    assert all(x in flat for x in excerpts)  # quoted as written
    assert excerpts[0].startswith(("I wake", "Rain again", "The baker"))
    assert excerpts[1].startswith(("I wake", "Rain again", "The baker"))
    assert {excerpts[0][:5], excerpts[1][:5]} & {"Rain "}  # one from each sample first
    joined = "\n".join(excerpts)
    assert "list item" not in joined and "code is never" not in joined and "#" not in joined


def test_a_profile_survives_the_round_trip_through_toml() -> None:
    p = style.new_profile("me", DESCRIPTION, [SAMPLE_A, SAMPLE_B], ["a.md", "b.md"])
    p.excerpts.append("Tricky: ''' and \"quotes\" and a \\ backslash")
    text = style.dumps(p)
    tomllib.loads(text)  # valid TOML
    back = style.loads(text, "me")
    assert back.description == DESCRIPTION.strip()
    assert back.excerpts == p.excerpts and back.sources == ["a.md", "b.md"]
    assert back.measured == p.measured and back.language == "English"


def test_style_names_are_file_names() -> None:
    with pytest.raises(UsageError):
        style.check_name("../etc/passwd")
    assert style.check_name("my-blog_2.0") == "my-blog_2.0"


def test_learn_list_show_rm(cli: Callable[..., Run], samples: list[str]) -> None:
    engine = FakeEngine(DESCRIPTION)
    r = cli(["style", "learn", "me", *samples, "--seed", "1"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("- Short, quiet sentences")  # the description streams
    user = engine.calls[0][-1].content
    assert "<sample 1>" in user and "<sample 2>" in user and "words per sentence" in user
    path = Path(r.env.paths.config_dir) / "styles" / "me.toml"
    assert path.is_file() and "--style me" in r.stderr
    data = tomllib.loads(path.read_text())
    assert data["description"].strip() == DESCRIPTION and len(data["excerpts"]) >= 2
    r = cli(["style", "learn", "me", *samples], engine=engine)
    assert r.exit_code == UsageError.exit_code and "--force" in r.stderr
    r = cli(["style", "list"])
    assert r.stdout.startswith("me  2 samples")
    r = cli(["style", "show", "me"])
    assert r.stdout == path.read_text()
    r = cli(["style", "rm", "me"])
    assert r.exit_code == 0 and not path.exists()
    r = cli(["style", "show", "me"])
    assert r.exit_code == UsageError.exit_code


def test_learn_leaves_out_what_it_cannot_read(
    cli: Callable[..., Run], samples: list[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    r = cli(["style", "learn", "me", samples[0], str(empty)], engine=FakeEngine(DESCRIPTION))
    assert r.exit_code == 0 and "left out" in r.stderr and "empty" in r.stderr


@pytest.fixture
def learned(cli: Callable[..., Run], samples: list[str]) -> None:
    r = cli(["style", "learn", "me", *samples], engine=FakeEngine(DESCRIPTION))
    assert r.exit_code == 0


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["draft", "a note about tea", "--style", "me"], None),
        (["rewrite", "--style", "me"], "Some text.\n"),
        (["continue", "--style", "me"], "Some text.\n"),
    ],
)
def test_style_joins_the_system_prompt(
    cli: Callable[..., Run], learned: None, args: list[str], stdin: str | None
) -> None:
    engine = FakeEngine("ok")
    r = cli([*args, "--no-save"], engine=engine, stdin=stdin)
    assert r.exit_code == 0, r.stderr
    system = engine.calls[0][0].content
    assert "voice of this writer (me)" in system and "Dry humour." in system
    assert "<<<\n" in system  # the excerpts


def test_style_in_chat_is_added_once(cli: Callable[..., Run], learned: None) -> None:
    engine = FakeEngine("hello")
    r = cli(["chat", "--style", "me", "--session", "s"], engine=engine, stdin="hi\n")
    assert r.exit_code == 0, r.stderr
    system = engine.calls[0][0].content
    assert system.count("voice of this writer (me)") == 1 and "Dry humour." in system
    r = cli(["chat", "--style", "me", "--session", "s"], engine=engine, stdin="again\n")
    assert engine.calls[1][0].content.count("voice of this writer (me)") == 1


def test_an_unknown_style_fails_before_the_model_runs(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("x")
    r = cli(["draft", "x", "--style", "nope"], engine=engine)
    assert r.exit_code == UsageError.exit_code and "no style `nope`" in r.stderr
    assert engine.calls == []
