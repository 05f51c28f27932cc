"""Signals during generation: Ctrl-C and SIGTERM become a flag the streaming loop checks
between pieces, so the engine is stopped at a clean point (stats kept, KV cache
consistent) instead of being torn mid-step. A second signal while the flag is still up
(the engine is busy on a long prompt) interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
from types import FrameType
from typing import Any

from quill.errors import Terminated


class AbortFlag:
    """Process-wide: set by :class:`SignalFlag` on a signal, read by the engine."""

    def __init__(self) -> None:
        self.raised = False
        self.listening = 0  # SignalFlags in place: only then may the engine install it
        self.armed = False  # the engine is inside an abortable llama.cpp call


ABORT = AbortFlag()


class SignalFlag:
    """Turns SIGINT / SIGTERM into a flag for the duration of a ``with`` block."""

    def __init__(self) -> None:
        self.signum = 0
        self._saved: dict[int, Any] = {}

    @property
    def raised(self) -> bool:
        return self.signum != 0

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        ABORT.raised = True
        if self.signum and not ABORT.armed:  # second signal: no stopping point reached
            if signum == signal.SIGTERM or self.signum == signal.SIGTERM:
                raise Terminated()
            raise KeyboardInterrupt
        if self.signum != signal.SIGTERM:
            self.signum = signum

    def __enter__(self) -> SignalFlag:
        ABORT.raised = False
        ABORT.listening += 1
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                self._saved[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()
        ABORT.listening = max(0, ABORT.listening - 1)
        ABORT.raised = False
