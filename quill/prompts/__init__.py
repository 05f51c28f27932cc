"""Prompt templates: built-in TOML files, overridable per user.

A user file ``<config dir>/prompts/NAME.toml`` overrides the keys it sets; tables
(like ``[forms]``) are merged key by key. Placeholders use ``$name`` (string.Template),
so braces in a writer's text are never special.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from quill.errors import UsageError


def load(name: str, user_dir: Path | None = None) -> dict[str, Any]:
    text = resources.files("quill.prompts").joinpath("builtin", f"{name}.toml").read_text("utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    if user_dir is not None:
        override = user_dir / f"{name}.toml"
        if override.exists():
            try:
                user = tomllib.loads(override.read_text("utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise UsageError(
                    f"cannot read prompt file {override}: {exc}", hint="fix or remove the file"
                ) from exc
            for key, value in user.items():
                if isinstance(value, dict) and isinstance(data.get(key), dict):
                    data[key] = {**data[key], **value}
                else:
                    data[key] = value
    return data


def render(template: str, **values: str) -> str:
    return Template(template).safe_substitute(values)
