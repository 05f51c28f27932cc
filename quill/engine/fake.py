"""A deterministic engine for tests: no model, same input gives the same output.

``reply`` may be a fixed string, a function of the messages, or None (then the reply is
built from the last user message). A conversation that ends with an assistant message
asks for the rest of that reply (a prefill): the stream is the reply without the
prefill where the reply starts with it (the fake "model" wrote the whole piece), else
the reply as it is, as the continuation (after a space where the prefill ends in a
word). Tokens are whitespace-separated words. ``loop=True``
makes it repeat one sentence forever, like a small model stuck in repetition. ``delay``
sleeps between pieces so tests can interrupt a reply in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from quill.engine.base import (
    Message,
    ModelInfo,
    Piece,
    Result,
    Sampling,
    Stats,
    StopRequested,
    join,
)
from quill.errors import ContextOverflow

Reply = str | Callable[[list[Message]], str] | None


def _words(text: str) -> list[str]:
    """Split keeping whitespace attached, so joining the pieces gives the text back."""
    out: list[str] = []
    cur = ""
    for ch in text:
        if ch.isspace() and cur and not cur[-1].isspace():
            out.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


class FakeEngine:
    def __init__(
        self,
        reply: Reply = None,
        *,
        n_ctx: int = 4096,
        loop: bool = False,
        delay: float = 0.0,
        name: str = "fake",
        parallel: int = 1,
    ) -> None:
        self.reply = reply
        self.loop = loop
        self.delay = delay
        self.calls: list[list[Message]] = []
        self.params: list[Sampling] = []
        self.info = ModelInfo(
            name=name,
            path="<fake>",
            n_ctx=n_ctx,
            n_train_ctx=n_ctx,
            backend="fake",
            parallel=parallel,
        )

    def count(self, text: str) -> int:
        return len(text.split())

    def count_messages(self, messages: list[Message]) -> int:
        return sum(self.count(m.content) + 4 for m in messages) + 2

    def _reply_for(self, messages: list[Message]) -> str:
        if callable(self.reply):
            text = self.reply(messages)
        elif self.reply is not None:
            text = self.reply
        else:
            last = next((m.content for m in reversed(messages) if m.role == "user"), "")
            head = " ".join(last.split()[:12])
            text = f"Here is a reply about: {head}. It has a second sentence for good measure."
        prefill = messages[-1].content if messages and messages[-1].role == "assistant" else ""
        if not prefill or text.startswith(prefill):
            return text.removeprefix(prefill)
        if prefill[-1].isalnum() and text[:1].isalnum():
            return " " + text  # a word after the prefill's last word, as a model goes on
        return text

    def stream(self, messages: list[Message], params: Sampling) -> Iterator[Piece]:
        n_prompt = self.count_messages(messages)
        if n_prompt >= self.info.n_ctx:
            raise ContextOverflow(
                f"the prompt is {n_prompt} tokens; the context holds {self.info.n_ctx}"
            )
        self.calls.append(list(messages))
        self.params.append(params)
        return self._gen(messages, params, n_prompt)

    def _gen(self, messages: list[Message], params: Sampling, n_prompt: int) -> Iterator[Piece]:
        t0 = time.perf_counter()
        stats = Stats(prompt_tokens=n_prompt, evaluated_tokens=n_prompt)
        budget = min(params.max_tokens, self.info.n_ctx - n_prompt)
        if self.loop:
            intro = _words("Once upon a time there was a lighthouse keeper.")
            words = iter(intro + _words(" The sea was calm that night.") * 100_000)
        else:
            words = iter(_words(self._reply_for(messages)))
        finish = "stop"
        for word in words:
            if stats.generated_tokens >= budget:
                finish = "length" if budget >= params.max_tokens else "context"
                break
            if self.delay:
                time.sleep(self.delay)
            if stats.generated_tokens == 0:
                stats.ttft_s = time.perf_counter() - t0
            stats.generated_tokens += 1
            try:
                yield Piece(word)
            except StopRequested as stop:
                finish = stop.reason
                break
        stats.gen_s = max(time.perf_counter() - t0 - stats.ttft_s, 1e-9)
        yield Piece("", finish=finish, stats=stats)  # type: ignore[arg-type]

    def complete(self, messages: list[Message], params: Sampling) -> Result:
        return join(self.stream(messages, params))

    def close(self) -> None:
        pass
