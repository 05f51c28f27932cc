"""What fits in memory: GPU layers and context size, estimated from the GGUF.

The estimate, before anything is loaded:

- weights per layer: the sizes of the ``blk.N.*`` tensors in the GGUF's tensor table;
  the output layer (``output.weight``, or the tied embeddings) is llama.cpp's layer
  number ``n_layer`` and the first one it offloads; the input embeddings stay on the CPU;
- KV cache bytes per token, per layer: ``n_head_kv × (key_length × K-size + value_length
  × V-size)`` for the cache type (f16: 2 bytes per value, q8_0: 34 bytes per 32 values,
  q4_0: 18 per 32); a layer's KV cache lives where the layer runs;
- a reserve for llama.cpp's compute buffers (logits for a batch, activations) plus a
  safety margin.

``gpu_layers_that_fit`` and ``max_ctx`` are pure functions of those numbers (unit-tested);
``plan`` turns the writer's ``--ctx`` / ``--gpu-layers`` and the free memory into the
numbers llama.cpp gets, with notes saying what was chosen and why.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quill.errors import UsageError
from quill.models.gguf import GGUFInfo

GiB = 1024**3
MiB = 1024**2
CTX_STEP = 256  # llama.cpp pads the context to a multiple of 256
MIN_CTX = 512
DEFAULT_CTX_CAP = 8192
N_UBATCH = 512
SAFETY = 0.05  # share of free memory left alone (fragmentation, other processes)
BASE_RESERVE = 256 * MiB  # backend scratch, driver buffers

# --kv-cache: llama.cpp's ggml type id, and (values per block, bytes per block)
KV_TYPES: dict[str, tuple[int, tuple[int, int]]] = {
    "f16": (1, (1, 2)),
    "q8_0": (8, (32, 34)),
    "q4_0": (2, (32, 18)),
}


def gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB"


@dataclass(frozen=True)
class Shape:
    """What the memory estimate needs to know about a model."""

    layer_bytes: tuple[int, ...]  # weights of each repeating layer
    output_bytes: int  # the output layer (offloaded first)
    weight_bytes: int  # all weights
    kv_per_token: tuple[int, ...]  # KV cache bytes per token, per layer
    n_ctx_train: int
    n_vocab: int = 32000
    n_embd: int = 4096

    @property
    def n_layer(self) -> int:
        return len(self.layer_bytes)

    @property
    def kv_token(self) -> int:
        return sum(self.kv_per_token)


def kv_bytes_per_token(info: GGUFInfo, kv_cache: str = "f16") -> list[int]:
    """KV cache bytes per token for each layer, from the GGUF's hyperparameters."""
    _, (block, size) = KV_TYPES[kv_cache]
    n = info.n_layer
    n_head = _per_layer(info.hparam("attention.head_count", 0), n)
    n_head_kv = _per_layer(info.hparam("attention.head_count_kv"), n) or n_head
    n_embd = int(info.hparam("embedding_length", 0) or 0)
    out = []
    for i in range(n):
        heads = n_head[i] if n_head else 0
        head_dim = n_embd // heads if heads else 0
        k = int(info.hparam("attention.key_length", head_dim) or head_dim)
        v = int(info.hparam("attention.value_length", head_dim) or head_dim)
        kv_heads = n_head_kv[i] if n_head_kv else heads
        out.append(kv_heads * (k + v) * size // block)
    return out


def _per_layer(value: Any, n: int) -> list[int]:
    if value is None:
        return []
    if isinstance(value, list):
        return [int(v) for v in value[:n]] + [int(value[-1])] * max(0, n - len(value))
    return [int(value)] * n


def shape_of(info: GGUFInfo, kv_cache: str = "f16") -> Shape:
    n_vocab = int(info.metadata.get("tokenizer.ggml.tokens", 0) or 0)
    return Shape(
        layer_bytes=tuple(info.layer_bytes()),
        output_bytes=info.output_bytes(),
        weight_bytes=info.weight_bytes or info.size,
        kv_per_token=tuple(kv_bytes_per_token(info, kv_cache)),
        n_ctx_train=info.context_length,
        n_vocab=n_vocab or 32000,
        n_embd=int(info.hparam("embedding_length", 4096) or 4096),
    )


def compute_reserve(shape: Shape, n_ubatch: int = N_UBATCH) -> int:
    """llama.cpp's compute buffer, roughly: a batch of f32 logits plus activations."""
    return BASE_RESERVE + n_ubatch * (shape.n_vocab + 16 * shape.n_embd) * 4


def gpu_layers_that_fit(
    free: int,
    layer_bytes: Sequence[int],
    kv_per_token: Sequence[int],
    ctx: int,
    *,
    output_bytes: int = 0,
    reserve: int = 0,
) -> int:
    """How many layers llama.cpp may offload (its ``n_gpu_layers``, 0 … n_layer + 1).

    llama.cpp offloads from the end: the output layer first, then the repeating layers
    from the last one down, each with its share of the KV cache for ``ctx`` tokens.
    """
    budget = free - reserve
    if budget <= 0 or budget < output_bytes:
        return 0
    used, n = output_bytes, 1
    for i in reversed(range(len(layer_bytes))):
        cost = layer_bytes[i] + kv_per_token[i] * ctx
        if used + cost > budget:
            break
        used += cost
        n += 1
    return n


def max_ctx(budget: int, fixed: int, kv_per_token: int, limit: int) -> int:
    """The largest context (a multiple of 256, at most ``limit``) whose KV cache fits in
    ``budget`` beside ``fixed`` bytes; 0 when not even 256 tokens fit."""
    if kv_per_token <= 0:
        return limit
    room = budget - fixed
    if room <= 0:
        return 0
    n = room // kv_per_token
    return min(limit, n // CTX_STEP * CTX_STEP)


@dataclass(frozen=True)
class Memory:
    ram_free: int  # bytes the process may still use
    gpu_free: int = 0  # free bytes on the GPU devices, 0 without one
    gpu_name: str = ""


@dataclass
class Plan:
    ctx: int
    gpu_layers: int  # llama.cpp's n_gpu_layers (0 … n_layer + 1)
    n_layers: int  # n_layer + 1: every layer llama.cpp can offload
    kv_bytes: int  # the KV cache for ctx tokens
    notes: list[str] = field(default_factory=list)


def plan(
    shape: Shape,
    mem: Memory,
    *,
    ctx: int | str | None,
    gpu: str | int | None,
    gpu_build: bool,
    kv_cache: str = "f16",
) -> Plan:
    """Context size and GPU layers for a model, from the options and the free memory."""
    n_total = shape.n_layer + 1
    train = shape.n_ctx_train or DEFAULT_CTX_CAP
    reserve = compute_reserve(shape)
    use_gpu = gpu_build and gpu != 0 and gpu != "0"
    gpu_budget = int(mem.gpu_free * (1 - SAFETY)) if use_gpu else 0
    ram_budget = int(mem.ram_free * (1 - SAFETY))
    total_budget = gpu_budget + ram_budget
    fixed = shape.weight_bytes + reserve
    notes: list[str] = []

    if isinstance(ctx, int):
        need = fixed + shape.kv_token * ctx
        if mem.ram_free and need > total_budget:
            where = f"{gib(mem.ram_free)} of memory" + (
                f" and {gib(mem.gpu_free)} on {mem.gpu_name or 'the GPU'}" if gpu_budget else ""
            )
            fits = max_ctx(total_budget, fixed, shape.kv_token, train)
            hint = f"use --ctx {fits} or --ctx auto" if fits >= MIN_CTX else "use a smaller model"
            if kv_cache == "f16":
                hint += ", or --kv-cache q8_0 to halve the cache"
            raise UsageError(
                f"--ctx {ctx:,} needs {gib(shape.kv_token * ctx)} for the KV cache ({kv_cache}) "
                f"beside {gib(shape.weight_bytes)} of weights and {gib(reserve)} of buffers, "
                f"{gib(need)} in all; {where} is free",
                hint=hint,
            )
        n_ctx = ctx
    elif ctx == "auto":
        n_ctx = 0
        all_gpu = shape.weight_bytes + reserve
        if gpu_budget and gpu in (None, "auto", "all") and all_gpu < gpu_budget:
            n_ctx = max_ctx(gpu_budget, all_gpu, shape.kv_token, train)
            if n_ctx >= MIN_CTX:
                trained = " (the trained context)" if n_ctx == train else ""
                notes.append(
                    f"context {n_ctx:,} tokens: the largest that fits beside the model "
                    f"on {mem.gpu_name or 'the GPU'}{trained}"
                )
        if n_ctx < MIN_CTX:
            budget = total_budget if mem.ram_free else 1 << 62
            n_ctx = max_ctx(budget, fixed, shape.kv_token, train)
            if n_ctx < MIN_CTX:
                raise UsageError(
                    f"the model does not fit in memory: {gib(fixed)} of weights and buffers, "
                    f"{gib(total_budget)} free",
                    hint="close other programs or use a smaller model",
                )
            notes.append(
                f"context {n_ctx:,} tokens: "
                + ("the trained context" if n_ctx == train else "the largest that fits in memory")
            )
    else:
        n_ctx = min(train, DEFAULT_CTX_CAP)
        if mem.ram_free:
            fits = max_ctx(total_budget, fixed, shape.kv_token, n_ctx)
            if MIN_CTX <= fits < n_ctx:
                notes.append(f"context cut to {fits:,} tokens to fit in memory")
                n_ctx = fits

    kv = shape.kv_token * n_ctx
    if not use_gpu:
        n_gpu = 0
    elif gpu == "all" or (gpu in (None, "auto") and not mem.gpu_free):
        n_gpu = n_total  # no way to ask the GPU: offload everything, as before
    elif isinstance(gpu, int) or (isinstance(gpu, str) and gpu.isdigit()):
        n_gpu = min(int(gpu), n_total)
    else:
        n_gpu = gpu_layers_that_fit(
            gpu_budget,
            shape.layer_bytes,
            shape.kv_per_token,
            n_ctx,
            output_bytes=shape.output_bytes,
            reserve=reserve,
        )
        if n_gpu < n_total:
            need = shape.output_bytes + sum(shape.layer_bytes) + kv + reserve
            notes.append(
                f"offloaded {n_gpu} of {n_total} layers to {mem.gpu_name or 'the GPU'}: all of "
                f"them with the KV cache for {n_ctx:,} tokens need {gib(need)}, "
                f"{gib(mem.gpu_free)} is free"
                + ("; a smaller --ctx or --kv-cache q8_0 leaves room for more" if kv else "")
            )
    return Plan(n_ctx, n_gpu, n_total, kv, notes)


# -- probing the machine --------------------------------------------------------------


def ram_available() -> int:
    """Bytes of memory available to new allocations (MemAvailable on Linux), 0 if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def gpu_devices(lc: Any) -> list[tuple[str, int, int]]:
    """(name, free bytes, total bytes) of each GPU ggml sees; [] without one."""
    try:
        libdir = Path(lc.__file__).parent / "lib"
        ggml = ctypes.CDLL(str(_lib(libdir, "ggml")))
        base = ctypes.CDLL(str(_lib(libdir, "ggml-base")))
    except (OSError, AttributeError, FileNotFoundError):
        return []
    ggml.ggml_backend_dev_count.restype = ctypes.c_size_t
    ggml.ggml_backend_dev_get.restype = ctypes.c_void_p
    ggml.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    base.ggml_backend_dev_type.restype = ctypes.c_int
    base.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    base.ggml_backend_dev_name.restype = ctypes.c_char_p
    base.ggml_backend_dev_name.argtypes = [ctypes.c_void_p]
    base.ggml_backend_dev_memory.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    out = []
    for i in range(ggml.ggml_backend_dev_count()):
        dev = ggml.ggml_backend_dev_get(i)
        if base.ggml_backend_dev_type(dev) not in (1, 2):  # GPU, integrated GPU
            continue
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        base.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        name = (base.ggml_backend_dev_name(dev) or b"GPU").decode()
        out.append((name, int(free.value), int(total.value)))
    return out


def _lib(libdir: Path, name: str) -> Path:
    for suffix in (".so", ".dylib", ".dll"):
        for stem in (f"lib{name}", name):
            p = libdir / f"{stem}{suffix}"
            if p.exists():
                return p
    raise FileNotFoundError(name)


def probe(lc: Any, gpu_build: bool) -> Memory:
    ram = ram_available()
    if not gpu_build:
        return Memory(ram)
    devs = gpu_devices(lc)
    if not devs:
        return Memory(ram)
    names = ", ".join(d[0] for d in devs)
    return Memory(ram, sum(d[1] for d in devs), names)


MADV_DONTNEED = 4  # Linux


def drop_mapped_pages(path: str) -> int:
    """Drop the pages of the model file ``path`` from this process's resident set, once
    the model is loaded; the bytes of the mappings released (0 where there are none, or
    off Linux).

    llama.cpp maps the GGUF file and reads every tensor through the mapping while it
    loads. The tensors it repacks for the CPU's kernels (most of the weights) and those
    it offloads to a GPU are copied into its own buffers, and their pages in the mapping
    are never read again, yet they stay counted in the resident set: 1.06 GiB of the
    1.5B's 1.97 GiB on this project's machine. The mapping is read-only and shared, so
    dropping its pages loses nothing: the tensors still read from it (the embeddings,
    the output layer) fault back in from the page cache on their next use, without
    touching the disk.
    """
    if not os.path.exists("/proc/self/maps"):
        return 0
    target = os.path.realpath(path)
    ranges = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].rstrip("\n") == target:
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    ranges.append((lo, hi))
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return 0
    madvise = libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    return sum(hi - lo for lo, hi in ranges if madvise(lo, hi - lo, MADV_DONTNEED) == 0)


def resident_bytes() -> int:
    """This process's resident set now (VmRSS), in bytes; 0 where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0
