"""GPU layers and context size from memory: pure functions of the numbers.

This machine has no GPU: the fitting is tested with numbers (free memory, layer sizes,
KV bytes per token, context), the way llama.cpp places layers (output layer first, then
the repeating layers from the last one down).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quill.engine import memory
from quill.engine.factory import validate
from quill.engine.memory import (
    GiB,
    Memory,
    MiB,
    Shape,
    compute_reserve,
    gpu_layers_that_fit,
    kv_bytes_per_token,
    max_ctx,
    plan,
    shape_of,
)
from quill.env import EngineOptions, Environment
from quill.errors import UsageError
from quill.models.gguf import GGUFInfo, read_info

# About a Llama 3 8B at Q4: 32 layers of 200 MiB, a 400 MiB output layer, 8 KV heads
# of 128 dims (f16: 4 KiB per token per layer, 128 KiB per token in all).
LAYERS = [200 * MiB] * 32
KV = [4096] * 32
SHAPE = Shape(
    layer_bytes=tuple(LAYERS),
    output_bytes=400 * MiB,
    weight_bytes=sum(LAYERS) + 400 * MiB + 500 * MiB,  # + the input embeddings
    kv_per_token=tuple(KV),
    n_ctx_train=131072,
    n_vocab=128256,
    n_embd=4096,
)


def test_layers_fit_from_the_output_layer_down() -> None:
    # 4 GiB free, 512 MiB reserved: 3584 MiB. Output 400 MiB, then 232 MiB per layer
    # (200 MiB of weights + 32 MiB of KV cache for 8192 tokens): 13 layers, 14 in all.
    n = gpu_layers_that_fit(4 * GiB, LAYERS, KV, 8192, output_bytes=400 * MiB, reserve=512 * MiB)
    assert n == 14
    # A shorter context leaves room for more: 208 MiB a layer at 2048 tokens, 15 + 1.
    n = gpu_layers_that_fit(4 * GiB, LAYERS, KV, 2048, output_bytes=400 * MiB, reserve=512 * MiB)
    assert n == 16
    assert gpu_layers_that_fit(24 * GiB, LAYERS, KV, 8192, output_bytes=400 * MiB) == 33
    assert gpu_layers_that_fit(300 * MiB, LAYERS, KV, 8192, output_bytes=400 * MiB) == 0
    assert gpu_layers_that_fit(400 * MiB, LAYERS, KV, 8192, output_bytes=400 * MiB) == 1
    assert gpu_layers_that_fit(0, LAYERS, KV, 8192) == 0


def test_layers_of_different_sizes_are_counted_from_the_end() -> None:
    layers = [100, 100, 100, 500]
    assert gpu_layers_that_fit(550, layers, [0] * 4, 0, output_bytes=50) == 2
    assert gpu_layers_that_fit(549, layers, [0] * 4, 0, output_bytes=50) == 1
    assert gpu_layers_that_fit(850, layers, [0] * 4, 0, output_bytes=50) == 5


def test_max_ctx_rounds_down_to_256_and_caps() -> None:
    kv = 128 * 1024
    assert max_ctx(10 * GiB, 6 * GiB, kv, 131072) == 32768
    assert max_ctx(10 * GiB, 6 * GiB, kv, 8192) == 8192
    assert max_ctx(6 * GiB + 1000 * kv, 6 * GiB, kv, 131072) == 768
    assert max_ctx(6 * GiB + 100 * kv, 6 * GiB, kv, 131072) == 0
    assert max_ctx(5 * GiB, 6 * GiB, kv, 131072) == 0


def test_kv_bytes_per_token_from_the_hyperparameters() -> None:
    meta = {
        "general.architecture": "llama",
        "llama.block_count": 32,
        "llama.embedding_length": 4096,
        "llama.attention.head_count": 32,
        "llama.attention.head_count_kv": 8,
    }
    info = GGUFInfo(Path("x.gguf"), 3, 0, meta)
    assert kv_bytes_per_token(info) == [8 * 128 * 2 * 2] * 32  # K and V, 2 bytes each
    assert kv_bytes_per_token(info, "q8_0") == [8 * 256 * 34 // 32] * 32
    assert kv_bytes_per_token(info, "q4_0") == [8 * 256 * 18 // 32] * 32
    # Per-layer head counts (hybrid models), and explicit head sizes.
    meta2 = {**meta, "llama.block_count": 3, "llama.attention.key_length": 64}
    meta2["llama.attention.value_length"] = 32
    info2 = GGUFInfo(
        Path("y.gguf"), 3, 0, meta2, arrays={"llama.attention.head_count_kv": [4, 0, 2]}
    )
    assert kv_bytes_per_token(info2) == [4 * 96 * 2, 0, 2 * 96 * 2]


def test_cpu_plan_default_auto_and_refusal() -> None:
    ram = Memory(ram_free=16 * GiB)
    p = plan(SHAPE, ram, ctx=None, gpu="auto", gpu_build=False)
    assert (p.ctx, p.gpu_layers, p.notes) == (8192, 0, [])
    assert p.kv_bytes == 8192 * 128 * 1024

    auto = plan(SHAPE, ram, ctx="auto", gpu="auto", gpu_build=False)
    budget = int(16 * GiB * (1 - memory.SAFETY))
    fixed = SHAPE.weight_bytes + compute_reserve(SHAPE)
    assert auto.ctx % 256 == 0 and auto.ctx < SHAPE.n_ctx_train
    assert fixed + SHAPE.kv_token * auto.ctx <= budget < fixed + SHAPE.kv_token * (auto.ctx + 256)
    assert "largest that fits" in auto.notes[0]
    # Plenty of memory: auto stops at the trained context.
    assert plan(SHAPE, Memory(64 * GiB), ctx="auto", gpu=None, gpu_build=False).ctx == 131072

    with pytest.raises(UsageError) as err:
        plan(SHAPE, Memory(10 * GiB), ctx=131072, gpu="auto", gpu_build=False)
    msg = err.value.message
    assert "--ctx 131,072 needs 16.0 GiB for the KV cache (f16)" in msg and "10.0 GiB" in msg
    assert "--ctx auto" in err.value.hint and "q8_0" in err.value.hint
    # What fits is allowed; unknown free memory (0) refuses nothing.
    assert plan(SHAPE, Memory(10 * GiB), ctx=4096, gpu=None, gpu_build=False).ctx == 4096
    assert plan(SHAPE, Memory(0), ctx=131072, gpu=None, gpu_build=False).ctx == 131072


def test_default_context_shrinks_to_fit_small_memory() -> None:
    p = plan(SHAPE, Memory(int(8.5 * GiB)), ctx=None, gpu=None, gpu_build=False)
    assert 512 <= p.ctx < 8192 and "cut to" in p.notes[0]
    with pytest.raises(UsageError, match="does not fit in memory"):
        plan(SHAPE, Memory(4 * GiB), ctx="auto", gpu=None, gpu_build=False)


def test_gpu_plan_auto_all_and_counts() -> None:
    mem = Memory(ram_free=32 * GiB, gpu_free=4 * GiB, gpu_name="CUDA0")
    p = plan(SHAPE, mem, ctx=8192, gpu="auto", gpu_build=True)
    want = gpu_layers_that_fit(
        int(4 * GiB * (1 - memory.SAFETY)),
        LAYERS,
        KV,
        8192,
        output_bytes=400 * MiB,
        reserve=compute_reserve(SHAPE),
    )
    assert p.gpu_layers == want and 0 < want < 33
    assert f"offloaded {want} of 33 layers to CUDA0" in p.notes[0]
    assert plan(SHAPE, mem, ctx=8192, gpu="all", gpu_build=True).gpu_layers == 33
    assert plan(SHAPE, mem, ctx=8192, gpu=5, gpu_build=True).gpu_layers == 5
    assert plan(SHAPE, mem, ctx=8192, gpu=0, gpu_build=True).gpu_layers == 0
    big = Memory(ram_free=32 * GiB, gpu_free=80 * GiB, gpu_name="CUDA0")
    assert plan(SHAPE, big, ctx=8192, gpu="auto", gpu_build=True).gpu_layers == 33
    # A GPU build whose free memory cannot be read: every layer, as before.
    assert plan(SHAPE, Memory(32 * GiB), ctx=None, gpu="auto", gpu_build=True).gpu_layers == 33


def test_gpu_plan_ctx_auto_fits_beside_the_model_on_the_gpu() -> None:
    mem = Memory(ram_free=64 * GiB, gpu_free=12 * GiB, gpu_name="CUDA0")
    p = plan(SHAPE, mem, ctx="auto", gpu="auto", gpu_build=True)
    budget = int(12 * GiB * (1 - memory.SAFETY))
    fixed = SHAPE.weight_bytes + compute_reserve(SHAPE)
    assert p.ctx == (budget - fixed) // SHAPE.kv_token // 256 * 256
    assert p.gpu_layers == 33  # all of it fits, with that context
    assert "on CUDA0" in p.notes[0]


def test_shape_from_a_real_gguf(tmp_path: Path) -> None:
    import gguf

    path = tmp_path / "tiny.gguf"
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_block_count(2)
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_tensor("token_embd.weight", np.zeros((100, 64), dtype=np.float32))
    for i in range(2):
        w.add_tensor(f"blk.{i}.attn_q.weight", np.zeros((64, 64), dtype=np.float16))
        w.add_tensor(f"blk.{i}.ffn_up.weight", np.zeros((128, 64), dtype=np.float32))
    w.add_tensor("output_norm.weight", np.zeros(64, dtype=np.float32))
    w.add_tensor("output.weight", np.zeros((100, 64), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    info = read_info(path)
    assert info.layer_bytes() == [64 * 64 * 2 + 128 * 64 * 4] * 2
    assert info.output_bytes() == 100 * 64 * 2 + 64 * 4
    assert info.truncation() is None
    s = shape_of(info)
    assert s.kv_per_token == (2 * 16 * 2 * 2,) * 2 and s.n_ctx_train == 4096
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:-100])
    assert "truncated" in (read_info(cut).truncation() or "")


def test_options_resolve_from_flags_env_and_config(quill_home: Path) -> None:
    (quill_home / "config").mkdir(parents=True)
    (quill_home / "config" / "config.toml").write_text(
        '[defaults]\nkv_cache = "q8_0"\nthreads_batch = 3\nchat_template = "chatml"\n'
    )
    env = Environment(environ={"QUILL_HOME": str(quill_home)})
    o = env.resolve_options(EngineOptions())
    assert (o.kv_cache, o.threads_batch, o.chat_template) == ("q8_0", 3, "chatml")
    env = Environment(
        environ={"QUILL_HOME": str(quill_home), "QUILL_KV_CACHE": "q4_0", "QUILL_CTX": "auto"}
    )
    o = env.resolve_options(EngineOptions())
    assert (o.kv_cache, o.ctx) == ("q4_0", "auto")
    o = env.resolve_options(EngineOptions(ctx="2048", kv_cache="f16", threads_batch=1))
    assert (o.ctx, o.kv_cache, o.threads_batch) == (2048, "f16", 1)
    with pytest.raises(UsageError, match="number of tokens or auto"):
        env.resolve_options(EngineOptions(ctx="lots"))


@pytest.mark.parametrize(
    ("opts", "match"),
    [
        (EngineOptions(kv_cache="q5"), "--kv-cache must be one of f16, q8_0, q4_0"),
        (EngineOptions(ctx=32), "at least 64"),
        (EngineOptions(threads_batch=0), "--threads-batch"),
    ],
)
def test_bad_values_are_refused_before_loading(opts: EngineOptions, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        validate(opts)


# -- llama.cpp's extra CPU buffer types (weight repacking, AMX) -----------------------------


@pytest.mark.parametrize(
    ("flag", "cpuinfo", "want"),
    [
        (None, "flags\t: fpu avx2 avx512f\n", True),
        (None, "flags\t: fpu avx512f amx_bf16 amx_tile amx_int8\n", False),  # AMX: off
        ("1", "flags\t: fpu amx_tile\n", True),  # asked for anyway
        ("0", "flags\t: fpu avx2\n", False),
        ("", "flags\t: fpu avx2\n", False),
        ("no", "flags\t: fpu avx2\n", False),
        (None, OSError, True),  # no /proc: the plain default of llama.cpp
    ],
)
def test_extra_buffers_are_off_on_amx_cpus_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch, flag: str | None, cpuinfo: object, want: bool
) -> None:
    from quill.engine import hardware

    if flag is None:
        monkeypatch.delenv("QUILL_CPU_EXTRA_BUFFERS", raising=False)
    else:
        monkeypatch.setenv("QUILL_CPU_EXTRA_BUFFERS", flag)
    real = Path.read_text

    def read_text(self: Path, *a: object, **kw: object) -> str:
        if str(self) == "/proc/cpuinfo":
            if cpuinfo is OSError:
                raise OSError("no /proc")
            return str(cpuinfo)
        return real(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    assert hardware.use_extra_buffers() is want


@pytest.mark.parametrize("flag", [None, "0", "1"])
@pytest.mark.parametrize("choice", ["on", "off"])
def test_the_cpu_repack_setting_wins_over_the_cpu_and_the_old_variable(
    monkeypatch: pytest.MonkeyPatch, flag: str | None, choice: str
) -> None:
    """--cpu-repack on|off (QUILL_CPU_REPACK, config cpu_repack) is what the writer
    asked: it holds whatever the CPU reports and QUILL_CPU_EXTRA_BUFFERS says; auto
    (or unset) is the AMX rule above."""
    from quill.engine import hardware

    if flag is None:
        monkeypatch.delenv("QUILL_CPU_EXTRA_BUFFERS", raising=False)
    else:
        monkeypatch.setenv("QUILL_CPU_EXTRA_BUFFERS", flag)
    assert hardware.use_extra_buffers(choice) is (choice == "on")
    assert hardware.use_extra_buffers("auto") is hardware.use_extra_buffers(None)


def test_cpu_repack_is_a_setting(tmp_path: Path) -> None:
    from quill.env import EngineOptions, Environment

    env = Environment(environ={"QUILL_HOME": str(tmp_path), "QUILL_CPU_REPACK": "off"})
    assert env.resolve_options(EngineOptions()).cpu_repack == "off"
    assert env.resolve_options(EngineOptions(cpu_repack="on")).cpu_repack == "on"
    bad = Environment(environ={"QUILL_HOME": str(tmp_path), "QUILL_CPU_REPACK": "maybe"})
    with pytest.raises(Exception, match="auto, on, off"):
        bad.resolve_options(EngineOptions())


def _reports_amx() -> bool:
    try:
        return " amx_tile" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@pytest.mark.model
@pytest.mark.parametrize(
    "flag",
    # Where the CPU reports AMX, "1" would ask for the kernels that crash in virtual
    # machines without the tiles: there the default (unset) must keep them off.
    ["0", ""] if _reports_amx() else ["0", "1", ""],
)
def test_the_switch_reaches_llama_cpp(default_model: Path, flag: str) -> None:
    """QUILL_CPU_EXTRA_BUFFERS=1 (or unset, on a CPU without AMX) lets llama.cpp repack
    the Q4_K weights into its CPU_REPACK buffer; =0 (or unset, with AMX) keeps every
    weight in the plain mapped buffer. A child process: the repacked path may crash."""
    import os
    import subprocess
    import sys

    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
        "from quill.engine.llama import LlamaEngine\n"
        f"LlamaEngine({str(default_model)!r}, n_ctx=256).close()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **{k: v for k, v in os.environ.items() if k != "QUILL_CPU_EXTRA_BUFFERS"},
            **({"QUILL_CPU_EXTRA_BUFFERS": flag} if flag else {}),
        },
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "CPU_Mapped model buffer size" in r.stderr, r.stderr[-2000:]
    extra = flag == "1" or (flag == "" and not _reports_amx())
    assert ("CPU_REPACK model buffer size" in r.stderr) is extra, r.stderr[-2000:]


# -- the model file's pages after loading ---------------------------------------------


def test_dropping_a_mapped_file_s_pages_keeps_its_bytes(tmp_path: Path) -> None:
    """The pages leave the resident set; reading the mapping again gives the same bytes
    (they fault back in from the page cache)."""
    import mmap

    path = tmp_path / "weights.bin"
    data = bytes(range(256)) * (64 * 1024)  # 16 MiB
    path.write_bytes(data)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
        assert m[:] == data  # every page resident now
        before = memory.resident_bytes()
        assert memory.drop_mapped_pages(str(path)) >= len(data)
        assert memory.resident_bytes() <= before - len(data) // 2
        assert m[:] == data
    assert memory.drop_mapped_pages(str(tmp_path / "not-mapped.bin")) == 0
