"""A progress bar for work done in steps (summarize's map and combine passes).

On a terminal: a transient bar on stderr with steps done / total, the input tokens read
per second and the time left. Not a terminal, or quiet: nothing at all.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quill.render.ui import UI


def format_eta(seconds: float) -> str:
    s = max(0, round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StepProgress:
    """Feed it ``start(label, steps, tokens)`` per pass and ``step(done, tokens)`` per
    finished step; it draws only when stderr is a terminal and the UI is not quiet."""

    def __init__(self, ui: UI, unit: str = "chunks") -> None:
        self.ui = ui
        self.unit = unit
        self.enabled = ui.stderr_tty and not ui.quiet
        self._bar: Any = None
        self._task: Any = None
        self._t0 = 0.0
        self._tokens_done = 0
        self._tokens_total = 0
        self._steps = 0

    def __enter__(self) -> StepProgress:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[steps]}"),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA {task.fields[eta]}"),
                TimeElapsedColumn(),
                console=self.ui.err,
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def start(self, label: str, steps: int, tokens: int, unit: str | None = None) -> None:
        self.unit = unit or self.unit
        self._t0 = time.perf_counter()
        self._tokens_done = 0
        self._tokens_total = max(tokens, 1)
        self._steps = steps
        if self._bar is None:
            return
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(
            label, total=self._tokens_total, steps=self._steps_text(0), rate="", eta="–"
        )

    def _steps_text(self, done: int) -> str:
        return f"{done}/{self._steps} {self.unit}"

    def step(self, done: int, tokens: int) -> None:
        self._tokens_done = min(self._tokens_done + tokens, self._tokens_total)
        if self._bar is None or self._task is None:
            return
        elapsed = max(time.perf_counter() - self._t0, 1e-6)
        rate = self._tokens_done / elapsed
        left = self._tokens_total - self._tokens_done
        self._bar.update(
            self._task,
            completed=self._tokens_done,
            steps=self._steps_text(done),
            rate=f"{rate:,.0f} tok/s",
            eta=format_eta(left / rate) if rate > 0 else "–",
        )
