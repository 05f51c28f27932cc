"""Read a GGUF file's header (metadata and tensor table, no tensor data) in pure Python.

Used to validate a file before handing it to llama.cpp (a clear error instead of a
crash), to describe models cheaply in `quill models list`, and to estimate memory (layer
sizes from the tensor table, KV cache bytes per token from the hyperparameters) before
choosing how many layers to offload and how large a context fits.
"""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

# ggml tensor types: id -> (elements per block, bytes per block)
GGML_TYPES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 40),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
    40: (64, 36),  # NVFP4
    41: (128, 18),  # Q1_0
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
MAX_NESTING = 8  # arrays of arrays: deeper than any real model file
SMALL_ARRAY = 4096  # numeric arrays up to this length are kept (per-layer hyperparameters)
_LAYER = re.compile(r"^blk\.(\d+)\.")


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # from the start of the data section

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        block, size = GGML_TYPES.get(self.ggml_type, (1, 4))
        return self.n_elements // block * size


@dataclass
class GGUFInfo:
    path: Path
    version: int
    size: int
    metadata: dict[str, Any] = field(default_factory=dict)  # arrays: their length
    arrays: dict[str, list[Any]] = field(default_factory=dict)  # small numeric arrays
    tensors: list[Tensor] = field(default_factory=list)
    data_offset: int = 0  # where tensor data starts in the file
    tokens_offset: int = 0  # where the tokenizer.ggml.tokens strings start (0: none)

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

    def hparam(self, key: str, default: Any = None) -> Any:
        """``{architecture}.{key}`` from the metadata (a list where it varies by layer)."""
        full = f"{self.architecture}.{key}"
        if full in self.arrays:
            return self.arrays[full]
        return self.metadata.get(full, default)

    @property
    def context_length(self) -> int:
        return int(self.hparam("context_length", 0) or 0)

    @property
    def n_layer(self) -> int:
        return int(self.hparam("block_count", 0) or 0)

    @property
    def chat_template(self) -> str | None:
        t = self.metadata.get("tokenizer.chat_template")
        return t if isinstance(t, str) and t.strip() else None

    @property
    def has_chat_template(self) -> bool:
        return self.chat_template is not None

    @property
    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    def layer_bytes(self) -> list[int]:
        """Weight bytes of each repeating layer (``blk.N.*`` tensors)."""
        out = [0] * self.n_layer
        for t in self.tensors:
            m = _LAYER.match(t.name)
            if m and int(m.group(1)) < len(out):
                out[int(m.group(1))] += t.nbytes
        return out

    def output_bytes(self) -> int:
        """Bytes of the output layer (what llama.cpp offloads as its "layer" n_layer)."""
        names = {t.name: t for t in self.tensors}
        out = names.get("output.weight") or names.get("token_embd.weight")  # tied embeddings
        norm = names.get("output_norm.weight")
        return (out.nbytes if out else 0) + (norm.nbytes if norm else 0)

    @property
    def n_params(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    def token_texts(self, ids: list[int]) -> dict[int, str]:
        """The text of some vocabulary entries (BOS, EOS…), read from the file."""
        n = int(self.metadata.get("tokenizer.ggml.tokens", 0) or 0)
        want = {i for i in ids if 0 <= i < n}
        if not want or not self.tokens_offset:
            return {}
        out: dict[int, str] = {}
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            pos, last = self.tokens_offset, max(want)
            for i in range(last + 1):
                size = struct.unpack_from("<Q", mm, pos)[0]
                if i in want:
                    out[i] = bytes(mm[pos + 8 : pos + 8 + size]).decode("utf-8", "replace")
                pos += 8 + size
        return out

    def problem(self) -> str | None:
        """Why llama.cpp could not run this file, or None when the header looks usable."""
        if "general.architecture" not in self.metadata:
            return "it names no architecture (general.architecture)"
        if not self.tensors:
            return "it holds no weights (a vocabulary-only GGUF?)"
        unknown = sorted({t.ggml_type for t in self.tensors if t.ggml_type not in GGML_TYPES})
        if unknown:
            return f"it uses tensor types this llama.cpp does not know ({unknown})"
        return self.truncation()

    def truncation(self) -> str | None:
        """Why the tensor data does not fit in the file, or None when it does."""
        if not self.tensors:
            return None
        end = self.data_offset + max(t.offset + t.nbytes for t in self.tensors)
        if end > self.size:
            return f"the tensors need {end:,} bytes, the file has {self.size:,} (truncated?)"
        return None


class _Reader:
    """Parses the header straight from a memory map (no read call per value)."""

    def __init__(self, buf: mmap.mmap | bytes) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        v = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def string(self) -> str:
        n = self.unpack("<Q")
        if self.pos + n > len(self.buf):
            raise EOFError
        s = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return s.decode("utf-8", "replace")

    def skip_strings(self, count: int) -> None:
        buf, pos, unpack = self.buf, self.pos, struct.unpack_from
        if count * 8 > len(buf) - pos:  # each string takes 8 bytes at least
            raise EOFError
        for _ in range(count):
            pos += 8 + unpack("<Q", buf, pos)[0]
        if pos > len(buf):
            raise EOFError
        self.pos = pos

    def value(self, vtype: int, key: str, arrays: dict[str, list[Any]], depth: int = 0) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype = self.unpack("<I")
            count = self.unpack("<Q")
            if itype in _SCALARS:
                fmt = _SCALARS[itype]
                width = struct.calcsize(fmt)
                if count <= SMALL_ARRAY:
                    arrays[key] = list(struct.unpack_from(f"<{count}{fmt[1]}", self.buf, self.pos))
                self.pos += width * count
                if self.pos > len(self.buf):
                    raise EOFError
            elif itype == _STRING:
                if key == "tokenizer.ggml.tokens":
                    arrays["\0tokens_offset"] = [self.pos]
                self.skip_strings(count)
            else:
                if depth >= MAX_NESTING:
                    raise ValueError(f"arrays nested more than {MAX_NESTING} deep")
                if count > len(self.buf) - self.pos:  # every element takes a byte at least
                    raise EOFError
                for _ in range(count):
                    self.value(itype, "", {}, depth + 1)
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
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                info = _parse(p, mm)
    except (EOFError, ValueError, struct.error, OverflowError, MemoryError, RecursionError) as exc:
        raise ModelInvalid(f"{p} is not a valid GGUF model (truncated or damaged header)") from exc
    except OSError as exc:
        raise ModelInvalid(f"cannot read {p}: {exc.strerror or exc}") from exc
    return info


def _parse(p: Path, buf: mmap.mmap) -> GGUFInfo:
    r = _Reader(buf)
    r.pos = 4
    version = r.unpack("<I")
    if version not in (2, 3):
        raise ModelInvalid(f"{p}: unsupported GGUF version {version}")
    n_tensors = r.unpack("<Q")
    n_kv = r.unpack("<Q")
    # Every key-value pair takes 12 bytes at least, every tensor entry 24: a count the file
    # cannot hold is refused at once (not after millions of reads).
    room = len(buf) - r.pos
    if n_kv * 12 > room or n_tensors * 24 > room:
        raise ModelInvalid(
            f"{p} is not a valid GGUF model: its header claims {n_kv:,} metadata entries "
            f"and {n_tensors:,} tensors, more than its {len(buf):,} bytes can hold"
        )
    meta: dict[str, Any] = {}
    arrays: dict[str, list[Any]] = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.unpack("<I"), key, arrays)
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.unpack("<I")
        if n_dims > 8:
            raise ValueError(f"tensor {name} has {n_dims} dimensions")
        shape = tuple(r.unpack("<Q") for _ in range(n_dims))
        ttype = r.unpack("<I")
        offset = r.unpack("<Q")
        tensors.append(Tensor(name, shape, ttype, offset))
    tokens_offset = arrays.pop("\0tokens_offset", [0])[0]
    align = int(meta.get("general.alignment", 32) or 32)
    data_offset = (r.pos + align - 1) // align * align
    return GGUFInfo(
        path=p,
        version=version,
        size=len(buf),
        metadata=meta,
        arrays=arrays,
        tensors=tensors,
        data_offset=data_offset,
        tokens_offset=tokens_offset,
    )
