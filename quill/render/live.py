"""The one terminal loop every command streams through, and the one closing report.

``stream_live`` shows a generation as it comes (Markdown on a terminal unless ``plain``,
raw text otherwise) and stops it cleanly on Ctrl-C or SIGTERM: while it streams, the
signals only raise a flag; the loop sees it after the next piece and asks the generation
to stop, so the engine is never torn between two of its own steps (its KV cache stays
usable and its stats are kept). A second signal while the flag is still up (the engine
busy on a long prompt) interrupts at once.

``report`` prints what comes after the text, in one order for every command: why the
text stopped early, where it was saved, and the stats.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable, Iterator
from typing import Protocol

from quill.engine.base import Result, Stats
from quill.errors import Terminated
from quill.render.stream import Sink
from quill.render.ui import UI
from quill.signals import SignalFlag


class Streamable(Protocol):
    """A generation (or the chat's Exchange around one)."""

    def __iter__(self) -> Iterator[str]: ...

    def stop(self, reason: str = "interrupted") -> None: ...

    def close(self) -> Result: ...


def stream_live(
    ui: UI, gen: Streamable, *, plain: bool = False, spinner: bool = True, prefix: str = ""
) -> Result:
    """Stream ``gen`` to stdout; returns its closed Result, with ``signal`` set when a
    signal ended it (2 or 15: the caller exits with 128 + signal)."""
    sink: Sink | None = None
    signum = 0
    with SignalFlag() as flag:
        try:
            it = iter(gen)
            if spinner:
                with ui.spinner("Thinking…"):
                    piece = next(it, None)
            else:
                piece = next(it, None)
            sink = ui.content_sink(plain)
            if prefix:
                sink.feed(prefix)
            while piece is not None:
                sink.feed(piece)
                if flag.raised:
                    gen.stop("interrupted")
                    break
                piece = next(it, None)
        except KeyboardInterrupt:
            gen.stop("interrupted")
            signum = signal.SIGINT
        except Terminated:
            gen.stop("interrupted")
            signum = signal.SIGTERM
        finally:
            try:
                if sink is not None:
                    sink.close()
            finally:
                result = gen.close()
        signum = signum or flag.signum
    if signum and result.finish != "interrupted" and signum != signal.SIGTERM:
        signum = 0  # the text ended on its own just as Ctrl-C came: it is complete
    result.signal = int(signum)
    return result


def report(
    ui: UI,
    result: Result | None = None,
    *,
    warnings: Iterable[str] = (),
    saved: Iterable[str] = (),
    stats: Stats | None = None,
    show_stats: bool = False,
) -> None:
    """The closing block: the note on how the text ended (a note when interrupted, a
    warning when cut short), other warnings, where it was saved, the stats."""
    if result is not None and result.note:
        if result.finish == "interrupted":
            ui.note(result.note)
        else:
            ui.warn(result.note)
    for w in warnings:
        ui.warn(w)
    for line in saved:
        ui.note(line)
    if show_stats:
        ui.stats(stats if stats is not None else (result.stats if result else Stats()))
