"""The chat on the real default model: the KV cache carries over between turns."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from quill.chat.session import Chat
from quill.engine.base import Sampling
from quill.store.db import Store

pytestmark = pytest.mark.model

PARAMS = Sampling(temperature=0, max_tokens=16)


@pytest.fixture
def chat(llama_engine: object, tmp_path: Path) -> Iterator[Chat]:
    with Store(tmp_path / "quill.db") as store:
        yield Chat.open(store, llama_engine, PARAMS, name="real")  # type: ignore[arg-type]


def test_each_turn_evaluates_only_its_new_tokens(chat: Chat) -> None:
    messages = ["Name a colour.", "Name a fruit.", "Name an animal.", "Name a city."]
    stats = []
    for m in messages:
        with chat.send(m) as ex:
            text = "".join(ex)
        assert text.strip()
        stats.append(ex.close().stats)
    for prev, s in itertools.pairwise(stats):
        # Everything up to the end of the previous reply comes from the cache.
        assert s.cached_tokens >= prev.prompt_tokens + prev.generated_tokens - 2
        assert s.evaluated_tokens < 30  # the new message and the template around it
    assert stats[-1].prompt_tokens > stats[0].prompt_tokens + 40


def test_an_interrupted_reply_leaves_the_cache_usable(chat: Chat) -> None:
    with chat.send("Write a long story about a lighthouse.") as ex:
        it = iter(ex)
        for _ in range(5):
            next(it)
        ex.stop("interrupted")
        first = ex.close()
    assert first.finish == "interrupted" and first.text
    assert chat.turns()[-1].status == "interrupted"
    with chat.send("Now say only: done.") as ex:
        text = "".join(ex)
    s = ex.close().stats
    assert text.strip() and "\ufffd" not in text
    # The partial reply was reused token for token: only the new turn was evaluated.
    assert s.evaluated_tokens < 30
    assert s.cached_tokens >= first.stats.prompt_tokens


def test_retry_reuses_the_prompt(chat: Chat) -> None:
    with chat.send("Name a planet.") as ex:
        a = "".join(ex)
    with chat.retry() as ex:
        b = "".join(ex)
    s = ex.close().stats
    assert a == b  # temperature 0
    assert s.evaluated_tokens <= 1  # the same prompt again: all of it is cached
