"""Read a GGUF file's header (metadata only, no tensors) in pure Python.

Used to validate a file before handing it to llama.cpp (a clear error instead of a
crash) and to describe models cheaply in `quill models list`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from quill.errors import ModelInvalid, ModelNotFound

MAGIC = b"GGUF"

FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4",
}

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


@dataclass
class GGUFInfo:
    path: Path
    version: int
    size: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "?"))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", self.path.stem))

    @property
    def quantization(self) -> str:
        ft = self.metadata.get("general.file_type")
        return FILE_TYPES.get(ft, f"type {ft}") if ft is not None else "?"

    @property
    def context_length(self) -> int:
        return int(self.metadata.get(f"{self.architecture}.context_length", 0) or 0)

    @property
    def has_chat_template(self) -> bool:
        return "tokenizer.chat_template" in self.metadata


class _Reader:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f

    def take(self, n: int) -> bytes:
        b = self.f.read(n)
        if len(b) != n:
            raise EOFError
        return b

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.unpack("<Q")).decode("utf-8", "replace")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype = self.unpack("<I")
            count = self.unpack("<Q")
            if itype in _SCALARS:
                self.f.seek(struct.calcsize(_SCALARS[itype]) * count, 1)
            else:
                for _ in range(count):
                    self.value(itype)
            return count  # the length stands in for the array
        raise ValueError(f"unknown GGUF value type {vtype}")


def read_info(path: str | Path) -> GGUFInfo:
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelNotFound(f"no model file at {p}")
    if p.is_dir():
        raise ModelInvalid(f"{p} is a directory, not a GGUF file")
    try:
        with open(p, "rb") as f:
            if f.read(4) != MAGIC:
                raise ModelInvalid(f"{p} is not a GGUF model (wrong magic bytes)")
            r = _Reader(f)
            version = r.unpack("<I")
            if version not in (2, 3):
                raise ModelInvalid(f"{p}: unsupported GGUF version {version}")
            r.unpack("<Q")  # tensor count
            n_kv = r.unpack("<Q")
            meta: dict[str, Any] = {}
            for _ in range(n_kv):
                key = r.string()
                meta[key] = r.value(r.unpack("<I"))
    except (EOFError, ValueError, struct.error) as exc:
        raise ModelInvalid(f"{p} is not a valid GGUF model (truncated or damaged header)") from exc
    except OSError as exc:
        raise ModelInvalid(f"cannot read {p}: {exc.strerror or exc}") from exc
    return GGUFInfo(path=p, version=version, size=p.stat().st_size, metadata=meta)
