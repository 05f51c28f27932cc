"""Status lines, progress and stats on stderr; content sinks for stdout.

stdout carries only the content. Everything else goes to stderr, in colour only when
stderr is a terminal and NO_COLOR is unset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

from quill.render.sanitize import sanitize
from quill.render.stream import RawSink, Sink

if TYPE_CHECKING:
    from rich.console import Console

    from quill.engine.base import Stats


class UI:
    def __init__(
        self,
        stdout: TextIO,
        stderr: TextIO,
        *,
        stdout_tty: bool,
        stderr_tty: bool,
        color: bool,
        quiet: bool = False,
        force_color: bool = False,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.stdout_tty = stdout_tty
        self.stderr_tty = stderr_tty
        self.color = color
        self.quiet = quiet
        self.force_color = force_color  # FORCE_COLOR: status lines in colour even when piped
        self._err_console: Console | None = None

    # -- consoles -------------------------------------------------------------

    def _console(self, file: TextIO, tty: bool) -> Console:
        from rich.console import Console

        return Console(
            file=file,
            force_terminal=tty,
            no_color=not self.color,
            highlight=False,
            soft_wrap=not tty,
            emoji=False,
            color_system="auto" if self.color else None,
        )

    @property
    def err(self) -> Console:
        if self._err_console is None:
            self._err_console = self._console(self.stderr, self.stderr_tty or self.force_color)
        return self._err_console

    def _line(self, prefix: str, style: str, message: str) -> None:
        message = sanitize(message)
        if (self.stderr_tty or self.force_color) and self.color:
            from rich.text import Text

            self.err.print(Text.assemble((prefix, style), message), soft_wrap=True)
        else:
            self.stderr.write(f"{prefix}{message}\n")
            self.stderr.flush()

    # -- messages -------------------------------------------------------------

    def error(self, message: str, hint: str = "") -> None:
        self._line("error: ", "bold red", message)
        if hint:
            self._line("hint: ", "yellow", hint)

    def warn(self, message: str) -> None:
        self._line("warning: ", "yellow", message)

    def note(self, message: str) -> None:
        if not self.quiet:
            self._line("", "dim", message)

    def stats(self, stats: Stats) -> None:
        self._line("stats: ", "cyan", stats.summary())

    # -- progress -------------------------------------------------------------

    @contextlib.contextmanager
    def spinner(self, message: str) -> Iterator[None]:
        """A transient spinner on a terminal; nothing when stderr is not one."""
        if not self.stderr_tty or self.quiet:
            yield
            return
        with self.err.status(message, spinner="dots"):
            yield

    @contextlib.contextmanager
    def byte_progress(self, description: str) -> Iterator[Callable[[int, int], None]]:
        """A progress bar for a long copy; a single line when stderr is not a terminal."""
        if not self.stderr_tty:
            self._line("", "", f"{description}…")
            yield lambda done, total: None
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield update

    # -- content --------------------------------------------------------------

    def content_sink(self, plain: bool = False) -> Sink:
        if self.stdout_tty and not plain:
            from quill.render.stream import MarkdownSink

            return MarkdownSink(self._console(self.stdout, True))
        return RawSink(self.stdout)
