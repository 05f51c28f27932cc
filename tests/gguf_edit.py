"""Copies of GGUF files with another chat template (or none), written with the ``gguf``
package (llama.cpp's own Python GGUF reader/writer)."""

from __future__ import annotations

import logging
from pathlib import Path


def set_chat_template(src: Path, dst: Path, template: str | None) -> Path:
    """Copy ``src`` to ``dst`` with ``tokenizer.chat_template`` replaced (None: removed)."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    logging.getLogger("gguf-new-metadata").setLevel(logging.WARNING)
    reader = gguf.GGUFReader(str(src), "r")
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE)
    assert arch is not None
    writer = gguf.GGUFWriter(str(dst), arch=arch.contents(), endianess=reader.endianess)
    align = reader.get_field(gguf.Keys.General.ALIGNMENT)
    if align is not None:
        writer.data_alignment = align.contents()
    key = gguf.Keys.Tokenizer.CHAT_TEMPLATE
    new = {} if template is None else {key: MetadataDetails(gguf.GGUFValueType.STRING, template)}
    copy_with_new_metadata(reader, writer, new, [key] if template is None else [])
    return dst
