"""Make model text safe to print: no escape sequences, no control characters.

A model can emit ESC, CSI/OSC sequences, C1 controls or BEL; printed to a terminal they
could move the cursor, retitle the window or ring the bell. Only tab and newline
survive; ``\\r\\n`` becomes ``\\n``. The filter works per character, so it needs no
state across streamed pieces: a sequence split over two pieces loses its ESC and what
remains is inert text.
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CSI_OSC = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def sanitize(text: str) -> str:
    if not text:
        return text
    text = text.replace("\r\n", "\n")
    text = _CSI_OSC.sub("", text)
    return _CONTROL.sub("", text)


class SafeFormatter(logging.Formatter):
    """A log formatter for the terminal: llama.cpp's log lines quote GGUF metadata (model
    names, templates), which is untrusted, so they are sanitized like model text."""

    def format(self, record: logging.LogRecord) -> str:
        return sanitize(super().format(record))
