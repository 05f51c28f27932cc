"""Signals during prompt evaluation: Ctrl-C / SIGTERM reach llama.cpp through its abort
callback, so a long prompt stops within one graph node (not a whole 512-token batch),
the stream ends "interrupted", the KV cache keeps only what was evaluated before, and
the engine stays usable. Also the "context" finish (the context window filled up)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run

from quill.chat.export import status_mark
from quill.engine.base import Message, Result, Sampling
from quill.engine.fake import FakeEngine
from quill.engine.generation import finish_note, generate
from quill.signals import ABORT, SignalFlag

# -- the flag ----------------------------------------------------------------------------


def test_a_signal_raises_the_abort_flag_only_inside_a_signal_flag() -> None:
    assert ABORT.listening == 0 and not ABORT.raised
    with SignalFlag() as flag:
        assert ABORT.listening == 1
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler runs at the next bytecode boundary
        assert flag.raised and ABORT.raised
    assert ABORT.listening == 0 and not ABORT.raised


def test_a_second_signal_while_the_engine_is_abortable_does_not_raise() -> None:
    """Inside llama.cpp's abort callback an exception would be lost (ctypes can only
    print it): the second signal just keeps the flag up, SIGTERM winning."""
    with SignalFlag() as flag:
        ABORT.armed = True
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        finally:
            ABORT.armed = False
        assert flag.signum == signal.SIGTERM
    with pytest.raises(KeyboardInterrupt), SignalFlag():  # not armed: at once, as before
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)


# -- "context": the context window filled up ---------------------------------------------


def _run(engine: object, messages: list[Message], params: Sampling) -> Result:
    gen = generate(engine, messages, params)  # type: ignore[arg-type]
    gen.text()
    return gen.close()


def test_fake_engine_reports_a_full_context_apart_from_max_tokens() -> None:
    words = " ".join(f"w{i}" for i in range(500))
    engine = FakeEngine(words, n_ctx=60)
    r = _run(engine, [Message("user", "hello")], Sampling(max_tokens=1000))
    assert r.finish == "context"
    assert "--ctx" in r.note and "--max-tokens" not in r.note
    r = _run(engine, [Message("user", "hello")], Sampling(max_tokens=10))
    assert r.finish == "length" and "--max-tokens" in r.note


def test_finish_notes_differ_for_length_and_context() -> None:
    length = finish_note("length", 200, what="draft")
    context = finish_note("context", 200, what="draft")
    assert "200" in length and "--max-tokens" in length
    assert "context" in context and "--ctx" in context and "--max-tokens" not in context


def test_draft_cut_by_the_context_says_so(cli: Callable[..., Run]) -> None:
    words = " ".join(f"w{i}" for i in range(500))
    r = cli(["draft", "a brief"], engine=FakeEngine(words, n_ctx=80))
    assert r.exit_code == 0
    assert "--ctx" in r.stderr and "raise --max-tokens" not in r.stderr
    drafts = cli(["drafts", "list"], engine=FakeEngine())
    assert "context" in drafts.stdout


def test_chat_status_mark_for_a_full_context() -> None:
    class T:
        status = "complete"
        finish = "context"

    assert "context" in status_mark(T())  # type: ignore[arg-type]
    T.finish = "length"
    assert "token limit" in status_mark(T())  # type: ignore[arg-type]


# -- the real model: in process -----------------------------------------------------------


def _long_text(words: int = 2600) -> str:
    import random

    rng = random.Random(7)
    vocab = [
        *("the", "river", "town", "market", "bridge", "lantern", "harbor", "winter"),
        *("morning", "letter", "garden", "window", "quiet", "ferry", "station", "keeper"),
    ]
    paras = []
    for _ in range(words // 22):
        paras.append(" ".join(rng.choice(vocab) for _ in range(22)).capitalize() + ".")
    return "\n\n".join(paras)


class Batches:
    """llama_decode wrapped: the time each prompt batch took, and an event set when the
    second one begins (the first one's time is known; evaluation is under way)."""

    def __init__(self, real: Callable[..., int]) -> None:
        self.real = real
        self.took: list[float] = []
        self.codes: list[int] = []
        self.second = threading.Event()

    def __call__(self, ctx: object, batch: object) -> int:
        n = int(batch.n_tokens)  # type: ignore[attr-defined]
        if n > 1 and len(self.took) == 1:
            self.second.set()
        t0 = time.perf_counter()
        rc = int(self.real(ctx, batch))
        if n > 1:
            self.took.append(time.perf_counter() - t0)
            self.codes.append(rc)
        return rc


@pytest.mark.model
def test_prompt_evaluation_stops_within_a_node_and_the_engine_stays_usable(
    llama_engine: object, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quill.engine.llama import LlamaEngine
    from quill.engine.tokens import import_llama_cpp

    llama_cpp = import_llama_cpp()  # the bindings quill calls
    caplog.set_level(logging.ERROR, logger="quill.llama")  # what a writer sees

    engine = llama_engine
    assert isinstance(engine, LlamaEngine)
    engine.reset()
    params = Sampling(temperature=0, seed=1, max_tokens=8)
    long = [Message("user", "Summarize:\n\n" + _long_text())]
    n_prompt = engine.count_messages(long)
    assert n_prompt > 4 * 512
    batches = Batches(llama_cpp.llama_decode)
    monkeypatch.setattr(llama_cpp, "llama_decode", batches)
    sent: list[float] = []

    def interrupt() -> None:
        if batches.second.wait(300):  # the first batch is done, the second under way
            sent.append(time.perf_counter())
            os.kill(os.getpid(), signal.SIGINT)

    # A signal landing after the SignalFlag (it cannot, but if it did) is recorded here
    # instead of stopping the test session.
    late: list[int] = []
    saved = signal.signal(signal.SIGINT, lambda signum, frame: late.append(signum))
    try:
        sender = threading.Thread(target=interrupt)
        with SignalFlag() as flag:
            sender.start()
            r = _run(engine, long, params)
            ended = time.perf_counter()
        sender.join()
    finally:
        signal.signal(signal.SIGINT, saved)
    monkeypatch.undo()
    assert sent and not late, "the signal was not sent during the prompt evaluation"
    assert flag.signum == signal.SIGINT
    assert r.finish == "interrupted" and r.text == ""
    first, stopped = batches.took[0], ended - sent[0]
    print(
        f"in process: stopped {stopped * 1000:.0f} ms after the signal; a batch takes {first:.2f} s"
    )
    # Within a graph node: the aborted batch ended before a whole batch's time.
    assert batches.codes[-1] == 2 and stopped < first, (stopped, first)
    assert len(engine._tokens) == 512  # the first batch only: the aborted one was dropped
    # llama.cpp logs the abort as errors; a stop the writer asked for is not shown as one.
    assert not [r for r in caplog.records if r.name == "quill.llama"], caplog.text

    short = [Message("user", "Say hello in three words.")]
    after = _run(engine, short, params)
    engine.reset()
    fresh = _run(engine, short, params)
    assert after.finish == fresh.finish and after.text == fresh.text and after.text.strip()
    engine.reset()


@pytest.mark.model
def test_without_a_signal_flag_no_abort_callback_is_installed(llama_engine: object) -> None:
    from quill.engine.llama import LlamaEngine

    engine = llama_engine
    assert isinstance(engine, LlamaEngine)
    ABORT.raised = True  # a stale flag must not stop work outside a SignalFlag
    try:
        r = _run(engine, [Message("user", "Say hi.")], Sampling(temperature=0, max_tokens=4))
        assert r.finish in ("stop", "length")
    finally:
        ABORT.raised = False


# -- the real model: a quill process -------------------------------------------------------


# A quill process whose llama_decode reports on stderr when the second batch of a prompt
# begins (the first one's time known) and how long an aborted batch ran.
MARKED_QUILL = """
import sys, time
from quill.engine.tokens import import_llama_cpp
llama_cpp = import_llama_cpp()  # the bindings quill calls (not the whole package)
real, took = llama_cpp.llama_decode, []
def decode(ctx, batch):
    n, t0 = batch.n_tokens, time.perf_counter()
    if n > 1 and len(took) == 1:
        print(f"test: second batch begins; first took {took[0]:.3f} s", file=sys.stderr, flush=True)
    rc = real(ctx, batch)
    if n > 1:
        took.append(time.perf_counter() - t0)
        if rc == 2:
            print(f"test: batch aborted after {took[-1]:.3f} s", file=sys.stderr, flush=True)
    return rc
llama_cpp.llama_decode = decode
import runpy
runpy.run_module("quill", run_name="__main__", alter_sys=True)
"""


def _signal_during_prompt(
    tmp_path: Path, real_env: dict[str, str], sig: int, command: str = "draft"
) -> tuple[int, float, float, str]:
    """Start `quill draft` on a ~3,000-token stdin (or `quill summarize` on that file),
    send ``sig`` once the second batch of the prompt is being evaluated; (exit code,
    seconds from signal to exit, seconds the first batch took, stderr)."""
    material = tmp_path / "material.txt"
    material.write_text(_long_text())
    env = {**os.environ, **real_env}
    args = (
        ["draft", "a summary of these notes", "--max-tokens", "8"]
        if command == "draft"
        else ["summarize", str(material)]
    )
    with material.open("rb") as stdin:
        p = subprocess.Popen(
            [sys.executable, "-c", MARKED_QUILL, *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    second = threading.Event()
    first: list[float] = []
    err: list[bytes] = []

    def read_stderr() -> None:
        assert p.stderr is not None
        for line in p.stderr:
            err.append(line)
            if line.startswith(b"test: second batch begins"):
                first.append(float(line.split()[-2]))
                second.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    deadline = time.monotonic() + 600
    while not second.wait(0.5):
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            reader.join(10)
            pytest.fail(
                "the prompt evaluation did not reach its second batch:\n"
                + b"".join(err).decode("utf-8", "replace")[-2000:]
            )
    p.send_signal(sig)
    t_sig = time.perf_counter()
    if p.stdout:
        p.stdout.read()
    code = p.wait(timeout=600)
    elapsed = time.perf_counter() - t_sig
    reader.join(60)
    return code, elapsed, first[0], b"".join(err).decode("utf-8", "replace")


@pytest.mark.model
@pytest.mark.parametrize(
    ("command", "sig", "code"),
    [
        ("draft", signal.SIGINT, 130),
        ("draft", signal.SIGTERM, 143),
        ("summarize", signal.SIGINT, 130),
    ],
)
def test_a_signal_during_prompt_evaluation_ends_quill_at_once(
    tmp_path: Path, real_env: dict[str, str], quill_home: Path, command: str, sig: int, code: int
) -> None:
    got, elapsed, first, err = _signal_during_prompt(tmp_path, real_env, sig, command)
    assert got == code, err[-2000:]
    print(
        f"signal {sig}: quill ended {elapsed * 1000:.0f} ms after it; a batch takes {first:.2f} s"
    )
    # The batch under way was cut short (within a graph node), and quill ended before
    # one more batch could have been evaluated, let alone the rest of the prompt.
    aborted = [ln for ln in err.splitlines() if ln.startswith("test: batch aborted after")]
    assert len(aborted) == 1, err[-2000:]
    assert float(aborted[0].split()[-2]) < first, aborted[0]
    assert elapsed < 2 * first, f"quill took {elapsed:.2f} s to end; a batch takes {first:.2f} s"
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "interrupted" in err
    from quill.store.db import Store

    with Store(quill_home / "data" / "quill.db") as s:
        v = s.draft_version(1)
        assert v is not None and v.status == "interrupted"


@pytest.mark.model
def test_the_real_engine_reports_a_full_context(default_model: Path) -> None:
    from quill.engine.llama import LlamaEngine

    engine = LlamaEngine(default_model, n_ctx=256)  # llama.cpp pads to 256 anyway
    try:
        notes = ""
        ask: list[Message] = []
        while not ask or engine.info.n_ctx - engine.count_messages(ask) > 24:
            notes += "The keeper climbs the stairs at dusk. "
            ask = [Message("user", f"Notes: {notes}\nWrite a very long story from these.")]
        room = engine.info.n_ctx - engine.count_messages(ask)
        assert 0 < room <= 24
        r = _run(engine, ask, Sampling(temperature=0, seed=1, max_tokens=500))
        assert r.finish == "context", r.text
        assert r.stats.generated_tokens == room
        assert "--ctx" in r.note and "--max-tokens" not in r.note
        r = _run(engine, ask, Sampling(temperature=0, seed=1, max_tokens=5))
        assert r.finish == "length" and "--max-tokens" in r.note
    finally:
        engine.close()
