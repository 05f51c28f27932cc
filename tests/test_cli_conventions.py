"""What users of llm, ollama and mods expect: --json that parses, tab-separated columns
when piped, `quill config`, `quill models show|default`, shell completion, NO_COLOR and
FORCE_COLOR, hostile names refused or written safely."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run

from quill.config import edit_config_text, toml_escape
from quill.env import Environment


@pytest.mark.parametrize(
    "args",
    [
        ["models", "list", "--json"],
        ["models", "show", "default", "--json"],
        ["config", "show", "--json"],
        ["drafts", "list", "--json"],
        ["sessions", "list", "--json"],
        ["prompts", "list", "--json"],
    ],
)
def test_json_outputs_parse(cli: Callable[..., Run], args: list[str]) -> None:
    r = cli(args)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert isinstance(data, list | dict)


def test_models_list_is_tab_separated_when_piped(cli: Callable[..., Run]) -> None:
    r = cli(["models", "list"])
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert rows and all(len(row) == 7 for row in rows), r.stdout
    assert any(row[1] == "qwen2.5-coder-0.5b" for row in rows)


def test_config_set_get_unset_keeps_comments(cli: Callable[..., Run], quill_home: Path) -> None:
    cfg = quill_home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('# mine\n[defaults]\nmodel = "x"\n')
    assert cli(["config", "set", "ctx", "4096"]).exit_code == 0
    assert cli(["config", "set", "kv-cache", "q8_0"]).exit_code == 0
    text = cfg.read_text()
    assert text.startswith("# mine\n") and tomllib.loads(text)["defaults"]["ctx"] == 4096
    assert cli(["config", "get", "ctx"]).stdout == "4096\n"
    assert cli(["config", "get", "kv_cache"]).stdout == "q8_0\n"
    assert cli(["config", "unset", "ctx"]).exit_code == 0
    assert "ctx" not in tomllib.loads(cfg.read_text())["defaults"]
    assert cli(["config", "get", "ctx"]).exit_code == 1
    assert cli(["config", "path"]).stdout.strip() == str(cfg)


def test_config_refuses_unknown_keys_and_bad_values(cli: Callable[..., Run]) -> None:
    r = cli(["config", "set", "modle", "x"])
    assert r.exit_code == 2 and "no setting `modle`" in r.stderr and "model" in r.stderr
    r = cli(["config", "set", "threads", "many"])
    assert r.exit_code == 2 and "`threads` must be a whole number" in r.stderr


def test_unknown_config_keys_are_warned_by_name(cli: Callable[..., Run], quill_home: Path) -> None:
    cfg = quill_home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[defaults]\ntemprature = 0.2\nmodel = "x"\n')
    r = cli(["config", "get", "model"])
    assert r.stdout == "x\n"
    assert "unknown setting `temprature`" in r.stderr


def test_config_writes_hostile_text_as_valid_toml(
    cli: Callable[..., Run], quill_home: Path
) -> None:
    value = 'a "name"\nwith\ttabs\x7f and \\ back'
    assert cli(["config", "set", "chat_template", value]).exit_code == 0
    data = tomllib.loads((quill_home / "config" / "config.toml").read_text())
    assert data["defaults"]["chat_template"] == value


def test_toml_escape_round_trips_and_refuses_surrogates() -> None:
    from quill.errors import UsageError

    for text in ["plain", 'q"uote', "new\nline", "del\x7f", "bell\x07", "中文", "back\\slash"]:
        assert tomllib.loads(f'k = "{toml_escape(text)}"')["k"] == text
    with pytest.raises(UsageError, match="surrogate"):
        toml_escape("bad \udcff")


def test_edit_config_text_adds_a_defaults_table() -> None:
    assert edit_config_text("", "model", "m") == '[defaults]\nmodel = "m"\n'
    out = edit_config_text("[other]\nq = 1\n", "ctx", 10)
    assert tomllib.loads(out) == {"other": {"q": 1}, "defaults": {"ctx": 10}}
    # top-level settings stay at the top level, above the tables
    out = edit_config_text("ctx = 1\n\n[other]\nq = 1\n", "model", "m")
    assert tomllib.loads(out) == {"ctx": 1, "model": "m", "other": {"q": 1}}


def test_config_set_and_unset_keep_comments_and_order(
    cli: Callable[..., Run], quill_home: Path
) -> None:
    """tomlkit edits the file: comments (own-line and inline), blank lines, key order
    and other tables are kept byte for byte; only the value changes."""
    cfg = quill_home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# my quill settings\n\n[defaults]\n# the small model is enough here\n"
        'model = "qwen2.5-coder-0.5b"  # fast\nctx = 2048 # keep it small\n\n'
        "# not quill's\n[mine]\nx = 1\n"
    )
    cfg.write_text(text)
    assert cli(["config", "set", "ctx", "4096"]).exit_code == 0
    assert cfg.read_text() == text.replace("ctx = 2048", "ctx = 4096")
    assert cli(["config", "set", "kv_cache", "q8_0"]).exit_code == 0
    after = cfg.read_text()
    assert "# the small model is enough here" in after and "# fast" in after
    assert after.index("model =") < after.index("ctx =") < after.index("kv_cache =")
    assert after.index("kv_cache =") < after.index("[mine]")
    assert cli(["config", "unset", "kv_cache"]).exit_code == 0
    assert cfg.read_text() == text.replace("ctx = 2048", "ctx = 4096")
    assert cli(["models", "default", "qwen2.5-coder-0.5b"]).exit_code == 0
    assert "# fast" in cfg.read_text()


def test_models_default_and_show(cli: Callable[..., Run], quill_home: Path) -> None:
    r = cli(["models", "default", "qwen2.5-coder-0.5b"])
    assert r.exit_code == 0, r.stderr
    assert cli(["config", "get", "model"]).stdout == "qwen2.5-coder-0.5b\n"
    r = cli(["models", "show", "qwen2.5-coder-0.5b"])
    assert r.exit_code == 0 and "quantization" in r.stdout and "Q4_K_M" in r.stdout
    assert cli(["models", "default", "no-such-model"]).exit_code == 4


@pytest.mark.parametrize("name", ["two\nlines", "", "a/b", 'q"uote', "tab\there"])
def test_models_add_refuses_hostile_names(
    cli: Callable[..., Run], tmp_path: Path, name: str
) -> None:
    r = cli(["models", "add", str(tmp_path / "x.gguf"), "--name", name])
    assert r.exit_code == 2 and "cannot be a model name" in r.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script(cli: Callable[..., Run], shell: str) -> None:
    r = cli(["completion", shell])
    assert r.exit_code == 0 and "_QUILL_COMPLETE" in r.stdout


def test_completion_completes(quill_home: Path) -> None:
    env = {
        "COMP_WORDS": "quill summarize --temp",
        "COMP_CWORD": "2",
        "_QUILL_COMPLETE": "complete_bash",
        "QUILL_HOME": str(quill_home),
    }
    import os

    r = subprocess.run(
        [sys.executable, "-m", "quill"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert "--temperature" in r.stdout.split()


@pytest.mark.parametrize(
    ("environ", "color"),
    [
        ({}, True),
        ({"NO_COLOR": ""}, True),  # empty: not set (no-color.org)
        ({"NO_COLOR": "1"}, False),
        ({"TERM": "dumb"}, False),
        ({"TERM": "dumb", "FORCE_COLOR": "1"}, True),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
    ],
)
def test_colour_switches(
    make_env: Callable[..., Environment], environ: dict[str, str], color: bool
) -> None:
    base = {"TERM": "xterm", "NO_COLOR": "", "FORCE_COLOR": ""}
    assert make_env(environ={**base, **environ}).color is color


def test_quiet_silences_the_report(cli: Callable[..., Run]) -> None:
    loud = cli(["draft", "x", "--no-save", "--stats"])
    quiet = cli(["draft", "x", "--no-save", "-q"])
    assert loud.stderr and quiet.stderr == "" and quiet.stdout == loud.stdout


def test_doctor_json_parses(quill_home: Path) -> None:
    import os

    r = subprocess.run(
        [sys.executable, "-m", "quill", "doctor", "--json"],
        env={**os.environ, "QUILL_HOME": str(quill_home)},
        capture_output=True,
        text=True,
    )
    data = json.loads(r.stdout)
    assert {c["name"] for c in data["checks"]} >= {"quill", "python", "default model"}
    assert data["ok"] is (r.returncode == 0)


def test_listings_are_tab_separated_when_piped(cli: Callable[..., Run]) -> None:
    rows = [line.split("\t") for line in cli(["prompts", "list"]).stdout.splitlines()]
    assert rows and all(len(row) == 3 for row in rows)
    assert any(row[0] == "rewrite" and row[1] == "built-in" for row in rows)


def test_quiet_on_commands_that_report(cli: Callable[..., Run], tmp_path: Path) -> None:
    f = tmp_path / "a.md"
    f.write_text("# A title\n\nSome text.\n")
    assert "imported" in cli(["drafts", "import", str(f)]).stderr
    r = cli(["drafts", "import", str(f), "-q"])
    assert r.exit_code == 0 and r.stderr == ""
    assert cli(["config", "set", "ctx", "1024", "--quiet"]).stderr == ""


@pytest.mark.parametrize(
    ("environ", "ansi"),
    [({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False)],
)
def test_force_color_colours_the_error_line_when_piped(
    quill_home: Path, environ: dict[str, str], ansi: bool
) -> None:
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    r = subprocess.run(
        [sys.executable, "-m", "quill", "drafts", "show", "99"],
        env={**base, "QUILL_HOME": str(quill_home), "TERM": "xterm", **environ},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "there is no draft 99" in r.stderr
    assert ("\x1b[" in r.stderr) is ansi, r.stderr


def test_a_model_keeps_its_own_defaults(
    make_env: Callable[..., Environment], quill_home: Path, tmp_path: Path
) -> None:
    """models.toml: ctx, chat template, preset and system prompt kept with a model apply
    whenever it runs, below config.toml and the variables (and the flags)."""
    from typer.testing import CliRunner

    from quill.cli.app import app
    from quill.config import resolve_paths
    from quill.engine.fake import FakeEngine
    from quill.env import EngineOptions
    from quill.models import registry

    models = quill_home / "config" / "models.toml"
    models.parent.mkdir(parents=True)
    models.write_text(
        '[models.tiny]\npath = "/m/tiny.gguf"\nctx = 2048\nchat_template = "chatml"\n'
        'preset = "creative"\nsystem = "You are terse."\n'
    )
    env = make_env()
    o = env.resolve_options(EngineOptions(model="tiny"))
    assert (o.ctx, o.chat_template) == (2048, "chatml")
    assert env.resolve_options(EngineOptions()).ctx is None  # another model: not its defaults
    (quill_home / "config" / "config.toml").write_text("ctx = 4096\n")
    assert make_env().resolve_options(EngineOptions(model="tiny")).ctx == 4096
    env = make_env(environ={"QUILL_CTX": "1024"})
    assert env.resolve_options(EngineOptions(model="tiny", ctx=512)).ctx == 512
    assert env.resolve_options(EngineOptions(model="tiny")).ctx == 1024
    engine = FakeEngine("Short.")
    env = make_env(engine, stdin="hello")
    r = CliRunner().invoke(app, ["chat", "--model", "tiny", "--session", "t"], obj=env)
    assert r.exit_code == 0, r.output
    assert engine.calls[0][0].content.startswith("You are terse.")
    assert engine.params[0].top_k == 80  # creative, its preset
    paths = resolve_paths({"QUILL_HOME": str(quill_home)})
    entries = registry.load(paths)
    registry._save(paths, entries)  # written back as it was read
    assert registry.load(paths)["tiny"].defaults["system"] == "You are terse."
