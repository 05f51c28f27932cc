"""Independent references for the tests: llama.cpp as its own server uses it, reached
through llama-cpp-python's classes, and chat templates rendered by jinja2 the way
Hugging Face's ``apply_chat_template`` does. None of quill's code is used here."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from quill.engine.base import Message


class Reference:
    """llama.cpp as its own server uses it, reached through llama-cpp-python's classes
    (none of quill's code): the prompt rendered by llama_chat_apply_template, the BOS /
    EOS a template writes taken off where the vocabulary adds its own (llama.cpp's chat
    code), then the whole text tokenized with add_special and parse_special on."""

    def __init__(self, path: Path) -> None:
        import llama_cpp

        self.llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        model = self.llm._model
        bos, eos = model.token_bos(), model.token_eos()
        self.bos = model.token_get_text(bos) if model.add_bos_token() and bos >= 0 else ""
        self.eos = model.token_get_text(eos) if model.add_eos_token() and eos >= 0 else ""

    @staticmethod
    def render(name: str, messages: list[Message]) -> str:
        import ctypes

        import llama_cpp as lc

        arr = (lc.llama_chat_message * len(messages))()
        keep = [(m.role.encode(), m.content.encode()) for m in messages]
        for item, (role, content) in zip(arr, keep, strict=True):
            item.role, item.content = role, content
        n = lc.llama_chat_apply_template(name.encode(), arr, len(arr), True, None, 0)
        assert n >= 0, f"llama.cpp does not know the template {name}"
        buf = ctypes.create_string_buffer(n + 1)
        lc.llama_chat_apply_template(name.encode(), arr, len(arr), True, buf, n + 1)
        return buf.raw[:n].decode("utf-8")

    def tokens(self, text: str) -> list[int]:
        if self.bos and text.startswith(self.bos):
            text = text[len(self.bos) :]
        if self.eos and text.endswith(self.eos):
            text = text[: -len(self.eos)]
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def text(self, tokens: list[int]) -> str:
        return self.llm.detokenize(tokens, special=True).decode("utf-8", "replace")


def render_jinja(source: str, messages: list[Message], bos: str = "", eos: str = "") -> str:
    """A model's own chat template rendered by jinja2 directly, with Hugging Face's
    settings (trim_blocks, lstrip_blocks, loop controls, tojson, raise_exception,
    strftime_now), the generation prompt on."""
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    def tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, **kw: Any) -> str:
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, **kw)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source).render(
        messages=[{"role": m.role, "content": m.content} for m in messages],
        bos_token=bos,
        eos_token=eos,
        add_generation_prompt=True,
    )
