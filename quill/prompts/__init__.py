"""Prompt templates: built-in TOML files, overridable per user.

A user file ``<config dir>/prompts/NAME.toml`` overrides the keys it sets; tables
(like ``[forms]``) are merged key by key. A user file with a name of its own adds a
template. Placeholders use ``$name`` (string.Template), so braces in a writer's text are
never special.

A template that ``quill run`` can run has a ``user`` key (the message, with ``$text``
for the input and any other ``$variables``), usually a ``system`` key, a one-line
``description`` and a ``[sampling]`` table (``preset``, ``temperature``, ``top_p``,
``min_p``, ``repeat_penalty``, ``max_tokens``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from quill.errors import UsageError

SAMPLING_KEYS = ("preset", "temperature", "top_p", "min_p", "repeat_penalty", "max_tokens")


def _builtin_dir() -> Any:
    return resources.files("quill.prompts").joinpath("builtin")


def builtin_text(name: str) -> str | None:
    """The built-in template file's text, or None when there is no such template."""
    f = _builtin_dir().joinpath(f"{name}.toml")
    return f.read_text("utf-8") if f.is_file() else None


def builtin_names() -> list[str]:
    return sorted(
        f.name[: -len(".toml")] for f in _builtin_dir().iterdir() if f.name.endswith(".toml")
    )


def user_names(user_dir: Path | None) -> list[str]:
    if user_dir is None or not user_dir.is_dir():
        return []
    return sorted(p.stem for p in user_dir.glob("*.toml") if p.is_file())


def names(user_dir: Path | None = None) -> list[str]:
    """Every template: the built-in ones and the user's own."""
    return sorted(set(builtin_names()) | set(user_names(user_dir)))


def _read_user(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read prompt file {path}: {exc}", hint="fix or remove the file"
        ) from exc


def load(name: str, user_dir: Path | None = None) -> dict[str, Any]:
    """The template ``name``: the built-in file with the user's file over it."""
    text = builtin_text(name)
    override = user_dir / f"{name}.toml" if user_dir is not None else None
    has_user = override is not None and override.is_file()
    if text is None and not has_user:
        raise UsageError(
            f"there is no prompt template `{name}`", hint="see them with: quill prompts list"
        )
    data: dict[str, Any] = tomllib.loads(text) if text is not None else {}
    if has_user:
        assert override is not None
        for key, value in _read_user(override).items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
    return data


def render(template: str, **values: str) -> str:
    return Template(template).safe_substitute(values)


def variables(template: str) -> list[str]:
    """The ``$names`` a template uses, in order of first use."""
    return list(dict.fromkeys(Template(template).get_identifiers()))


def fill(template: str, values: Mapping[str, str], what: str = "the template") -> str:
    """Substitute every variable; a missing one is an error that names them all."""
    missing = [v for v in variables(template) if v not in values]
    if missing:
        flags = " ".join(f"--var {m}=…" for m in missing)
        plural = "s" if len(missing) > 1 else ""
        raise UsageError(
            f"{what} needs the variable{plural} {', '.join(missing)}", hint=f"pass {flags}"
        )
    return Template(template).safe_substitute(values)


@dataclass
class Prompt:
    """A runnable template: a system text, a user message and its default sampling."""

    name: str
    system: str
    user: str
    description: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)
    origin: str = "built-in"  # "built-in", "yours", or "built-in, changed by yours"

    @property
    def variables(self) -> list[str]:
        return variables(self.system + "\n" + self.user)


def origin(name: str, user_dir: Path | None) -> str:
    builtin = builtin_text(name) is not None
    user = user_dir is not None and (user_dir / f"{name}.toml").is_file()
    if builtin and user:
        return "built-in, changed by yours"
    return "yours" if user else "built-in"


def prompt(name: str, user_dir: Path | None = None) -> Prompt:
    """The template ``name`` as a :class:`Prompt`; refuses one without a ``user`` key."""
    data = load(name, user_dir)
    user = data.get("user")
    if not isinstance(user, str):
        raise UsageError(
            f"the prompt template `{name}` has no `user` message to run",
            hint=f"it is used by quill {name}; a runnable template has `system` and `user` keys",
        )
    sampling = data.get("sampling", {})
    if not isinstance(sampling, dict):
        raise UsageError(f"[sampling] of the prompt template `{name}` must be a table")
    unknown = sorted(set(sampling) - set(SAMPLING_KEYS))
    if unknown:
        raise UsageError(
            f"unknown [sampling] key{'s' if len(unknown) > 1 else ''} in the prompt template "
            f"`{name}`: {', '.join(unknown)}",
            hint="use: " + ", ".join(SAMPLING_KEYS),
        )
    return Prompt(
        name=name,
        system=str(data.get("system", "")),
        user=user,
        description=str(data.get("description", "")),
        sampling=dict(sampling),
        origin=origin(name, user_dir),
    )
