"""The engine's settings that depend on the machine and its environment: threads,
llama.cpp's repacked CPU weights, GPU layers, and prompt lookup's default length.
Nothing here loads llama.cpp: `quill doctor` and the benchmarks read them without a
model.
"""

from __future__ import annotations

import os
from pathlib import Path

from quill.engine.lookup import DEFAULT_DRAFT
from quill.errors import UsageError


def default_threads() -> int:
    """Threads for generation and prompt evaluation: every CPU this process may use.

    llama-cpp-python's default is half the logical cores, which leaves one of two cores
    idle on a small machine. Above 8 CPUs, hyper-threads rarely help decoding, so take
    the physical cores reported by the kernel where that can be read.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    if n > 8:
        physical = _physical_cores()
        if physical:
            n = min(n, physical)
    return max(1, n)


def _physical_cores() -> int:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 0
    cores: set[tuple[str, str]] = set()
    phys = core = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            phys = value.strip()
        elif key == "core id":
            core = value.strip()
            cores.add((phys, core))
    return len(cores)


def use_extra_buffers(choice: str | None = None) -> bool:
    """Whether llama.cpp may use its extra CPU buffer types (weight repacking, AMX):
    ``choice`` is the --cpu-repack setting, on, off, or auto (None).

    On CPUs that report AMX, llama.cpp's AMX kernels fault with an illegal instruction
    in virtual machines that do not enable the tile registers, killing the process. The
    plain CPU path is safe everywhere, so auto uses it there unless
    QUILL_CPU_EXTRA_BUFFERS=1 asks for the extra buffers (the older spelling of the
    setting, still read where it is auto). Elsewhere auto repacks: generation is
    faster with it; loading, and on some CPUs prompt evaluation, slower
    (benchmarks/repack_bench.py, docs/speed.md).
    """
    if choice in ("on", "off"):
        return choice == "on"
    flag = os.environ.get("QUILL_CPU_EXTRA_BUFFERS")
    if flag is not None:
        return flag not in ("", "0", "false", "no")
    try:
        return " amx_tile" not in Path("/proc/cpuinfo").read_text()
    except OSError:
        return True


def lookup_default(environ: dict[str, str] | None = None) -> int:
    """Prompt lookup's draft length when a request does not set one: QUILL_LOOKUP
    (0 or ``off`` turns it off, a number sets the most tokens drafted per step), else
    :data:`~quill.engine.lookup.DEFAULT_DRAFT`."""
    value = (environ if environ is not None else os.environ).get("QUILL_LOOKUP", "").strip()
    if not value:
        return DEFAULT_DRAFT
    if value.lower() in ("off", "no", "false"):
        return 0
    if value.lower() in ("on", "yes", "true"):
        return DEFAULT_DRAFT
    try:
        return max(0, int(value))
    except ValueError:
        raise UsageError(
            f"QUILL_LOOKUP must be a number of tokens, on or off, not `{value}`"
        ) from None


def resolve_gpu_layers(spec: str | int | None, supports_gpu: bool) -> int:
    """``auto``: all layers where the build offloads, else 0; ``all``; or a number.

    (The engine fits ``auto`` to free GPU memory; benchmarks use this plain rule.)
    """
    if spec is None or spec == "auto":
        return -1 if supports_gpu else 0
    if spec == "all":
        return -1
    n = int(spec)
    return -1 if n < 0 else n
