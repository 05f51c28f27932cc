"""Stream one chat reply to the terminal, and stop it cleanly on Ctrl-C or SIGTERM.

While a reply streams, SIGINT and SIGTERM only raise a flag; the loop sees it after the
next piece and asks the engine to stop (``Exchange.stop``), so the engine is never left
between two of its own steps and its KV cache stays usable for the next turn. A second
signal while the flag is still up (the engine busy on a long prompt) interrupts at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass

from quill.chat.session import Exchange
from quill.engine.base import Result
from quill.errors import Terminated
from quill.render.stream import Sink
from quill.render.ui import UI
from quill.signals import SignalFlag


@dataclass
class Outcome:
    result: Result
    signum: int = 0  # 2 or 15 when a signal ended the reply

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum else 0


def _next(it: Iterator[str]) -> str | None:
    return next(it, None)


def stream_reply(ui: UI, ex: Exchange, *, plain: bool = False, spinner: bool = True) -> Outcome:
    """Show the reply as it comes (Markdown on a terminal unless ``plain``); returns the
    closed Exchange's Result and the signal, if any, that stopped it."""
    sink: Sink | None = None
    signum = 0
    with SignalFlag() as flag:
        try:
            it = iter(ex)
            if spinner:
                with ui.spinner("Thinking…"):
                    piece = _next(it)
            else:
                piece = _next(it)
            sink = ui.content_sink(plain)
            while piece is not None:
                sink.feed(piece)
                if flag.raised:
                    ex.stop("interrupted")
                    break
                piece = _next(it)
        except KeyboardInterrupt:
            ex.stop("interrupted")
            signum = signal.SIGINT
        except Terminated:
            ex.stop("interrupted")
            signum = signal.SIGTERM
        finally:
            try:
                if sink is not None:
                    sink.close()
            finally:
                result = ex.close()
        signum = signum or flag.signum
        if signum and result.finish != "interrupted":
            # The reply ended on its own just as the signal came: keep it complete.
            signum = signum if signum == signal.SIGTERM else 0
    return Outcome(result, int(signum))
