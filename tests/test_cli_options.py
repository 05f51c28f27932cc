"""The option groups reach what they set, on every command that takes them: the engine
options reach the engine factory, the sampling options the sampler; the settings table's
precedence (flag > environment > config > default) holds for every row; the engine
options go before the command or after it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from quill.cli.app import COMMANDS, GROUPS, app, load
from quill.cli.options import BY_NAME, ENGINE, SAMPLING, Options
from quill.config import SETTINGS
from quill.engine.fake import FakeEngine
from quill.env import EngineOptions, Environment

TEXT = "The harbour was quiet. Boats rested on the water.\n"
TEMPLATE = 'description = "a test"\nuser = "Say this back: $text"\n'

# Every command that takes an option group: the arguments it needs besides them, and
# its stdin (None: a terminal).
INVOCATIONS: dict[str, tuple[list[str], str | None]] = {
    "draft": (["draft", "x"], None),
    "summarize": (["summarize"], TEXT),
    "rewrite": (["rewrite"], TEXT),
    "expand": (["expand"], TEXT),
    "shorten": (["shorten"], TEXT),
    "translate": (["translate", "--to", "French"], TEXT),
    "outline": (["outline"], TEXT),
    "titles": (["titles", "-n", "2"], TEXT),
    "continue": (["continue"], TEXT),
    "proofread": (["proofread", "--no-checker"], TEXT),
    "analyze": (["analyze"], TEXT),
    "classify": (["classify", "--labels", "calm,storm"], TEXT),
    "moderate": (["moderate"], TEXT),
    "chat": (["chat"], "hello"),
    "run": (["run", "echo"], TEXT),
    "drafts revise": (["drafts", "revise", "1", "make it shorter"], None),
    "style learn": (["style", "learn", "me", "-", "--tone"], TEXT * 30),  # 300 words
    "bench": (["bench", "--samples", "2"], None),
}
ENGINE_ARGS = {
    "model": ("--model", "m1", "m1"),
    "n_ctx": ("--ctx", "2048", 2048),
    "gpu_layers": ("--gpu-layers", "3", "3"),
    "threads": ("--threads", "2", 2),
    "threads_batch": ("--threads-batch", "3", 3),
    "kv_cache": ("--kv-cache", "q8_0", "q8_0"),
    "cpu_repack": ("--cpu-repack", "off", "off"),
    "chat_template": ("--chat-template", "chatml", "chatml"),
    "backend": ("--backend", "openai", "openai"),
    "base_url": ("--base-url", "http://127.0.0.1:9", "http://127.0.0.1:9"),
    "api_key": ("--api-key", "sk-test", "sk-test"),
    "parallel": ("--parallel", "2", 2),
}
SAMPLING_ARGS = {  # option: (flag, value, Sampling field, expected)
    "preset": ("--preset", "creative", "top_k", 80),
    "temperature": ("--temperature", "0.33", "temperature", 0.33),
    "top_p": ("--top-p", "0.77", "top_p", 0.77),
    "min_p": ("--min-p", "0.11", "min_p", 0.11),
    "repeat_penalty": ("--repeat-penalty", "1.3", "repeat_penalty", 1.3),
    "seed": ("--seed", "7", "seed", 7),
    "max_tokens": ("--max-tokens", "20", "max_tokens", 20),  # under every computed budget
}


def _commands() -> dict[str, Callable[..., Any]]:
    out = {name: load(spec) for name, spec, _ in COMMANDS}
    for group, _help, commands in GROUPS:
        if not isinstance(commands, str):
            out.update({f"{group} {name}": load(spec) for name, spec in commands})
    return out


def _taking(group: tuple[Any, ...]) -> list[str]:
    names = {o.name for o in group}
    return sorted(
        name
        for name, fn in _commands().items()
        if names & {o.name for o in getattr(fn, "options", ())}
    )


def test_every_command_with_an_option_group_is_in_the_table() -> None:
    grouped = {n for n, fn in _commands().items() if {"model", "seed"} & _names(fn)}
    assert grouped <= set(INVOCATIONS), grouped - set(INVOCATIONS)


def _names(fn: Callable[..., Any]) -> set[str]:
    return {o.name for o in getattr(fn, "options", ())}


def test_every_option_is_a_field_of_the_run_object() -> None:
    fields = set(Options.__dataclass_fields__)
    assert set(BY_NAME) <= fields


def test_every_generating_command_takes_the_same_sampling_options() -> None:
    sampling = {o.name for o in SAMPLING}
    writers = [n for n in INVOCATIONS if n not in ("bench",)]
    for name in writers:
        have = _names(_commands()[name])
        missing = sampling - have
        # analyze, classify and moderate answer under a grammar with a fixed budget
        if name in ("analyze", "classify", "moderate"):
            missing -= {"max_tokens"}
        assert not missing, f"{name} lacks {missing}"


def _run(
    make_env: Callable[..., Environment],
    quill_home: Path,
    name: str,
    extra: list[str],
    reply: str | None = None,
) -> tuple[Any, list[EngineOptions], FakeEngine, Environment]:
    args, stdin = INVOCATIONS[name]
    prompts = quill_home / "config" / "prompts"
    prompts.mkdir(parents=True, exist_ok=True)
    (prompts / "echo.toml").write_text(TEMPLATE)
    engine = FakeEngine(reply)
    seen: list[EngineOptions] = []
    env = make_env(engine, stdin=stdin)
    env.engine_factory = lambda o, e: seen.append(o) or engine  # type: ignore[func-returns-value]
    if name == "drafts revise":
        from quill.store.db import Store

        with Store(env.paths.db_file) as store:
            store.create_draft(title="t", content=TEXT, kind="draft", note="n", meta={})
    result = CliRunner().invoke(app, [*args, *extra], obj=env)
    return result, seen, engine, env


@pytest.mark.parametrize(("name", "option"), [(n, o.name) for o in ENGINE for n in _taking((o,))])
def test_engine_option_reaches_the_engine(
    make_env: Callable[..., Environment], quill_home: Path, name: str, option: str
) -> None:
    flag, value, expected = ENGINE_ARGS[option]
    result, seen, _, _ = _run(make_env, quill_home, name, [flag, value])
    assert seen, f"{name}: no engine was asked for ({result.output}{result.exception!r})"
    field = "ctx" if option == "n_ctx" else option
    assert getattr(seen[0], field) == expected


# summarize's --max-tokens is the summary's length, not every step's: tested in its own file.
SAMPLING_CASES = [
    (n, o.name)
    for o in SAMPLING
    for n in _taking((o,))
    if not (n == "summarize" and o.name == "max_tokens")
]


@pytest.mark.parametrize(("name", "option"), SAMPLING_CASES)
def test_sampling_option_reaches_the_sampler(
    make_env: Callable[..., Environment], quill_home: Path, name: str, option: str
) -> None:
    flag, value, field, expected = SAMPLING_ARGS[option]
    result, _, engine, _ = _run(make_env, quill_home, name, [flag, value])
    assert engine.params, f"{name}: nothing was generated ({result.output}{result.exception!r})"
    assert getattr(engine.params[0], field) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["draft", "rewrite", "summarize", "chat", "drafts revise"])
def test_engine_options_before_and_after_the_command(
    make_env: Callable[..., Environment], quill_home: Path, name: str
) -> None:
    args, stdin = INVOCATIONS[name]
    engine = FakeEngine()
    seen: list[EngineOptions] = []
    env = make_env(engine, stdin=stdin)
    env.engine_factory = lambda o, e: seen.append(o) or engine  # type: ignore[func-returns-value]
    if name == "drafts revise":
        from quill.store.db import Store

        with Store(env.paths.db_file) as store:
            store.create_draft(title="t", content=TEXT, kind="draft", note="n", meta={})
    before = ["--chat-template", "chatml", "--ctx", "1024", "--model", "before"]
    r = CliRunner().invoke(app, [*before, *args, "--model", "after"], obj=env)
    assert r.exit_code == 0, r.output
    assert (seen[0].chat_template, seen[0].ctx, seen[0].model) == ("chatml", 1024, "after")


ROW_VALUES = {  # a value for the flag, the variable and the config file, for each row
    "model": ("a", "b", "c"),
    "ctx": ("1000", "2000", 3000),
    "gpu_layers": ("1", "2", 3),
    "threads": ("1", "2", 3),
    "threads_batch": ("1", "2", 3),
    "kv_cache": ("f16", "q8_0", "q4_0"),
    "cpu_repack": ("on", "off", "auto"),
    "chat_template": ("chatml", "llama3", "none"),
    "backend": ("openai", "local", "openai"),
    "base_url": ("http://a", "http://b", "http://c"),
    "api_key": ("ka", "kb", "kc"),
    "parallel": ("1", "2", 3),
    "preset": ("precise", "balanced", "creative"),
}


@pytest.mark.parametrize("row", SETTINGS, ids=lambda s: s.name)
def test_precedence_for_every_setting(
    make_env: Callable[..., Environment], quill_home: Path, row: Any
) -> None:
    flag, var, conf = ROW_VALUES[row.name]
    cfg = quill_home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    env = make_env()
    assert env.setting(row.name) == row.default
    cfg.write_text("[defaults]\n" + f"{row.name} = {json.dumps(conf)}\n")
    env = make_env()
    parse = row.parse
    assert env.setting(row.name) == parse(conf)
    env = make_env(environ={row.env: var})
    assert env.setting(row.name) == parse(var)
    assert env.setting(row.name, flag) == parse(flag)


def test_precedence_through_a_command(
    make_env: Callable[..., Environment], quill_home: Path
) -> None:
    """flag > variable > config for an engine option and the preset, on a real command."""
    cfg = quill_home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[defaults]\nthreads = 3\npreset = "creative"\n')
    for extra, environ, threads, top_k in [
        ([], {}, 3, 80),
        ([], {"QUILL_THREADS": "5", "QUILL_PRESET": "precise"}, 5, 40),
        (["--threads", "7"], {"QUILL_THREADS": "5"}, 7, 80),
    ]:
        engine = FakeEngine()
        seen: list[EngineOptions] = []
        env = make_env(engine, environ=environ)
        env.engine_factory = _capture(seen, engine)
        r = CliRunner().invoke(app, ["draft", "x", "--no-save", *extra], obj=env)
        assert r.exit_code == 0, r.output
        assert seen[0].threads == threads
        assert engine.params[0].top_k == top_k


def _capture(seen: list[EngineOptions], engine: FakeEngine) -> Any:
    return lambda o, e: seen.append(o) or engine


def test_bad_values_read_as_sentences(make_env: Callable[..., Environment]) -> None:
    env = make_env(environ={"QUILL_THREADS": "many"})
    from quill.errors import UsageError

    with pytest.raises(UsageError, match=r"--threads must be a whole number.*QUILL_THREADS"):
        env.setting("threads")


def test_help_shows_the_variable_and_the_config_key() -> None:
    r = CliRunner().invoke(app, ["rewrite", "--help"])
    assert "QUILL_KV_CACHE" in r.output and "config: kv_cache" in r.output


def test_template_budget_does_not_beat_the_computed_one(
    make_env: Callable[..., Environment], quill_home: Path
) -> None:
    """titles -n 30 asks for 40·n+40 tokens (titles.toml says 400); classify --json for
    200 (classify.toml says 120)."""
    _, _, engine, _ = _run(make_env, quill_home, "titles", ["-n", "30"])
    assert engine.params[0].max_tokens == 40 * 30 + 40
    _, _, engine, _ = _run(make_env, quill_home, "classify", ["--json"])
    assert engine.params[0].max_tokens == 200


def test_summarize_honours_the_configured_preset(
    make_env: Callable[..., Environment], quill_home: Path
) -> None:
    _, _, engine, _ = _run(make_env, quill_home, "summarize", [])
    assert engine.params[0].top_k == 40  # precise, its default
    (quill_home / "config" / "config.toml").write_text('preset = "creative"\n')
    _, _, engine, _ = _run(make_env, quill_home, "summarize", [])
    assert engine.params[0].top_k == 80


def test_the_command_list_says_what_each_command_says() -> None:
    """`quill --help` lists the commands from app.py's table without importing them: each
    line there is the first paragraph of the command's own help."""
    import inspect

    for name, spec, summary in COMMANDS:
        doc = inspect.getdoc(load(spec)) or ""
        assert summary == " ".join(doc.split("\n\n")[0].split()), name
    for name, help, commands in GROUPS:
        if isinstance(commands, str):
            assert load(commands).info.help == help, name


def test_help_imports_no_command_module(quill_home: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom quill.cli.app import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith(('quill.writing', "
        "'quill.store', 'quill.chat', 'quill.cli.run', 'quill.engine.llama'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "LOADED []" in out, out


def test_the_writers_preset_beats_the_template(
    make_env: Callable[..., Environment], quill_home: Path
) -> None:
    """rewrite.toml asks for precise at 0.3; a preset the writer chose (config, variable or
    flag) replaces it, values and all; an option given on the command line still wins."""
    _, _, engine, _ = _run(make_env, quill_home, "rewrite", [])
    assert (engine.params[0].top_k, engine.params[0].temperature) == (40, 0.3)
    (quill_home / "config" / "config.toml").write_text('preset = "creative"\n')
    _, _, engine, _ = _run(make_env, quill_home, "rewrite", [])
    assert (engine.params[0].top_k, engine.params[0].temperature) == (80, 1.0)
    _, _, engine, _ = _run(make_env, quill_home, "rewrite", ["--temperature", "0.5"])
    assert (engine.params[0].top_k, engine.params[0].temperature) == (80, 0.5)


def test_no_command_module_imports_another() -> None:
    """Shared pieces live in modules no command owns (run, review, refs, report, inputs,
    generate, options); a command module imports none of the others."""
    import ast

    import quill.cli

    commands = {spec.split(":")[0] for _, spec, _ in COMMANDS}
    commands |= {
        spec.split(":")[0]
        for _, _, group in GROUPS
        for spec in ([group] if isinstance(group, str) else [s for _, s in group])
    }
    folder = Path(quill.cli.__file__).parent
    for name in commands:
        tree = ast.parse((folder / f"{name}.py").read_text())
        imported = {
            (node.module or "").removeprefix("quill.cli.")
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("quill.cli.")
        }
        assert not (imported & (commands - {name})), (name, imported & commands)
