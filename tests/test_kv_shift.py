"""When the oldest turns leave the context, the chat sends the system prefix + the later
turns + the new message: the engine keeps the cached prefix, shifts the later turns back
in the KV cache instead of evaluating them again, and reports them as cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from quill.chat.session import Chat
from quill.engine.base import Message, Sampling
from quill.engine.llama import LlamaEngine
from quill.engine.reuse import find_shift
from quill.store.db import Store

P = Sampling(temperature=0, max_tokens=12, seed=1)


def test_find_shift() -> None:
    cached = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    prompt = [1, 2, 6, 7, 8, 9, 10, 11]
    assert find_shift(cached, prompt, 2, len(prompt) - 1) == (5, 4)
    assert find_shift(cached, [1, 2, 20, 21], 2, 3) == (0, 0)
    # The longest run wins; the kept span never reaches the last prompt token.
    assert find_shift([0, 5, 6, 9, 5, 6, 7, 8], [0, 5, 6, 7, 8, 1], 1, 5) == (4, 4)
    assert find_shift([0, 9, 5, 6, 7], [0, 5, 6, 7], 1, 3) == (2, 2)


@pytest.mark.model
def test_a_removed_span_is_shifted_not_evaluated_again(llama_engine: LlamaEngine) -> None:
    e = llama_engine
    e.reset()
    msgs = [Message("system", "You are a concise assistant. Answer in one short line.")]
    for q in ["Name a colour.", "Name a fruit.", "Name an animal.", "Name a city."]:
        msgs.append(Message("user", q))
        msgs.append(Message("assistant", e.complete(msgs, P).text))
    # The two oldest exchanges leave the context; a new message comes.
    later = [msgs[0], *msgs[5:], Message("user", "Name a river.")]
    prefix = len(e.render(msgs[:1]))
    shifted = e.complete(later, P)
    s = shifted.stats
    assert s.cached_tokens > prefix + 20  # the later turns came from the cache
    assert s.evaluated_tokens < 20  # only the new message and its template
    assert shifted.text.strip() and "\ufffd" not in shifted.text
    e.reset()
    fresh = e.complete(later, P)
    assert fresh.stats.cached_tokens == 0
    assert fresh.text == shifted.text  # temperature 0: the same reply as a full evaluation


WORDS = ["colour", "fruit", "animal", "city", "river", "tree", "bird", "stone", "song"]
QUESTIONS = [f"Name a {w}, then say why in a sentence." for w in WORDS]


@pytest.mark.model
def test_the_chat_keeps_its_later_turns_when_old_ones_leave(
    default_model: Path, tmp_path: Path
) -> None:
    e = LlamaEngine(default_model, n_ctx=256)
    try:
        with Store(tmp_path / "quill.db") as store:
            chat = Chat.open(store, e, Sampling(temperature=0, max_tokens=32), name="short")
            for q in QUESTIONS:
                with chat.send(q) as ex:
                    text = "".join(ex)
                stats = ex.close().stats
                assert text.strip()
                if ex.fit.left_out and len(ex.fit.messages) > 2:  # old turns left, some stay
                    break
            else:
                pytest.fail("no turn left the view with later turns kept")
            system = len(e.render(ex.fit.messages[:1]))
            kept = len(e.render(ex.fit.messages[:-1])) - system  # the turns still in view
            assert kept > 20
            # They came from the cache (shifted): only the new message was evaluated.
            assert stats.cached_tokens >= system + kept - 10
            assert stats.evaluated_tokens < 40
    finally:
        e.close()
