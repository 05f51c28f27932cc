"""Hostile and broken model files: quill refuses each with one clear line naming the file
(ModelInvalid, exit 5), never a traceback, a MemoryError or a core dump. Header damage
is caught by quill's own reader (every length bounded by the file size); what only
llama.cpp notices, and what makes it abort the process (a vocabulary with duplicate
tokens), is caught by probing the file in a child process the first time it is seen."""

from __future__ import annotations

import os
import shutil
import struct
import time
from pathlib import Path

import pytest
from assets import vendor_files
from conftest import run_quill
from gguf_hostile import (
    FIRST_KEY_LEN_AT,
    N_KV_AT,
    N_TENSORS_AT,
    VERSION_AT,
    nested_arrays,
    patched,
    tiny_model,
)

from quill.errors import ModelInvalid
from quill.models import probe
from quill.models.gguf import read_info


def _tokens_count_at(data: bytes) -> int:
    """Where the length of the tokenizer.ggml.tokens array is: after the key, its value
    type (array) and the element type (string)."""
    key = b"tokenizer.ggml.tokens"
    return data.index(struct.pack("<Q", len(key)) + key) + 8 + len(key) + 4 + 4


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder, why = vendor_files()
    if folder is None:
        pytest.skip(f"llama.cpp's vocabulary files are not available: {why}")
    vocab = folder / "ggml-vocab-llama-spm.gguf"
    d = tmp_path_factory.mktemp("hostile")
    good = tiny_model(vocab, d / "good.gguf")
    data = good.read_bytes()
    files = {
        "good": good,
        "duplicate-tokens": tiny_model(vocab, d / "duplicate-tokens.gguf", duplicate_token=True),
        "vocab-only": Path(shutil.copy(vocab, d / "vocab-only.gguf")),
        "zero-bytes": d / "zero-bytes.gguf",
        "not-gguf": d / "not-gguf.gguf",
        "header-cut": d / "header-cut.gguf",
        "tensors-cut": d / "tensors-cut.gguf",
        "version-99": patched(good, d / "version-99.gguf", VERSION_AT, "<I", 99),
        "tensor-count": patched(good, d / "tensor-count.gguf", N_TENSORS_AT, "<Q", 2**63),
        "kv-count": patched(good, d / "kv-count.gguf", N_KV_AT, "<Q", 2**62),
        "string-length": patched(good, d / "string-length.gguf", FIRST_KEY_LEN_AT, "<Q", 2**64 - 1),
        "nested-arrays": nested_arrays(d / "nested-arrays.gguf", 5000),
        "token-count": patched(good, d / "token-count.gguf", _tokens_count_at(data), "<Q", 2**61),
    }
    files["zero-bytes"].write_bytes(b"")
    files["not-gguf"].write_text("# my notes\n\nThis is Markdown, not a model.\n")
    files["header-cut"].write_bytes(data[:3000])
    files["tensors-cut"].write_bytes(data[: len(data) // 2])
    return files


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files probe.ensure_loadable starts a llama.cpp child process for."""
    started: list[Path] = []
    run_child = probe.run_child

    def counted(path: Path, *args: object, **kw: object) -> str | None:
        started.append(path)
        return run_child(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(probe, "run_child", counted)
    return started


BAD_HEADERS = [
    ("zero-bytes", "not a GGUF"),
    ("not-gguf", "not a GGUF"),
    ("header-cut", "truncated"),
    ("version-99", "version 99"),
    ("tensor-count", "more than its"),
    ("kv-count", "more than its"),
    ("string-length", "truncated"),
    ("nested-arrays", "not a valid GGUF"),
    ("token-count", "truncated"),
]


@pytest.mark.parametrize(("name", "says"), BAD_HEADERS)
def test_quills_header_reader_refuses_damage_quickly(
    corpus: dict[str, Path], name: str, says: str
) -> None:
    t0 = time.perf_counter()
    read_info(corpus["good"])
    good = time.perf_counter() - t0
    t0 = time.perf_counter()
    with pytest.raises(ModelInvalid) as err:
        read_info(corpus[name])
    took = time.perf_counter() - t0
    # A reader that believed the counts (2**61 tokens, 2**62 keys) would run for hours or
    # allocate the impossible; a refusal costs about what reading a good header does.
    assert took < max(10.0, 100 * good), (took, good)
    assert says in err.value.message and str(corpus[name].name) in err.value.message


def test_the_good_tiny_model_passes_the_probe_and_the_verdict_is_kept(
    corpus: dict[str, Path], tmp_path: Path, children: list[Path]
) -> None:
    cache = tmp_path / "cache"
    probe.ensure_loadable(corpus["good"], cache)
    assert children == [corpus["good"].resolve()]
    assert probe.cached_verdict(corpus["good"].resolve(), cache) is not None
    probe.ensure_loadable(corpus["good"], cache)
    assert len(children) == 1  # no child process the second time


def test_a_vocabulary_with_duplicate_tokens_is_refused_not_a_crash(
    corpus: dict[str, Path], tmp_path: Path, children: list[Path]
) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(ModelInvalid) as err:
        probe.ensure_loadable(corpus["duplicate-tokens"], cache)
    msg = err.value.message
    assert "duplicate-tokens.gguf" in msg and "SIGABRT" in msg and "crashed" in msg
    assert "/vendor/" not in msg  # llama.cpp's source path is left out
    # The verdict is kept: the second refusal starts no child.
    assert len(children) == 1
    with pytest.raises(ModelInvalid):
        probe.ensure_loadable(corpus["duplicate-tokens"], cache)
    assert len(children) == 1
    # A changed file (new mtime) is probed again.
    p = corpus["duplicate-tokens"]
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert probe.cached_verdict(p.resolve(), cache) is None


def test_a_vocabulary_only_gguf_is_refused_before_any_child(corpus: dict[str, Path]) -> None:
    with pytest.raises(ModelInvalid) as err:
        probe.ensure_loadable(corpus["vocab-only"], None)
    assert "no weights" in err.value.message


def test_truncated_tensor_data_is_named(corpus: dict[str, Path]) -> None:
    with pytest.raises(ModelInvalid) as err:
        probe.ensure_loadable(corpus["tensors-cut"], None)
    assert "truncated" in err.value.message and "fetch" in err.value.hint


# -- through the CLI: a real quill process, the real engine factory -----------------------

CLI_CASES = [
    "duplicate-tokens",
    "vocab-only",
    "zero-bytes",
    "not-gguf",
    "header-cut",
    "tensors-cut",
    "version-99",
    "tensor-count",
    "string-length",
    "nested-arrays",
    "token-count",
]


@pytest.mark.parametrize("name", CLI_CASES)
def test_a_broken_model_exits_5_with_one_line(
    corpus: dict[str, Path], quill_home: Path, tmp_path: Path, name: str
) -> None:
    r = run_quill(
        ["chat", "--model", str(corpus[name])],
        env={"QUILL_HOME": str(quill_home)},
        input="a haiku, please",
        timeout=120,
    )
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr and "core dumped" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and corpus[name].name in errors[0], r.stderr
    assert r.stdout == ""
    assert not list(tmp_path.glob("core*")) and not list(Path.cwd().glob("core.*"))


def test_models_add_refuses_a_file_that_would_crash_llama_cpp(
    corpus: dict[str, Path], quill_home: Path
) -> None:
    r = run_quill(
        ["models", "add", str(corpus["duplicate-tokens"]), "--name", "dup"],
        env={"QUILL_HOME": str(quill_home)},
        timeout=120,
    )
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr and "SIGABRT" in r.stderr
    listed = run_quill(["models", "list"], env={"QUILL_HOME": str(quill_home)})
    assert "dup" not in listed.stdout.split()


def test_the_good_tiny_model_runs_through_the_cli(
    corpus: dict[str, Path], quill_home: Path
) -> None:
    """The probe lets a sound file through: the tiny model generates (noise, but text)."""
    r = run_quill(
        ["chat", "--model", str(corpus["good"]), "--max-tokens", "4", "--ctx", "128"],
        env={"QUILL_HOME": str(quill_home)},
        input="hello",
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert list((quill_home / "cache" / "probes").glob("*.json"))


def test_a_verified_embedded_model_is_trusted_without_a_child(
    default_model: Path, tmp_path: Path, children: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default model's stamp (sha256 checked at assembly) stands for the probe, in
    any folder: no child process, nothing cached."""
    assert probe.is_verified_embedded(default_model.resolve())
    from quill.models import catalog

    hashed: list[object] = []
    with monkeypatch.context() as m:
        m.setattr(catalog.hashlib, "sha256", lambda *a: hashed.append(a))
        probe.ensure_loadable(default_model, tmp_path / "cache")
    assert children == [] and hashed == []  # no child, no 491 MB read
    assert not (tmp_path / "cache" / "probes").exists()
    copy = tmp_path / default_model.name  # the same bytes without a stamp: probed
    try:
        os.link(default_model, copy)
    except OSError:  # another file system
        shutil.copy(default_model, copy)
    assert not probe.is_verified_embedded(copy.resolve())


@pytest.mark.parametrize(
    ("child", "refused", "cached"),
    [
        ("import os\nos.abort()\n", True, True),  # a crash of llama.cpp's kind: refused
        ("raise ImportError('no llama_cpp here')\n", False, False),  # the probe's own fault
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", False, False),
    ],
)
def test_only_a_crash_or_a_refusal_is_a_verdict(
    corpus: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    child: str,
    refused: bool,
    cached: bool,
) -> None:
    """A child that dies of SIGABRT refuses the file; one that fails for a reason of its
    own (no llama_cpp, killed from outside) decides nothing and caches nothing."""
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "llama_cpp.py").write_text(child)
    monkeypatch.setenv("PYTHONPATH", str(fake))
    cache = tmp_path / "cache"
    if refused:
        with pytest.raises(ModelInvalid, match="SIGABRT"):
            probe.ensure_loadable(corpus["good"], cache)
    else:
        probe.ensure_loadable(corpus["good"], cache)
    assert (probe.cached_verdict(corpus["good"].resolve(), cache) is not None) == cached
