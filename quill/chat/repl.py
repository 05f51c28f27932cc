"""The interactive chat: a prompt-toolkit prompt, replies streamed as Markdown.

Keys: Enter sends, Alt-Enter (Esc Enter) starts a new line, a bracketed paste lands in
the input as it is (several lines stay one message), Up/Down and Ctrl-R go through the
input history, Tab completes slash commands, Ctrl-C clears the line (at an empty
prompt it says how to leave), Ctrl-D leaves.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import is_searching
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style

from quill.chat import commands
from quill.chat.export import status_mark
from quill.chat.session import Chat, Exchange
from quill.engine.base import Engine
from quill.errors import ContextOverflow, QuillError, Terminated, UsageError
from quill.render.live import report, stream_live
from quill.render.sanitize import sanitize
from quill.render.ui import UI
from quill.store.db import Turn

PROMPT = "› "
RESUME_TURNS = 6  # turns shown when a session is resumed

STYLE = Style.from_dict(
    {
        "prompt": "bold ansicyan",
        "continuation": "ansibrightblack",
        "bottom-toolbar": "noreverse bg:ansibrightblack ansiwhite",
        "bottom-toolbar.key": "bold",
    }
)


class SlashCompleter(Completer):
    """Completes /commands, and model names after /model."""

    def __init__(self, models: Callable[[], list[str]]) -> None:
        self.models = models

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        if " " not in text:
            for name, (_args, help_) in commands.COMMANDS.items():
                if ("/" + name).startswith(text):
                    yield Completion(
                        "/" + name, start_position=-len(text), display_meta=help_.split(";")[0]
                    )
            return
        head, _, arg = text.partition(" ")
        if head == "/model" and " " not in arg:
            for name in self.models():
                if name.startswith(arg):
                    yield Completion(name, start_position=-len(arg))


def key_bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("enter", filter=~is_searching)
    def _send(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        state = buf.complete_state
        if state is not None and state.current_completion is not None:
            buf.apply_completion(state.current_completion)
            return
        buf.validate_and_handle()

    @kb.add("escape", "enter")
    @kb.add("c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @kb.add("c-c", filter=~is_searching)
    def _clear(event: KeyPressEvent) -> None:
        buf = event.current_buffer
        if buf.text:
            buf.reset()
        else:
            event.app.exit(exception=KeyboardInterrupt())

    return kb


def read_line(session: PromptSession[str], message: str | None = None) -> str:
    """``session.prompt()``, where SIGTERM ends the prompt cleanly with Terminated.

    Raised from a signal handler inside prompt-toolkit's event loop, the exception would
    be caught by the loop ("Unhandled exception in event loop") instead of ending quill.
    """

    def on_term(signum: int, frame: FrameType | None) -> None:
        app = session.app
        loop = app.loop
        if not app.is_running or loop is None:
            raise Terminated()

        def stop() -> None:
            if app.is_running and not app.future.done():  # type: ignore[union-attr]
                app.exit(exception=Terminated())

        loop.call_soon_threadsafe(stop)

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread
        return session.prompt(message) if message is not None else session.prompt()
    try:
        return session.prompt(message) if message is not None else session.prompt()
    finally:
        signal.signal(signal.SIGTERM, previous)


class Repl:
    def __init__(
        self,
        ui: UI,
        chat: Chat,
        *,
        history_file: Path | None,
        plain: bool = False,
        show_stats: bool = False,
        color: bool = True,
        load_engine: Callable[[str], Engine] | None = None,
        model_names: Callable[[], list[str]] | None = None,
        environ: dict[str, str] | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.ui = ui
        self.chat = chat
        self.plain = plain
        self.show_stats = show_stats
        self.load_engine = load_engine
        self.environ = environ or {}
        self.data_dir = data_dir
        self.tokens = 0
        history = FileHistory(str(history_file)) if history_file else InMemoryHistory()
        self.prompt = PromptSession[str](
            message=FormattedText([("class:prompt", PROMPT)]),
            multiline=True,
            prompt_continuation=self._continuation,
            history=history,
            key_bindings=key_bindings(),
            completer=SlashCompleter(model_names or (lambda: [])),
            complete_while_typing=True,
            bottom_toolbar=self._toolbar,
            style=STYLE,
            color_depth=None if color else ColorDepth.MONOCHROME,
            enable_suspend=True,
            mouse_support=False,
        )

    # -- terminal output ----------------------------------------------------------

    def out(self, text: str = "") -> None:
        """A line of command output (sanitized: it may quote model or user text)."""
        stream = self.ui.stdout
        stream.write(sanitize(text) + "\n")
        stream.flush()

    def ask(self, question: str) -> bool:
        """A yes/no question; anything but y/yes (Ctrl-C, Ctrl-D) is no."""
        try:
            answer = read_line(PromptSession[str](), f"{question} [y/N] ")
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    def _continuation(self, width: int, line_number: int, wrap_count: int) -> FormattedText:
        return FormattedText([("class:continuation", "·".rjust(width - 1) + " ")])

    def _toolbar(self) -> FormattedText:
        info = self.chat.engine.info
        return FormattedText(
            [
                ("class:bottom-toolbar.key", f" {info.name} "),
                ("", f"· {self.tokens:,}/{info.n_ctx:,} tokens · "),
                ("class:bottom-toolbar.key", self.chat.session_name),
                ("", " · Enter send · Alt-Enter new line · /help "),
            ]
        )

    def show_turn(self, turn: Turn) -> None:
        if turn.role == "user":
            lines = turn.content.splitlines() or [""]
            self.out("\n".join([PROMPT + lines[0], *["  " + ln for ln in lines[1:]]]))
            return
        if turn.role != "assistant":
            return
        if turn.content:
            sink = self.ui.content_sink(self.plain)
            sink.feed(turn.content)
            sink.close()
        mark = status_mark(turn).strip("*")
        if mark:
            self.ui.note(mark)

    def show_turns(self, turns: list[Turn], *, limit: int | None = None) -> None:
        if limit is not None and len(turns) > limit:
            hidden = len(turns) - limit
            self.ui.note(
                f"… {hidden} earlier turn{'s' if hidden != 1 else ''} "
                f"(/history, or quill sessions show {self.chat.session_name})"
            )
            turns = turns[-limit:]
        for t in turns:
            self.show_turn(t)

    # -- the loop -----------------------------------------------------------------

    def greet(self) -> None:
        info = self.chat.engine.info
        turns = self.chat.turns()
        if turns:
            self.ui.note(f"resuming session {self.chat.session_name} ({len(turns)} turns)")
            self.show_turns(turns, limit=RESUME_TURNS)
        self.ui.note(
            f"quill chat · {info.name} · session {self.chat.session_name} · "
            "/help for commands, Ctrl-D to leave"
        )

    def run(self) -> int:
        self.greet()
        while True:
            arrived = self.chat.new_turns()
            if arrived:
                n = len(arrived)
                self.ui.note(f"{n} turn{'s' if n != 1 else ''} added by another quill process:")
                self.show_turns(arrived)
            self.tokens = self._count_tokens()
            try:
                text = read_line(self.prompt)
            except KeyboardInterrupt:
                self.ui.note("(to leave: Ctrl-D or /exit)")
                continue
            except EOFError:
                break
            if not text.strip():
                continue
            try:
                if commands.is_command(text):
                    if commands.dispatch(self, text) == commands.EXIT:
                        break
                else:
                    self.send(commands.unescape(text))
            except ContextOverflow as exc:
                self.ui.error(exc.message, exc.hint + "; the text is in the input history (Up)")
            except QuillError as exc:
                generic = exc.hint == UsageError.hint
                self.ui.error(exc.message, "/help lists the commands" if generic else exc.hint)
            except KeyboardInterrupt:
                self.ui.note("interrupted")
        return 0

    def _count_tokens(self) -> int:
        try:
            return self.chat.context_tokens()
        except QuillError:
            return 0

    def send(self, text: str) -> None:
        self.stream(self.chat.send(text))

    def stream(self, ex: Exchange) -> None:
        if ex.notice:
            self.ui.warn(ex.notice)
        result = stream_live(self.ui, ex, plain=self.plain)
        report(self.ui, result, show_stats=self.show_stats)
        if result.signal == signal.SIGTERM:
            raise Terminated()
