"""The prompt library: built-in templates, the writer's overrides and own templates,
`quill prompts list|show|path`, and `quill run NAME`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run

from quill import prompts
from quill.engine.fake import FakeEngine
from quill.errors import UsageError

VERBS = [
    "rewrite",
    "translate",
    "proofread",
    "outline",
    "titles",
    "continue",
    "analyze",
    "classify",
    "moderate",
    "style",
]


@pytest.fixture
def user_dir(cli: Callable[..., Run]) -> Path:
    r = cli(["prompts", "path"])
    d = Path(r.stdout.strip())
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.mark.parametrize("name", VERBS)
def test_every_verb_is_a_runnable_template(name: str) -> None:
    p = prompts.prompt(name)
    assert p.system.strip() and p.user.strip() and p.description
    assert p.origin == "built-in"
    assert set(p.sampling) <= set(prompts.SAMPLING_KEYS)
    assert "text" in p.variables
    header = prompts.builtin_text(name)
    assert header is not None and header.startswith("#")  # says how to change it


def test_draft_forms_are_in_the_library() -> None:
    assert "draft" in prompts.builtin_names()
    assert "product" in prompts.load("draft")["forms"]


def test_a_user_file_overrides_the_keys_it_sets(tmp_path: Path) -> None:
    (tmp_path / "rewrite.toml").write_text(
        'system = "Be terse."\n[tones]\nformal = "stiff"\n[sampling]\ntemperature = 0.9\n',
        encoding="utf-8",
    )
    p = prompts.load("rewrite", tmp_path)
    assert p["system"] == "Be terse."
    assert p["tones"]["formal"] == "stiff" and "casual" in p["tones"]  # merged key by key
    assert p["sampling"] == {"preset": "precise", "temperature": 0.9}
    assert prompts.origin("rewrite", tmp_path) == "built-in, changed by yours"


def test_a_user_template_is_added_and_a_broken_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "haiku.toml").write_text('user = "A haiku about $topic."\n', encoding="utf-8")
    assert "haiku" in prompts.names(tmp_path)
    assert prompts.prompt("haiku", tmp_path).origin == "yours"
    (tmp_path / "bad.toml").write_text("user = \n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"bad\.toml"):
        prompts.load("bad", tmp_path)
    with pytest.raises(UsageError, match="no prompt template `nope`"):
        prompts.load("nope", tmp_path)


def test_fill_names_every_missing_variable() -> None:
    with pytest.raises(UsageError) as exc:
        prompts.fill("$a and ${b} and $a and $$c", {}, "the template")
    assert exc.value.message == "the template needs the variables a, b"
    assert "--var a=… --var b=…" in exc.value.hint
    assert prompts.fill("$a costs $$5", {"a": "tea"}) == "tea costs $5"


def test_unknown_sampling_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text('user = "hi"\n[sampling]\ntemp = 1\n', encoding="utf-8")
    with pytest.raises(UsageError, match="temp"):
        prompts.prompt("x", tmp_path)


def test_prompts_list_show_and_path(cli: Callable[..., Run], user_dir: Path) -> None:
    (user_dir / "haiku.toml").write_text('description = "Haiku."\nuser = "$topic"\n')
    (user_dir / "titles.toml").write_text('system = "Short titles only."\n')
    r = cli(["prompts", "list"])
    assert r.exit_code == 0
    rows = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert set(VERBS) | {"draft", "summarize", "haiku"} <= set(rows)
    assert "yours" in rows["haiku"] and "changed by yours" in rows["titles"]
    assert "not runnable" in rows["summarize"]
    r = cli(["prompts", "show", "titles"])
    assert r.exit_code == 0
    assert 'description = "Title ideas' in r.stdout
    assert "# -- your changes, from" in r.stdout and "Short titles only." in r.stdout
    r = cli(["prompts", "show", "nope"])
    assert r.exit_code == UsageError.exit_code
    r = cli(["prompts", "path", "rewrite"])
    assert r.stdout.strip() == str(user_dir / "rewrite.toml")


def test_run_a_template_of_your_own(cli: Callable[..., Run], user_dir: Path) -> None:
    (user_dir / "haiku.toml").write_text(
        'system = "You write haiku."\nuser = "A haiku about $topic, $mood."\n'
        "[sampling]\ntemperature = 0.9\nmax_tokens = 60\n",
        encoding="utf-8",
    )
    engine = FakeEngine("rain on the tin roof")
    r = cli(["run", "haiku", "--var", "topic=rain", "--var", "mood=calm"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "rain on the tin roof\n"
    assert engine.calls[0][0].content == "You write haiku."
    assert engine.calls[0][1].content == "A haiku about rain, calm."
    assert engine.params[0].temperature == 0.9 and engine.params[0].max_tokens == 60
    assert "saved as draft 1 v1" in r.stderr
    r = cli(["run", "haiku", "--var", "topic=rain"], engine=engine)
    assert r.exit_code == UsageError.exit_code and "needs the variable mood" in r.stderr


def test_run_a_built_in_template_on_a_file(cli: Callable[..., Run], tmp_path: Path) -> None:
    src = tmp_path / "a.md"
    src.write_text("Teh text.\n", encoding="utf-8")
    engine = FakeEngine("The text.")
    r = cli(["run", "proofread", str(src), "--no-save"], engine=engine)
    assert r.exit_code == 0 and r.stdout == "The text.\n"
    assert "Teh text." in engine.calls[0][-1].content


def test_run_a_template_with_an_override(cli: Callable[..., Run], user_dir: Path) -> None:
    (user_dir / "outline.toml").write_text('system = "Outline like a lawyer."\n')
    engine = FakeEngine("ok")
    r = cli(["outline", "--no-save"], engine=engine, stdin="Some notes.\n")
    assert r.exit_code == 0 and engine.calls[0][0].content == "Outline like a lawyer."


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "nope"], "no prompt template"),
        (["run", "summarize"], "no `user` message"),
        (["run", "haiku2", "--var", "oops"], "NAME=VALUE"),
    ],
)
def test_run_errors(
    cli: Callable[..., Run], user_dir: Path, args: list[str], fragment: str
) -> None:
    (user_dir / "haiku2.toml").write_text('user = "$topic"\n')
    r = cli(args, engine=FakeEngine("x"))
    assert r.exit_code == UsageError.exit_code and fragment in r.stderr
