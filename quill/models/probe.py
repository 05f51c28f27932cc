"""Probe a model file in a child process before quill loads it for the first time.

llama.cpp trusts the files it reads more than a writer should: some damaged or hostile
GGUF files make it abort the whole process (a vocabulary with duplicate tokens fails a
``GGML_ASSERT`` and raises SIGABRT), which would end quill with a core dump instead of
an error. So the first load of a file quill has not seen is tried in a child process
(llama.cpp reading the header, hyperparameters and vocabulary, no weights): a crash or
a refusal there becomes :class:`~quill.errors.ModelInvalid` naming the file (exit 5).

The verdict is cached by path, size and modification time under the cache folder, so
the cost (a Python start and a vocabulary load: 0.8 s for a 32k-token vocabulary, 1.4 s
for a 150k one on 2 CPU cores) is paid once per file. The embedded models are
sha256-checked when assembled (a stamp beside the file records it) and are not probed,
wherever their folder is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from quill.errors import ModelInvalid
from quill.models.gguf import read_info

PROBE_VERSION = 1  # bump when the probe checks more: older verdicts are then ignored
TIMEOUT_S = 120.0

# Runs in the child: no core dump; llama.cpp loads the vocabulary only (no tensor data).
_CHILD = """
import sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
except (ImportError, ValueError, OSError):
    pass
import llama_cpp as lc
lc.llama_backend_init()
p = lc.llama_model_default_params()
p.vocab_only = True
m = lc.llama_model_load_from_file(sys.argv[1].encode(), p)
if not m:
    sys.exit(3)
lc.llama_model_free(m)
"""

_PATH_PREFIX = re.compile(r"^\S*/(?=[\w.-]+:\d+: )")  # a source path before "file.cpp:N: "


def _reason(stderr: str) -> str:
    """The line of llama.cpp's output that says why (an assertion, an error)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for pattern in ("GGML_ASSERT", "error", "failed", "terminate", "what()"):
        for line in reversed(lines):
            if pattern in line:
                return _PATH_PREFIX.sub("", line)[:300]
    return lines[-1][:300] if lines else ""


CRASHES = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
_INCONCLUSIVE = "?"  # the child could not tell (no llama_cpp, killed from outside…)


def run_child(path: Path, timeout: float = TIMEOUT_S) -> str | None:
    """Have llama.cpp read ``path``'s vocabulary in a child process; None when it can,
    else why not (a crash is named by its signal). :data:`_INCONCLUSIVE` when the child
    failed for a reason of its own (Python could not import llama_cpp, a signal from
    outside): the load in process then decides, and nothing is cached."""
    env = dict(os.environ)
    env["GGML_NO_BACKTRACE"] = "1"  # no debugger attached to print a stack on abort
    try:
        r = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the terminal's Ctrl-C is for quill, not the probe
        )
    except subprocess.TimeoutExpired:
        return f"llama.cpp did not finish reading it in {timeout:.0f} s"
    except OSError:  # no child can be started
        return _INCONCLUSIVE
    if r.returncode == 0:
        return None
    why = _reason(r.stderr)
    if r.returncode == 3:  # llama.cpp refused the file
        return f"llama.cpp cannot read it ({why or 'it gave no reason'})"
    if r.returncode < 0 and -r.returncode in CRASHES:
        name = signal.Signals(-r.returncode).name
        return f"llama.cpp crashed reading it ({name}{': ' + why if why else ''})"
    return _INCONCLUSIVE


def _key(path: Path) -> tuple[str, dict[str, object]]:
    st = path.stat()
    ident = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]
    return digest, ident


def _verdict_file(cache_dir: Path, digest: str) -> Path:
    return cache_dir / "probes" / f"{digest}.json"


def cached_verdict(path: Path, cache_dir: Path) -> dict[str, object] | None:
    digest, ident = _key(path)
    try:
        data = json.loads(_verdict_file(cache_dir, digest).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("probe") != PROBE_VERSION:
        return None
    if any(data.get(k) != v for k, v in ident.items()):
        return None
    return data


def _save_verdict(path: Path, cache_dir: Path, problem: str | None) -> None:
    from quill.store.files import atomic_write_text

    digest, ident = _key(path)
    data = {**ident, "probe": PROBE_VERSION, "ok": problem is None, "problem": problem or ""}
    with contextlib.suppress(OSError):  # a read-only cache only costs a probe next time
        target = _verdict_file(cache_dir, digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, json.dumps(data))


def is_verified_embedded(path: Path) -> bool:
    """An embedded model assembled and sha256-checked by quill (its stamp matches)."""
    from quill.models import catalog

    return any(
        catalog.model_path(m, path.parent) == path and catalog.is_ready(m, path.parent)
        for m in catalog.MODELS
    )


def ensure_loadable(path: str | os.PathLike[str], cache_dir: Path | None) -> None:
    """Raise ModelInvalid (exit 5) for a file llama.cpp would refuse or crash on.

    The header is checked in Python first (not GGUF, truncated, no weights…); then, the
    first time this file (path, size, mtime) is seen, llama.cpp reads it in a child
    process. ``cache_dir`` None: no verdict is kept (probe every time)."""
    info = read_info(Path(path))  # ModelInvalid / ModelNotFound for what is not a GGUF
    p = info.path.resolve()
    problem = info.problem()
    if problem:
        hint = (
            "the download may have been cut short: fetch the file again"
            if "truncated" in problem
            else "quill runs GGUF model files with their weights, as llama.cpp writes them"
        )
        raise ModelInvalid(f"{p} is not a usable model: {problem}", hint=hint)
    if is_verified_embedded(p):
        return
    verdict = cached_verdict(p, cache_dir) if cache_dir is not None else None
    if verdict is None:
        why = run_child(p)
        if why == _INCONCLUSIVE:
            return
        if cache_dir is not None:
            _save_verdict(p, cache_dir, why)
    else:
        why = None if verdict.get("ok") else str(verdict.get("problem") or "refused before")
    if why:
        raise ModelInvalid(
            f"{p} is not a usable model: {why}",
            hint="the file is damaged or was not written by a GGUF converter; fetch it again",
        )
