"""Settings precedence: flag > environment variable > config file > default."""

from collections.abc import Callable
from pathlib import Path

import pytest

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
