"""The engine contract: what every backend (in-process llama.cpp, HTTP, fake) provides.

Engines never print: they return or yield. ``stream`` yields text pieces as they are
decoded and ends with one piece that carries ``finish`` and ``stats``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]
# "length": --max-tokens reached; "context": the context window filled up first.
Finish = Literal["stop", "length", "context", "loop", "interrupted"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Sampling:
    """Sampling settings. ``temperature == 0`` means greedy (deterministic)."""

    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64
    seed: int | None = None
    max_tokens: int = 1024
    grammar: str | None = None  # GBNF text (root rule `root`) the output must match
    # Prompt-lookup decoding: draft up to this many tokens copied from the context and
    # verify them in one decode (the output is the same); 0 = off, None = the engine's
    # default. Engines without it ignore it.
    lookup: int | None = None
    # The DRY sampler's multiplier (0 = off): a token that would extend a run of tokens
    # the reply already wrote is penalized, more the longer the run, so a reply cannot
    # loop over its own sentences. Checked results' retries turn it on
    # (quill.writing.retry). Engines without it ignore it.
    dry: float = 0.0
    # Prose only: no line of the reply may begin as a list item, heading, table row,
    # quote or code fence (the llama engine rules out the tokens that would start one).
    # Paragraph summaries set it: a small model asked for prose answers with a list.
    prose: bool = False
    # The length the reply is asked for, in words (0 = none; Chinese and Japanese
    # characters count at 1.7 to the word, quill.engine.length): past it, the end of the
    # reply is pushed up a little more with every word, so the model ends at its next
    # natural end instead of writing on to the token limit. Counted in words, not
    # tokens, so that a length means the same for every tokenizer and language. Engines
    # without it ignore it.
    end_after: int = 0
    # The reply may not end before this many words (0 = no floor): every
    # end-of-generation token is ruled out until then, so a summary asked for 200 words
    # does not stop at 70. Engines without it ignore it.
    min_words: int = 0
    # A reply in Chinese or Japanese: after a CJK character, no word may begin in small
    # Latin letters unless the prompt has it (the 1.5B wrote "在使用 kitchen faucet时"
    # and "最好的 regards" into Chinese letters); names in capitals, numbers and the
    # prompt's own terms ("llama.cpp") stay free. Engines without it ignore it.
    native: bool = False
    # The words in small Latin letters a native reply may still begin, as text; None:
    # the prompt's. A translation's prompt holds the source, whose every word would be
    # free: "最 productive的时间" in an English text's Chinese translation.
    native_words: str | None = None
    # Words the reply may not begin with (its first token's text, spaces aside, is one of
    # them or one followed by a mark): "Sure", "Certainly" open talk about the request,
    # not a piece ("Sure! Below is a meeting agenda…"). Only where no prefill leads it.
    # Engines without it ignore it.
    not_first: tuple[str, ...] = ()

    def with_(self, **changes: object) -> Sampling:
        clean = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **clean)  # type: ignore[arg-type]


@dataclass
class Stats:
    prompt_tokens: int = 0  # tokens of the whole prompt
    evaluated_tokens: int = 0  # prompt tokens actually evaluated (the rest came from cache)
    generated_tokens: int = 0
    ttft_s: float = 0.0  # request start -> first generated token
    prompt_s: float = 0.0  # time spent evaluating the prompt
    gen_s: float = 0.0  # first token -> last token
    drafted_tokens: int = 0  # prompt lookup: tokens drafted and verified
    accepted_tokens: int = 0  # prompt lookup: drafted tokens the model kept

    @property
    def cached_tokens(self) -> int:
        return self.prompt_tokens - self.evaluated_tokens

    @property
    def tokens_per_s(self) -> float:
        # The first token's time belongs to the prompt; rate is over the rest.
        n = self.generated_tokens - 1
        return n / self.gen_s if n > 0 and self.gen_s > 0 else 0.0

    @property
    def prompt_tokens_per_s(self) -> float:
        return self.evaluated_tokens / self.prompt_s if self.prompt_s > 0 else 0.0

    def summary(self) -> str:
        return (
            f"prompt {self.prompt_tokens} tok ({self.cached_tokens} cached), "
            f"generated {self.generated_tokens} tok, "
            f"first token {self.ttft_s * 1000:.0f} ms, {self.tokens_per_s:.1f} tok/s"
        )


class StopRequested(Exception):
    """Thrown into an engine stream to end it early; the stream then yields its final
    piece with ``finish`` set to the reason ("loop", "interrupted") and its stats."""

    def __init__(self, reason: str = "interrupted") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Piece:
    text: str
    finish: Finish | None = None
    stats: Stats | None = None
    note: str = ""  # on the final piece: what a stream filter changed (e.g. a trimmed tail)


@dataclass
class Result:
    text: str
    finish: Finish
    stats: Stats = field(default_factory=Stats)
    note: str = ""  # e.g. why generation stopped early
    signal: int = 0  # 2 (SIGINT) or 15 (SIGTERM) when a signal ended it

    @property
    def exit_code(self) -> int:
        return 128 + self.signal if self.signal else 0


@dataclass
class ModelInfo:
    name: str
    path: str
    n_ctx: int
    n_train_ctx: int
    n_layers: int = 0
    gpu_layers: int = 0
    gpu_offload: bool = False
    threads: int = 0
    flash_attn: str = "auto"
    chat_template: bool = True
    backend: str = "llama.cpp"
    parallel: int = 1  # requests the backend can serve at once (in process: 1)
    n_params: int = 0  # the model's parameters, where the backend says (else 0)


@runtime_checkable
class Engine(Protocol):
    info: ModelInfo

    def count(self, text: str) -> int: ...

    def count_messages(self, messages: list[Message]) -> int: ...

    def stream(self, messages: list[Message], params: Sampling) -> Iterator[Piece]: ...

    def complete(self, messages: list[Message], params: Sampling) -> Result: ...

    def close(self) -> None: ...


def join(pieces: Iterator[Piece]) -> Result:
    """Drain a stream into a Result (the shared body of ``Engine.complete``)."""
    parts: list[str] = []
    finish: Finish = "stop"
    stats = Stats()
    for p in pieces:
        parts.append(p.text)
        if p.finish is not None:
            finish = p.finish
        if p.stats is not None:
            stats = p.stats
    return Result("".join(parts), finish, stats)
