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


class SignalFlag:
    """Turns SIGINT / SIGTERM into a flag for the duration of a ``with`` block."""

    def __init__(self) -> None:
        self.signum = 0
        self._saved: dict[int, Any] = {}

    @property
    def raised(self) -> bool:
        return self.signum != 0

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.signum:  # second signal: the engine did not get to a stopping point
            if signum == signal.SIGTERM or self.signum == signal.SIGTERM:
                raise Terminated()
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> SignalFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                self._saved[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()
