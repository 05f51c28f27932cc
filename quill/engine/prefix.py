"""Evaluated prompt prefixes kept on disk: the KV cache of a command's system prompt,
saved by llama.cpp's state functions the first time it is evaluated and loaded by every
later process that starts with the same tokens, so a one-shot command (`quill draft`,
`quill proofread`…) evaluates only what its request adds.

The prefix of a prompt is what comes before its first user message's text: the system
prompt and the template's tokens around it (:func:`shared_prefix`). A file holds the
KV cells of those tokens (llama.cpp's sequence state) and the tokens themselves, behind
a sha256 of both: llama.cpp aborts the process on a damaged state, so a file whose digest
does not match is never handed to it. Its name is a hash of the tokens and
of everything the cells depend on (the model file, the KV cache type, flash attention,
the llama.cpp build), so a file made under other settings is never found. A prefix is
always evaluated on its own, in the first process as in every later one, so the cells a
later process loads are exactly those it would have computed.

A file that cannot be read, or holds other tokens, is ignored (and the prefix evaluated
again). Files are written atomically (temp file, rename); the oldest are removed once
there are more than MAX_FILES.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIN_TOKENS = 32  # a shorter prefix costs less to evaluate than a file's round trip
MAX_FILES = 64  # about 2 MB each for the 1.5B's 70-token system prompts
SUFFIX = ".kv"
MAGIC = b"QUILLKV1"


def shared_prefix(*prompts: Sequence[int]) -> int:
    """How many leading tokens all ``prompts`` share."""
    if not prompts:
        return 0
    n = min(len(p) for p in prompts)
    first = prompts[0]
    for i in range(n):
        if any(p[i] != first[i] for p in prompts[1:]):
            return i
    return n


class PrefixCache:
    """The prefix files of one model and context's settings, in ``directory``."""

    def __init__(self, directory: Path, identity: Sequence[object]) -> None:
        self.directory = directory
        self.identity = "\x00".join(str(x) for x in identity)

    @staticmethod
    def model_identity(path: str) -> tuple[str, int, int]:
        st = os.stat(path)
        return (os.path.realpath(path), st.st_size, st.st_mtime_ns)

    def file(self, tokens: Sequence[int]) -> Path:
        h = hashlib.sha256(self.identity.encode())
        h.update(b"\x00".join(str(t).encode() for t in tokens))
        return self.directory / (h.hexdigest()[:32] + SUFFIX)

    def load(self, lc: Any, ctx: Any, tokens: Sequence[int]) -> bool:
        """Load the cells of ``tokens`` into sequence 0 of an empty cache; False where
        there is no such file, or it is damaged or holds other tokens."""
        path = self.file(tokens)
        try:
            data = path.read_bytes()
        except OSError:
            return False
        state = _unpack(data, tokens)
        if state is None:
            log.debug("prefix file %s damaged or another prompt's; ignored", path.name)
            return False
        buf = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if lc.llama_state_seq_set_data(ctx, buf, len(state), 0) == len(state):
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: pruned last
            return True
        lc.llama_memory_clear(lc.llama_get_memory(ctx), True)
        return False

    def save(self, lc: Any, ctx: Any, tokens: Sequence[int]) -> None:
        """Write the cells of sequence 0 (which must hold exactly ``tokens``)."""
        size = int(lc.llama_state_seq_get_size(ctx, 0))
        buf = (ctypes.c_uint8 * size)()
        if size <= 0 or lc.llama_state_seq_get_data(ctx, buf, size, 0) != size:
            return
        path = self.file(tokens)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(_pack(tokens, bytes(buf)))
            os.replace(tmp, path)
            self._prune()
        except OSError as exc:  # a cache that cannot be written is no cache, not an error
            tmp.unlink(missing_ok=True)
            log.debug("prefix file not written: %s", exc)

    def _prune(self) -> None:
        files = sorted(self.directory.glob("*" + SUFFIX), key=lambda p: p.stat().st_mtime)
        for old in files[:-MAX_FILES]:
            old.unlink(missing_ok=True)


def _pack(tokens: Sequence[int], state: bytes) -> bytes:
    """MAGIC, the sha256 of the rest, the token count, the tokens (int32), the state."""
    body = struct.pack("<I", len(tokens)) + struct.pack(f"<{len(tokens)}i", *tokens) + state
    return MAGIC + hashlib.sha256(body).digest() + body


def _unpack(data: bytes, tokens: Sequence[int]) -> bytes | None:
    """The state in ``data`` if it is whole (its digest matches: llama.cpp aborts the
    process on a damaged state) and holds exactly ``tokens``; else None."""
    head = len(MAGIC) + 32
    if len(data) < head + 4 or not data.startswith(MAGIC):
        return None
    body = data[head:]
    if hashlib.sha256(body).digest() != data[len(MAGIC) : head]:
        return None
    (n,) = struct.unpack_from("<I", body)
    if n != len(tokens) or len(body) < 4 + 4 * n:
        return None
    if list(struct.unpack_from(f"<{n}i", body, 4)) != list(tokens):
        return None
    return body[4 + 4 * n :]
