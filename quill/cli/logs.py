"""quill's logging set-up, shared by every command (the root app imports the commands;
nothing imports back from it)."""

from __future__ import annotations

import logging
import sys


def setup_logging(verbose: bool) -> None:
    """quill's own logger (llama.cpp's log goes through `quill.llama`), sanitized: log
    lines may quote GGUF metadata, which is untrusted."""
    from quill.render.sanitize import SafeFormatter

    root = logging.getLogger("quill")
    if not root.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(SafeFormatter("%(name)s: %(message)s"))
        root.addHandler(h)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("quill.llama").setLevel(logging.DEBUG if verbose else logging.ERROR)
