"""Where quill keeps things, and the settings it reads.

Paths come from platformdirs; ``QUILL_HOME`` puts all of them under one folder (tests
and portable installs use it). Settings are read from ``config.toml`` in the config
dir. Precedence everywhere: command-line flag > environment variable > config file >
built-in default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quill.errors import UsageError

APP = "quill"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def models_file(self) -> Path:
        return self.config_dir / "models.toml"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "quill.db"

    @property
    def models_cache(self) -> Path:
        return self.cache_dir / "models"


def resolve_paths(environ: dict[str, str] | None = None) -> Paths:
    env = os.environ if environ is None else environ
    home = env.get("QUILL_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root / "config", root / "data", root / "cache")
    import platformdirs

    return Paths(
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_cache_dir(APP)),
    )


@dataclass
class Settings:
    """Values from config.toml; every field may be overridden by env var or flag."""

    model: str | None = None
    ctx: int | None = None
    gpu_layers: str | None = None
    threads: int | None = None
    preset: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_settings(paths: Paths) -> Settings:
    path = paths.config_file
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read config file {path}: {exc}", hint="fix or remove the file"
        ) from exc
    section = data.get("defaults", data)
    s = Settings(extra=data)
    s.model = _opt(section.get("model"), str, path, "model")
    s.ctx = _opt(section.get("ctx"), int, path, "ctx")
    gl = section.get("gpu_layers")
    s.gpu_layers = None if gl is None else str(gl)
    s.threads = _opt(section.get("threads"), int, path, "threads")
    s.preset = _opt(section.get("preset"), str, path, "preset")
    return s


def _opt(value: Any, kind: type, path: Path, key: str) -> Any:
    if value is None or isinstance(value, kind):
        return value
    raise UsageError(f"{path}: `{key}` must be a {kind.__name__}", hint="fix the config file")


def toml_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
