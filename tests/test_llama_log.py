"""llama.cpp's log stays quill's (visible with --verbose only), also after a command
imports llama-cpp-python's package for its grammar helpers, which sets a logger of its
own that prints every message, debug ones too, to stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from assets import vendor_files

CODE = """
import sys
from quill.engine.tokens import VocabModel, import_llama_cpp
import_llama_cpp()
from quill.writing.analyze import schema_grammar
schema_grammar({"type": "object", "properties": {"a": {"type": "string"}}})
with VocabModel(sys.argv[1]):
    pass
"""


def test_the_grammar_helpers_leave_the_log_to_quill() -> None:
    folder, why = vendor_files()
    if folder is None:
        pytest.skip(f"llama.cpp's vocabulary files are not available: {why}")
    gguf = Path(folder) / "ggml-vocab-qwen2.gguf"
    r = subprocess.run(
        [sys.executable, "-c", CODE, str(gguf)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "llama_model_load" not in r.stderr and "print_info" not in r.stderr, r.stderr[:400]
