"""Small GGUF model files for the hardening tests, written with the ``gguf`` package: a
tiny llama-shaped model (random F32 weights, a real vocabulary taken from one of
llama.cpp's vocabulary-only GGUFs) that llama.cpp loads in well under a second, and
damaged or hostile variants of it."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any


def tiny_model(
    vocab: Path,
    out: Path,
    *,
    name: str = "tiny",
    duplicate_token: bool = False,
    n_embd: int = 32,
    n_ff: int = 64,
    n_head: int = 2,
) -> Path:
    """A one-layer llama model over ``vocab``'s tokenizer. ``duplicate_token``: two
    vocabulary entries share one text (llama.cpp asserts on that and aborts)."""
    import gguf
    import numpy as np
    from gguf import GGUFReader, GGUFValueType, GGUFWriter

    r = GGUFReader(str(vocab))
    w = GGUFWriter(str(out), "llama")
    w.add_name(name)
    w.add_block_count(1)
    w.add_context_length(256)
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    n_vocab = 0
    adders: dict[Any, Any] = {
        GGUFValueType.STRING: w.add_string,
        GGUFValueType.UINT32: w.add_uint32,
        GGUFValueType.INT32: w.add_int32,
        GGUFValueType.BOOL: w.add_bool,
        GGUFValueType.FLOAT32: w.add_float32,
    }
    for key, field in r.fields.items():
        if not key.startswith("tokenizer."):
            continue
        value = field.contents()
        kind = field.types[0]
        if kind == GGUFValueType.ARRAY:
            value = list(value)
            if key == "tokenizer.ggml.tokens":
                n_vocab = len(value)
                if duplicate_token:
                    value[300] = value[301]
            w.add_array(key, value)
        elif kind in adders:
            adders[kind](key, value)
    rng = np.random.default_rng(0)

    def rand(*shape: int) -> Any:
        return rng.standard_normal(shape, dtype=np.float32) * 0.02

    ones = np.ones(n_embd, dtype=np.float32)
    w.add_tensor("token_embd.weight", rand(n_vocab, n_embd))
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", rand(n_vocab, n_embd))
    w.add_tensor("blk.0.attn_norm.weight", ones)
    for t in ("attn_q", "attn_k", "attn_v", "attn_output"):
        w.add_tensor(f"blk.0.{t}.weight", rand(n_embd, n_embd))
    w.add_tensor("blk.0.ffn_norm.weight", ones)
    w.add_tensor("blk.0.ffn_gate.weight", rand(n_ff, n_embd))
    w.add_tensor("blk.0.ffn_up.weight", rand(n_ff, n_embd))
    w.add_tensor("blk.0.ffn_down.weight", rand(n_embd, n_ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def patched(src: Path, out: Path, offset: int, fmt: str, value: int) -> Path:
    """A copy of ``src`` with one header field overwritten."""
    data = bytearray(src.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    out.write_bytes(bytes(data))
    return out


# Offsets in a GGUF header: magic (4), version (u32), tensor count (u64), kv count (u64),
# then the first key: its length (u64) and bytes.
VERSION_AT, N_TENSORS_AT, N_KV_AT, FIRST_KEY_LEN_AT = 4, 8, 16, 24


def nested_arrays(out: Path, depth: int) -> Path:
    """A GGUF header whose one metadata value is an array of arrays ``depth`` deep."""
    key = b"general.nested"
    body = struct.pack("<4sIQQ", b"GGUF", 3, 0, 1) + struct.pack("<Q", len(key)) + key
    body += struct.pack("<I", 9)  # the value is an array
    for _ in range(depth):
        body += struct.pack("<IQ", 9, 1)  # of one array…
    body += struct.pack("<IQ", 4, 0)  # …of no u32
    out.write_bytes(body + b"\0" * 64)
    return out
