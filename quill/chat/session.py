"""A conversation over an Engine, kept in the Store. No terminal code here.

``Chat.send(text)`` fits the conversation to the context, saves the user message,
inserts the reply as 'streaming' and returns an ``Exchange``: iterate it for the reply's
text pieces (each journaled as it comes), ``stop()`` it to end early, ``close()`` it to
mark the reply complete or interrupted and get the ``Result``.

Context: the messages sent each turn are the system prompt plus the turns from
``view_start`` on. The engine keeps the KV cache of the last prompt, so a new turn only
evaluates its new tokens as long as that prefix stays the same. When a turn would not
fit, the oldest exchanges leave the view, and a little more than needed (``SLACK``) so
the next few turns keep a stable prefix instead of shifting it every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from quill.engine.base import Engine, Finish, Message, Piece, Result, Sampling, Stats
from quill.engine.generation import Generation
from quill.errors import ContextOverflow, UsageError
from quill.store.db import ReplyJournal, Session, Store, Turn
from quill.writing.presets import validate

DEFAULT_SYSTEM = (
    "You are quill, a writing companion in a terminal. Help the writer draft, revise and "
    "think. Use Markdown where structure helps. Be concise unless asked for more."
)
DEFAULT_MAX_TOKENS = 1024
SLACK = 0.2  # share of the context freed beyond the need when old turns leave the view

# Sampling settings a chat may change (/temp, /top-p…): name -> (Sampling field, type).
SETTINGS: dict[str, tuple[str, type]] = {
    "temp": ("temperature", float),
    "temperature": ("temperature", float),
    "top-p": ("top_p", float),
    "top-k": ("top_k", int),
    "min-p": ("min_p", float),
    "repeat-penalty": ("repeat_penalty", float),
    "max-tokens": ("max_tokens", int),
    "seed": ("seed", int),
}


@dataclass
class Fit:
    messages: list[Message]
    tokens: int
    left_out: int = 0  # turns that left the view for this request
    left_out_tokens: int = 0


@dataclass
class Budget:
    n_ctx: int
    system: int
    history: int
    turns_in_view: int
    turns_out_of_view: int
    reserve: int

    @property
    def used(self) -> int:
        return self.system + self.history

    @property
    def free(self) -> int:
        return max(self.n_ctx - self.used - self.reserve, 0)


def _close(raw: Iterator[Piece]) -> None:
    close = getattr(raw, "close", None)
    if close is not None:
        close()


class Exchange:
    """One reply being generated: a Generation journaled as an assistant turn. Iterate
    for text; always ``close()`` (or use ``with``)."""

    def __init__(
        self,
        chat: Chat,
        user_turn: Turn,
        fit: Fit,
        raw: Iterator[Piece],
        reply: Turn | None = None,
    ) -> None:
        self.chat = chat
        self.user_turn = user_turn
        self.fit = fit
        self.params = chat.params
        self.journal = ReplyJournal(
            chat.store, user_turn.session_id, model=chat.engine.info.name, turn=reply
        )
        self.gen = Generation(
            raw,
            chat.params,
            listeners=[self.journal],
            what="reply",
            limit_hint="/max-tokens N for more",
        )
        self.result: Result | None = None

    @property
    def finish(self) -> Finish | None:
        return self.gen.finish

    @property
    def stats(self) -> Stats | None:
        return self.gen.stats

    @property
    def notice(self) -> str:
        if not self.fit.left_out:
            return ""
        n = self.fit.left_out
        return (
            f"context full: the {n} oldest turn{'s' if n != 1 else ''} "
            f"({self.fit.left_out_tokens} tokens) left the model's view; they stay in the "
            "session (/history)"
        )

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[str]:
        return iter(self.gen)

    def stop(self, reason: str = "interrupted") -> None:
        """End generation now (the engine stops cleanly and reports its stats)."""
        self.gen.stop(reason)

    def close(self) -> Result:
        """Mark the reply complete or interrupted in the store; idempotent."""
        if self.result is None:
            self.result = self.gen.close()
            stats = self.result.stats
            if stats.prompt_tokens:
                self.chat.used_tokens = stats.prompt_tokens + stats.generated_tokens
        return self.result


@dataclass
class Chat:
    store: Store
    engine: Engine
    params: Sampling
    session: Session | None = None
    name: str | None = None  # the name a session created on first send gets
    named: bool = False  # the writer chose the name (else: -2, -3… if it gets taken)
    system_default: str | None = DEFAULT_SYSTEM
    view_start: int = 0  # id of the oldest turn the model sees
    used_tokens: int = 0
    seen_turn_id: int = 0  # the newest turn this chat has shown or sent
    _base: dict[str, Any] = field(default_factory=dict)

    # -- session ----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        store: Store,
        engine: Engine,
        params: Sampling,
        *,
        session: Session | None = None,
        name: str | None = None,
        system: str | None = None,
        flags: dict[str, Any] | None = None,
    ) -> Chat:
        """A chat on ``session`` (or one created on first send, called ``name``).

        Sampling: ``params`` < the session's saved settings < ``flags`` set on the
        command line. ``system`` replaces the session's system prompt.
        """
        chat = cls(store, engine, params, session=session)
        if session is None:
            chat.new_session(name)
        chat._base = params.__dict__.copy()
        if session is not None:
            saved = {k: v for k, v in session.settings.items() if k in chat._base}
            over = {k: v for k, v in (flags or {}).items() if v is not None}
            chat.params = params.with_(**{**saved, **over})
            validate(chat.params)
            if system is not None:
                chat.set_system(system)
            turns = store.turns(session.id)
            chat.seen_turn_id = turns[-1].id if turns else 0
        elif system is not None:
            chat.system_default = system
        return chat

    @property
    def session_name(self) -> str:
        if self.session is not None:
            return self.session.name
        return self.name or "chat"

    @property
    def system(self) -> str | None:
        if self.session is not None:
            return self.session.system
        return self.system_default

    def ensure_session(self) -> Session:
        if self.session is None:
            self.session = self.store.create_session(
                self.name,
                system=self.system_default,
                model=self.engine.info.name,
                unique=not self.named,
            )
            changed = {k: v for k, v in self.params.__dict__.items() if self._base.get(k, v) != v}
            if changed:
                self.store.update_session(self.session.id, settings=changed)
        return self.session

    def new_session(self, name: str | None = None) -> None:
        """Start over: the next message opens a new session (same settings)."""
        self.session = None
        self.named = name is not None
        self.name = name or self.store.free_name()
        self.view_start = 0
        self.used_tokens = 0
        self.seen_turn_id = 0

    def set_system(self, text: str | None) -> None:
        text = text.strip() if text else None
        if self.session is None:
            self.system_default = text
        else:
            self.store.update_session(self.session.id, system=text, clear_system=text is None)
            self.session.system = text

    def set_param(self, name: str, value: str) -> Any:
        """Change one sampling setting (``/temp 0.3``); saved with the session."""
        key = SETTINGS.get(name)
        if key is None:
            raise UsageError(f"unknown setting `{name}`", hint="one of: " + ", ".join(SETTINGS))
        field_name, kind = key
        parsed: Any
        if field_name == "seed" and value.lower() in ("off", "none", "random"):
            parsed = None
        else:
            try:
                parsed = kind(value)
            except ValueError:
                raise UsageError(f"`{value}` is not a {kind.__name__}") from None
        params = Sampling(**{**self.params.__dict__, field_name: parsed})
        validate(params)
        self.params = params
        if self.session is not None:
            settings = dict(self.session.settings)
            settings[field_name] = parsed
            self.session.settings = settings
            self.store.update_session(self.session.id, settings=settings)
        return parsed

    def set_engine(self, engine: Engine) -> None:
        self.engine = engine
        self.view_start = 0
        self.used_tokens = 0
        if self.session is not None:
            self.store.update_session(self.session.id, model=engine.info.name)

    # -- turns ------------------------------------------------------------------

    def turns(self, *, include_dropped: bool = False) -> list[Turn]:
        if self.session is None:
            return []
        return self.store.turns(self.session.id, include_dropped=include_dropped)

    def new_turns(self) -> list[Turn]:
        """Turns another process added since this chat last looked (a script's message)."""
        fresh = [t for t in self.turns() if t.id > self.seen_turn_id]
        if fresh:
            self.seen_turn_id = fresh[-1].id
        return fresh

    def _messages(self, turns: list[Turn]) -> list[Message]:
        out: list[Message] = []
        if self.system:
            out.append(Message("system", self.system))
        for t in turns:
            if t.role in ("user", "assistant"):
                out.append(Message(t.role, t.content))  # type: ignore[arg-type]
        return out

    @property
    def reserve(self) -> int:
        """Tokens kept free for the reply: max-tokens, at most a quarter of the context."""
        return max(1, min(self.params.max_tokens, self.engine.info.n_ctx // 4))

    def fit(self, turns: list[Turn]) -> Fit:
        """The messages for a request whose last turn is the new user message.

        Oldest exchanges leave the view until the prompt fits beside the reply budget;
        the new message is never cut: if it does not fit alone, ContextOverflow.
        """
        n_ctx = self.engine.info.n_ctx
        limit = n_ctx - self.reserve
        count = self.engine.count_messages
        last = turns[-1:]
        alone = count(self._messages(last))
        if alone > limit:
            system = count(self._messages([])) if self.system else 0
            if system > alone - system:  # the system prompt is the bulk of it
                raise ContextOverflow(
                    f"the system prompt takes {system} tokens, too much of the context "
                    f"({n_ctx}, of which {self.reserve} stay free for the reply); "
                    "the message was not sent",
                    hint="shorten it with /system TEXT, or start quill chat with a larger --ctx",
                )
            raise ContextOverflow(
                f"the message is too long for the context: with the system prompt it takes "
                f"{alone} tokens, and {self.reserve} more must stay free for the reply "
                f"({n_ctx} in all); it was not sent",
                hint="shorten it or split it, lower /max-tokens, or start quill chat with "
                "a larger --ctx",
            )
        history = [t for t in turns[:-1] if t.id >= self.view_start]
        messages = self._messages([*history, *last])
        tokens = count(messages)
        if tokens <= limit:
            return Fit(messages, tokens)
        target = max(limit - int(n_ctx * SLACK), alone)
        before = tokens
        dropped = 0
        while history and tokens > target:
            # Drop one exchange: the oldest turn and the replies that follow it.
            cut = 1
            while cut < len(history) and history[cut].role != "user":
                cut += 1
            dropped += cut
            history = history[cut:]
            messages = self._messages([*history, *last])
            tokens = count(messages)
        if history:
            self.view_start = history[0].id
        else:  # only the new message is left: every earlier turn is out of view
            self.view_start = max((t.id for t in turns[:-1]), default=0) + 1
        return Fit(messages, tokens, dropped, before - tokens)

    def budget(self) -> Budget:
        turns = self.turns()
        sys_msgs = self._messages([])
        count = self.engine.count_messages
        in_view = [t for t in turns if t.id >= self.view_start]
        system = count(sys_msgs) if sys_msgs else 0
        total = count(self._messages(in_view)) if in_view else system
        return Budget(
            n_ctx=self.engine.info.n_ctx,
            system=system,
            history=max(total - system, 0),
            turns_in_view=len(in_view),
            turns_out_of_view=len(turns) - len(in_view),
            reserve=self.reserve,
        )

    def context_tokens(self) -> int:
        """Tokens of the conversation as the model sees it now (for the toolbar)."""
        if self.used_tokens:
            return self.used_tokens
        return self.budget().used

    # -- generation -------------------------------------------------------------

    def send(self, text: str) -> Exchange:
        """Save the user message and start the reply. ContextOverflow leaves no trace."""
        if not text.strip():
            raise UsageError("the message is empty")
        session = self.ensure_session()
        pending = Turn(0, session.id, "user", text)
        turns = [*self.turns(), pending]
        fit = self.fit(turns)
        raw = self.engine.stream(fit.messages, self.params)
        try:
            user, reply = self.store.start_reply(session.id, text, model=self.engine.info.name)
        except BaseException:
            _close(raw)
            raise
        assert user is not None
        return self._start(user, reply, fit, raw)

    def retry(self) -> Exchange:
        """Drop the last reply (kept in the file) and generate it again."""
        turns = self.turns()
        if self.session is not None:
            self.store.check_not_busy(self.session.id)
        while turns and turns[-1].role == "assistant":
            self.store.drop_turns([turns[-1].id])
            turns.pop()
        if not turns or turns[-1].role != "user":
            raise UsageError("there is no reply to retry")
        fit = self.fit(turns)
        raw = self.engine.stream(fit.messages, self.params)
        try:
            _, reply = self.store.start_reply(
                turns[-1].session_id, None, model=self.engine.info.name
            )
        except BaseException:
            _close(raw)
            raise
        return self._start(turns[-1], reply, fit, raw)

    def _start(self, user: Turn, reply: Turn, fit: Fit, raw: Iterator[Piece]) -> Exchange:
        try:
            ex = Exchange(self, user, fit, raw, reply)
        except BaseException:
            _close(raw)
            raise
        self.seen_turn_id = ex.journal.turn.id
        return ex

    def undo(self) -> list[Turn]:
        """Drop the last exchange: the last user message and what followed it."""
        turns = self.turns()
        idx = max((i for i, t in enumerate(turns) if t.role == "user"), default=None)
        if idx is None:
            raise UsageError("there is nothing to undo")
        gone = turns[idx:]
        self.store.drop_turns([t.id for t in gone])
        self.used_tokens = 0
        return gone

    def last_reply(self) -> Turn | None:
        return next((t for t in reversed(self.turns()) if t.role == "assistant"), None)
