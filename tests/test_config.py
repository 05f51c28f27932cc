"""Settings precedence: flag > environment variable > config file > default."""

from collections.abc import Callable
from pathlib import Path

import pytest

from quill.engine.fake import FakeEngine
from quill.env import EngineOptions, Environment
from quill.errors import UsageError


def test_precedence(make_env: Callable[..., Environment], quill_home: Path) -> None:
    cfg = quill_home / "config"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text('[defaults]\nmodel = "from-config"\nctx = 1024\n')
    env = make_env()
    assert env.resolve_options(EngineOptions()).model == "from-config"
    assert env.resolve_options(EngineOptions()).ctx == 1024
    env = make_env(environ={"QUILL_MODEL": "from-env", "QUILL_CTX": "2048"})
    assert env.resolve_options(EngineOptions()).model == "from-env"
    assert env.resolve_options(EngineOptions()).ctx == 2048
    o = env.resolve_options(EngineOptions(model="from-flag", ctx=512))
    assert (o.model, o.ctx) == ("from-flag", 512)


def test_bad_config_is_a_clear_error(
    make_env: Callable[..., Environment], quill_home: Path
) -> None:
    cfg = quill_home / "config"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text("ctx = [oops")
    with pytest.raises(UsageError, match="config file"):
        _ = make_env().settings


def test_quill_home_moves_every_folder(
    make_env: Callable[..., Environment], quill_home: Path
) -> None:
    p = make_env().paths
    for d in (p.config_dir, p.data_dir, p.cache_dir):
        assert quill_home in d.parents


def test_root_engine_flags_reach_every_command(make_env: Callable[..., Environment]) -> None:
    """--kv-cache, --chat-template and --threads-batch go before the command and apply
    to whatever engine it loads (flag > environment > config)."""
    from typer.testing import CliRunner

    from quill.cli.app import app

    seen: list[EngineOptions] = []
    env = make_env(environ={"QUILL_KV_CACHE": "q4_0"})
    env.engine_factory = lambda opts, e: seen.append(opts) or FakeEngine("Text.")  # type: ignore[func-returns-value]
    args = ["--kv-cache", "q8_0", "--chat-template", "chatml", "--threads-batch", "3"]
    r = CliRunner().invoke(app, [*args, "draft", "x", "--no-save"], obj=env)
    assert r.exit_code == 0, r.output
    assert (seen[0].kv_cache, seen[0].chat_template, seen[0].threads_batch) == (
        "q8_0",
        "chatml",
        3,
    )
