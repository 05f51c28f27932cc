"""The chat core on FakeEngine: saving, journaling, stopping, retry/undo, the context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from quill.chat.session import Chat, Exchange
from quill.engine.base import Message, Sampling
from quill.engine.fake import FakeEngine
from quill.errors import ContextOverflow, UsageError
from quill.store.db import Store

PARAMS = Sampling(temperature=0, max_tokens=64)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "quill.db")
    yield s
    s.close()


def drain(ex: Exchange) -> str:
    with ex:
        return "".join(ex)


def test_send_saves_user_then_streams_and_completes(store: Store) -> None:
    engine = FakeEngine("A reply in five words.")
    chat = Chat.open(store, engine, PARAMS)
    ex = chat.send("Hello")
    # The user message is committed and the reply row exists before the first token.
    turns = chat.turns()
    assert [(t.role, t.status) for t in turns] == [("user", "complete"), ("assistant", "streaming")]
    assert drain(ex) == "A reply in five words."
    result = ex.close()
    assert result.finish == "stop" and result.text == "A reply in five words."
    turns = chat.turns()
    assert turns[-1].status == "complete" and turns[-1].content == "A reply in five words."
    assert engine.calls[0][0].role == "system"
    assert engine.calls[0][-1] == Message("user", "Hello")


def test_history_is_sent_on_the_next_turn(store: Store) -> None:
    engine = FakeEngine("ok then.")
    chat = Chat.open(store, engine, PARAMS, system="be brief")
    drain(chat.send("one"))
    drain(chat.send("two"))
    assert engine.calls[1] == [
        Message("system", "be brief"),
        Message("user", "one"),
        Message("assistant", "ok then."),
        Message("user", "two"),
    ]


def test_stop_mid_reply_keeps_the_partial_text_interrupted(store: Store) -> None:
    engine = FakeEngine("one two three four five six seven eight")
    chat = Chat.open(store, engine, PARAMS)
    ex = chat.send("count")
    it = iter(ex)
    got = [next(it), next(it)]
    ex.stop("interrupted")
    result = ex.close()
    assert result.finish == "interrupted" and result.text == "".join(got) == "one two"
    assert result.stats.generated_tokens == 2  # the engine stopped where the reader did
    last = chat.turns()[-1]
    assert last.status == "interrupted" and last.content == "one two"
    # The conversation goes on, with the partial reply in it.
    drain(chat.send("again"))
    assert engine.calls[-1][-2] == Message("assistant", "one two")


def test_an_error_while_streaming_still_closes_the_reply(store: Store) -> None:
    chat = Chat.open(store, FakeEngine("a b c d"), PARAMS)
    ex = chat.send("x")
    with pytest.raises(RuntimeError), ex:
        for i, _ in enumerate(ex):
            if i == 1:
                raise RuntimeError("boom")
    assert chat.turns()[-1].status == "interrupted"
    assert chat.turns()[-1].content == "a b"


def test_loop_is_cut_and_kept_once(store: Store) -> None:
    chat = Chat.open(store, FakeEngine(loop=True), Sampling(max_tokens=2000))
    ex = chat.send("tell me a story")
    drain(ex)
    result = ex.close()
    assert result.finish == "loop" and "repeating" in result.note
    saved = chat.turns()[-1].content
    assert saved.count("The sea was calm that night.") == 1


def test_length_note(store: Store) -> None:
    chat = Chat.open(store, FakeEngine("a b c d e f"), Sampling(max_tokens=3))
    ex = chat.send("x")
    drain(ex)
    assert ex.close().finish == "length" and "/max-tokens" in ex.close().note
    assert chat.turns()[-1].status == "complete" and chat.turns()[-1].finish == "length"


def test_retry_replaces_the_last_reply(store: Store) -> None:
    replies = iter(["first answer", "second answer"])
    engine = FakeEngine(lambda msgs: next(replies))
    chat = Chat.open(store, engine, PARAMS)
    drain(chat.send("q"))
    drain(chat.retry())
    assert [t.content for t in chat.turns()] == ["q", "second answer"]
    assert engine.calls[1][-1] == Message("user", "q")  # same request again
    everything = chat.turns(include_dropped=True)
    assert [t.content for t in everything] == ["q", "first answer", "second answer"]


def test_undo_drops_the_last_exchange(store: Store) -> None:
    chat = Chat.open(store, FakeEngine("r"), PARAMS)
    drain(chat.send("one"))
    drain(chat.send("two"))
    gone = chat.undo()
    assert [t.content for t in gone] == ["two", "r"]
    assert [t.content for t in chat.turns()] == ["one", "r"]
    chat.undo()
    with pytest.raises(UsageError):
        chat.undo()
    with pytest.raises(UsageError):
        chat.retry()


def test_session_is_created_on_first_message(store: Store) -> None:
    chat = Chat.open(store, FakeEngine("r"), PARAMS, name="novel")
    assert store.sessions() == []
    assert chat.session_name == "novel"
    drain(chat.send("hi"))
    s = store.session("novel")
    assert s is not None and len(store.turns(s.id)) == 2


def test_resume_restores_settings_and_flags_win(store: Store) -> None:
    chat = Chat.open(store, FakeEngine("r"), PARAMS, name="s")
    drain(chat.send("hi"))
    chat.set_param("temp", "0.3")
    chat.set_param("max-tokens", "99")
    s = store.session("s")
    assert s is not None
    again = Chat.open(store, FakeEngine("r"), PARAMS, session=s, flags={"max_tokens": 12})
    assert again.params.temperature == 0.3 and again.params.max_tokens == 12
    with pytest.raises(UsageError):
        again.set_param("temp", "-1")
    with pytest.raises(UsageError):
        again.set_param("top-p", "abc")
    assert again.set_param("seed", "off") is None


def test_system_prompt_is_saved_with_the_session(store: Store) -> None:
    engine = FakeEngine("r")
    chat = Chat.open(store, engine, PARAMS)
    drain(chat.send("hi"))
    chat.set_system("You are terse.")
    drain(chat.send("again"))
    assert engine.calls[-1][0] == Message("system", "You are terse.")
    assert store.session(chat.session_name).system == "You are terse."  # type: ignore[union-attr]
    chat.set_system(None)
    drain(chat.send("third"))
    assert engine.calls[-1][0].role == "user"


def test_full_context_drops_oldest_turns_with_a_notice(store: Store) -> None:
    # FakeEngine counts words (+4 per message); 200 tokens of context, 16 for the reply.
    engine = FakeEngine("short reply here.", n_ctx=200)
    chat = Chat.open(store, engine, Sampling(max_tokens=16), system="sys")
    words = " ".join(["word"] * 20)
    notices = []
    for i in range(12):
        ex = chat.send(f"message {i} {words}")
        notices.append(ex.notice)
        drain(ex)
        assert engine.count_messages(engine.calls[-1]) <= 200 - 16
        assert engine.calls[-1][0] == Message("system", "sys")  # the system prompt stays
        assert engine.calls[-1][-1].content.startswith(f"message {i} ")  # never cut
    dropped = [n for n in notices if n]
    assert dropped and "left the model's view" in dropped[0]
    # Turns leave the view in chunks, so most turns keep the cached prefix unchanged.
    assert len(dropped) < len(notices) / 2
    assert len(chat.turns()) == 24  # nothing is deleted
    b = chat.budget()
    assert b.turns_out_of_view > 0 and b.used <= 200


def test_a_message_too_long_for_the_context_is_refused_and_not_saved(store: Store) -> None:
    chat = Chat.open(store, FakeEngine("r", n_ctx=100), Sampling(max_tokens=10))
    drain(chat.send("fine"))
    with pytest.raises(ContextOverflow, match="not sent"):
        chat.send(" ".join(["long"] * 200))
    assert [t.content for t in chat.turns()] == ["fine", "r"]
    drain(chat.send("still works"))


def test_new_turns_from_another_process(store: Store, tmp_path: Path) -> None:
    chat = Chat.open(store, FakeEngine("r"), PARAMS, name="shared")
    drain(chat.send("mine"))
    assert chat.new_turns() == []
    with Store(tmp_path / "quill.db") as other:
        s = other.session("shared")
        assert s is not None
        other.add_turn(s.id, "user", "from a script")
    assert [t.content for t in chat.new_turns()] == ["from a script"]
    assert chat.new_turns() == []


def test_a_system_prompt_too_long_for_the_context_is_named(store: Store) -> None:
    chat = Chat.open(store, FakeEngine("r", n_ctx=100), Sampling(max_tokens=10))
    chat.set_system(" ".join(["rule"] * 80))
    with pytest.raises(ContextOverflow, match="system prompt takes"):
        chat.send("hi")
    chat.set_system("be brief")
    drain(chat.send("hi"))
