"""Evaluated system prompts kept on disk (quill.engine.prefix): the files, their keys and
their pruning; then on the real 0.5B, a second process (a fresh engine) loads what the
first saved, evaluates only the rest of the prompt and writes the same text, and a
damaged file is ignored."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from quill.engine import prefix
from quill.engine.base import Message, Sampling
from quill.engine.factory import prefix_dir
from quill.engine.prefix import PrefixCache, shared_prefix
from quill.env import Environment


def test_shared_prefix_counts_the_leading_tokens_all_share() -> None:
    assert shared_prefix([1, 2, 3, 4], [1, 2, 9], [1, 2, 3]) == 2
    assert shared_prefix([1, 2], [1, 2, 3]) == 2
    assert shared_prefix([5], [6]) == 0
    assert shared_prefix() == 0


def test_a_file_is_named_by_its_tokens_and_every_setting_it_depends_on(tmp_path: Path) -> None:
    a = PrefixCache(tmp_path, ("model.gguf", 1, 2, "f16"))
    assert a.file([1, 2, 3]) == a.file([1, 2, 3])
    assert a.file([1, 2, 3]) != a.file([1, 2, 4])
    assert a.file([12, 3]) != a.file([1, 23])
    assert PrefixCache(tmp_path, ("model.gguf", 1, 2, "q8_0")).file([1, 2, 3]) != a.file([1, 2, 3])


def test_the_oldest_files_go_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefix, "MAX_FILES", 3)
    for i in range(5):
        f = tmp_path / f"{i}.kv"
        f.write_bytes(b"x")
        os.utime(f, (1000 + i, 1000 + i))
    PrefixCache(tmp_path, ())._prune()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.kv", "3.kv", "4.kv"]


def test_the_cli_keeps_prefixes_in_the_cache_folder_unless_told_not_to(
    make_env: Callable[..., Environment],
) -> None:
    env = make_env()
    assert prefix_dir(env) == env.paths.cache_dir / "prefixes"
    assert prefix_dir(make_env(environ={"QUILL_PREFIX_CACHE": "off"})) is None


# -- the real model -------------------------------------------------------------------

SYSTEM = (
    "You are a careful editor. You answer briefly and plainly, in complete sentences, "
    "without lists, headings or preambles, and you never invent facts that the writer "
    "did not give you."
)


@pytest.mark.model
def test_a_second_process_loads_the_system_prompt_and_writes_the_same(
    default_model: Path, tmp_path: Path
) -> None:
    from quill.engine.llama import LlamaEngine

    ask = [Message("system", SYSTEM), Message("user", "Name one colour of the sea.")]
    p = Sampling(temperature=0, seed=0, max_tokens=16)
    runs = []
    for _ in range(2):
        engine = LlamaEngine(default_model, n_ctx=1024, prefix_dir=tmp_path)
        try:
            runs.append(engine.complete(ask, p))
        finally:
            engine.close()
    (saved,) = tmp_path.glob("*.kv")
    first, second = runs
    assert first.stats.evaluated_tokens == first.stats.prompt_tokens
    assert second.stats.evaluated_tokens < second.stats.prompt_tokens - prefix.MIN_TOKENS
    assert second.text == first.text and second.text.strip()

    saved.write_bytes(saved.read_bytes()[:200])  # damaged: ignored, evaluated again
    engine = LlamaEngine(default_model, n_ctx=1024, prefix_dir=tmp_path)
    try:
        third = engine.complete(ask, p)
    finally:
        engine.close()
    assert third.stats.evaluated_tokens == third.stats.prompt_tokens
    assert third.text == first.text


def test_a_file_is_used_only_whole_and_for_its_own_tokens() -> None:
    packed = prefix._pack([7, 8, 9], b"state")
    assert prefix._unpack(packed, [7, 8, 9]) == b"state"
    assert prefix._unpack(packed, [7, 8]) is None
    assert prefix._unpack(packed[:-1], [7, 8, 9]) is None  # cut short
    flipped = packed[:-2] + bytes([packed[-2] ^ 1]) + packed[-1:]
    assert prefix._unpack(flipped, [7, 8, 9]) is None
    assert prefix._unpack(b"not a prefix file", [7]) is None
