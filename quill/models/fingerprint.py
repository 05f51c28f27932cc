"""A model file's sha256, for provenance: computed once per file and cached by path,
size and modification time, so only the first use of a model pays for reading it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path

CACHE_NAME = "fingerprints.json"
_lock = threading.Lock()


def _key(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def model_sha256(path: str | os.PathLike[str], cache_dir: Path) -> str:
    """The file's sha256 ('' when it cannot be read), from the cache when it is fresh."""
    p = Path(path)
    key = _key(p)
    if key is None:
        return ""
    cache = cache_dir / CACHE_NAME
    with _lock:
        known: dict[str, str] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(cache.read_text("utf-8"))
            if isinstance(loaded, dict):
                known = {str(k): str(v) for k, v in loaded.items()}
        if key in known:
            return known[key]
    try:
        digest = sha256_file(p)
    except OSError:
        return ""
    with _lock:
        known[key] = digest
        with contextlib.suppress(OSError):
            from quill.store.files import atomic_write_text

            atomic_write_text(cache, json.dumps(known, indent=0, sort_keys=True))
    return digest


class Fingerprint:
    """``model_sha256`` in a background thread, started while the model generates."""

    def __init__(self, path: str | os.PathLike[str], cache_dir: Path) -> None:
        self.value = ""
        self._thread = threading.Thread(
            target=self._run, args=(path, cache_dir), name="quill-fingerprint", daemon=True
        )
        self._thread.start()

    def _run(self, path: str | os.PathLike[str], cache_dir: Path) -> None:
        with contextlib.suppress(Exception):
            self.value = model_sha256(path, cache_dir)

    def result(self, timeout: float | None = None) -> str:
        self._thread.join(timeout)
        return self.value
