"""Which models quill knows: the embedded ones (the default first) plus those added by name.

Names live in ``models.toml`` in the config dir::

    [models.mistral]
    path = "/models/mistral-7b-instruct.Q4_K_M.gguf"
    ctx = 8192                  # the model's own defaults (optional): below the config
    chat_template = "chatml"    # file and the variables, above quill's built-in default
    preset = "precise"
    system = "You are a patient editor."
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quill.config import MODEL_DEFAULTS, Paths, toml_escape, toml_value
from quill.errors import ModelNotFound, UsageError
from quill.models import catalog, default
from quill.models.gguf import read_info

DEFAULT_ALIASES = ("default", default.NAME)


@dataclass(frozen=True)
class Entry:
    name: str
    path: Path
    builtin: bool = False
    embedded: catalog.EmbeddedModel | None = None  # set for the embedded (builtin) models
    defaults: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def load(paths: Paths) -> dict[str, Entry]:
    cache = paths.models_cache
    out = {m.name: Entry(m.name, catalog.model_path(m, cache), True, m) for m in catalog.models()}
    f = paths.models_file
    if f.exists():
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read {f}: {exc}", hint="fix or remove the file") from exc
        for name, body in data.get("models", {}).items():
            if isinstance(body, dict) and isinstance(body.get("path"), str):
                kept = {k: body[k] for k in MODEL_DEFAULTS if k in body}
                out[name] = Entry(name, Path(body["path"]).expanduser(), defaults=kept)
    return out


def _save(paths: Paths, entries: dict[str, Entry]) -> None:
    from quill.store.files import atomic_write_text

    lines = []
    for e in entries.values():
        if not e.builtin:
            lines += [
                f'[models."{toml_escape(e.name)}"]',
                f'path = "{toml_escape(str(e.path))}"',
                *(f"{k} = {toml_value(v)}" for k, v in e.defaults.items()),
                "",
            ]
    atomic_write_text(paths.models_file, "\n".join(lines))


def add(
    paths: Paths, path: str, name: str | None = None, defaults: dict[str, Any] | None = None
) -> Entry:
    p = Path(path).expanduser().resolve()
    read_info(p)  # refuses what is not GGUF
    entries = load(paths)
    name = name or p.stem.lower()
    if name in DEFAULT_ALIASES:
        raise UsageError(
            f"`{name}` is the name of the embedded default model", hint="choose another --name"
        )
    if any(m.name == name for m in catalog.models()):
        raise UsageError(f"`{name}` is the name of an embedded model", hint="choose another --name")
    entries[name] = Entry(name, p, defaults={k: v for k, v in (defaults or {}).items() if v})
    _save(paths, entries)
    return entries[name]


def remove(paths: Paths, name: str) -> None:
    entries = load(paths)
    e = entries.get(name)
    if e is None or e.builtin:
        raise ModelNotFound(f"no added model named `{name}`")
    del entries[name]
    _save(paths, entries)


def is_default(spec: str | None) -> bool:
    return spec is None or spec in DEFAULT_ALIASES


def resolve(paths: Paths, spec: str | None) -> Entry:
    """A model name or path -> Entry. None or 'default' is the embedded default model.

    An embedded model whose optional extra is not installed (and that was never
    assembled) is ModelNotFound, with the command that installs it as the hint."""
    entries = load(paths)
    if is_default(spec):
        return entries[default.NAME]
    assert spec is not None
    if spec in entries:
        e = entries[spec]
        if e.embedded is not None:
            catalog.check_available(e.embedded, paths.models_cache)
        if not e.builtin and not e.path.exists():
            raise ModelNotFound(
                f"model `{spec}` points to {e.path}, which does not exist",
                hint=f"add it again: quill models add PATH --name {spec}",
            )
        return e
    p = Path(spec).expanduser()
    if p.exists() or os.sep in spec or spec.endswith(".gguf"):
        if not p.exists():
            raise ModelNotFound(f"no model file at {p}")
        read_info(p)
        return Entry(p.stem, p.resolve())
    known = ", ".join(sorted(entries))
    raise ModelNotFound(f"unknown model `{spec}`", hint=f"known models: {known}; or pass a path")
