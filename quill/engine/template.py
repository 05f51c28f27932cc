"""Which chat template a model gets, and rendering it.

In order:

1. ``--chat-template NAME|FILE`` (or ``chat_template`` in the config): one of llama.cpp's
   built-in templates by name, a Jinja file, or ``none`` for plain completion.
2. The GGUF's own template (``tokenizer.chat_template``). Where llama.cpp has a built-in
   copy that renders the same text for a few sample conversations, the built-in is used
   (plain C++, no template engine); otherwise the Jinja source itself is rendered in a
   sandbox (jinja2's ``ImmutableSandboxedEnvironment``, as llama-cpp-python and
   transformers do) where reaching for ``__class__``, ``__subclasses__`` and the like is
   an error, never code execution.
3. No template at all (a base model): the messages are joined as plain text and the
   caller warns that the model runs as plain completion (never silently as ChatML).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from quill.engine.base import Message
from quill.errors import ModelInvalid, UsageError

Kind = Literal["builtin", "jinja", "none"]

# Sample conversations a built-in template must render exactly like the GGUF's template.
_S = "You are a careful editor."
_U1 = "Hello there, can you help me?"
_A1 = "Of course. What are you writing?"
_U2 = "A short story about a lighthouse."
PROBES: list[list[Message]] = [
    [Message("system", _S), Message("user", _U1), Message("assistant", _A1), Message("user", _U2)],
    [Message("system", _S), Message("user", _U1)],
    [Message("user", _U1)],
    [Message("user", _U1), Message("assistant", _A1), Message("user", _U2)],
]
HINT = "choose a template with --chat-template NAME|FILE (e.g. chatml), or none"


class TemplateUnsafe(ModelInvalid):
    """A chat template that reaches outside its sandbox: refused, nothing runs."""


@dataclass
class ChatTemplate:
    kind: Kind
    name: str  # built-in name, "jinja", or "none"
    how: str  # how it was chosen, for `quill doctor` / `quill models list`
    source: str = ""  # Jinja source, or the name llama.cpp gets
    bos: str = ""
    eos: str = ""
    merge_system: bool = False  # the template refuses a system message: fold it in
    _render: Callable[..., str] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """A short description: ``chatml (built-in)``, ``jinja (GGUF)``, ``none``."""
        if self.kind == "builtin":
            return f"{self.name} (built-in)"
        return "none" if self.kind == "none" else self.name

    @property
    def plain(self) -> bool:
        return self.kind == "none"

    def apply(self, messages: list[Message]) -> str:
        """The prompt text for ``messages`` with the assistant's turn opened."""
        if self.kind == "none":
            raise ValueError("a template of kind none has no text form")
        if self.kind == "builtin":
            return apply_builtin(self.source, messages)
        msgs = fold_system(messages) if self.merge_system else messages
        try:
            return self._jinja(msgs)
        except ModelInvalid:
            raise
        except Exception as first:
            # Templates that insist on strict user/assistant alternation or refuse a
            # system message get the same conversation folded to fit.
            folded = alternate(fold_system(msgs))
            if folded == msgs:
                raise _template_error(first) from first
            try:
                return self._jinja(folded)
            except ModelInvalid:
                raise
            except Exception:
                raise _template_error(first) from first

    def _jinja(self, messages: list[Message]) -> str:
        if self._render is None:
            self._render = compile_jinja(self.source)
        return self._render(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            bos_token=self.bos,
            eos_token=self.eos,
            add_generation_prompt=True,
        )


def _template_error(exc: BaseException) -> ModelInvalid:
    from jinja2.exceptions import SecurityError

    if isinstance(exc, SecurityError):
        return TemplateUnsafe(
            f"the chat template tried to reach outside its sandbox ({exc}); nothing was run",
            hint=HINT,
        )
    return ModelInvalid(f"the chat template failed: {exc}", hint=HINT)


def fold_system(messages: list[Message]) -> list[Message]:
    """Put a system message into the first user message (for templates without one)."""
    if not messages or messages[0].role != "system":
        return messages
    system, rest = messages[0].content, messages[1:]
    if rest and rest[0].role == "user":
        return [Message("user", f"{system}\n\n{rest[0].content}"), *rest[1:]]
    return [Message("user", system), *rest]


def alternate(messages: list[Message]) -> list[Message]:
    """Join consecutive messages of the same role (strict-alternation templates)."""
    out: list[Message] = []
    for m in messages:
        if out and out[-1].role == m.role:
            out[-1] = Message(m.role, f"{out[-1].content}\n\n{m.content}")
        else:
            out.append(m)
    return out


# -- llama.cpp's built-in templates ---------------------------------------------------


def _lc() -> Any:
    from quill.engine.tokens import import_llama_cpp

    return import_llama_cpp()


def builtin_names() -> list[str]:
    """The names of llama.cpp's built-in templates (``chatml``, ``llama3``, …)."""
    lc = _lc()
    n = lc.llama_chat_builtin_templates(None, 0)
    arr = (ctypes.c_char_p * n)()
    lc.llama_chat_builtin_templates(arr, n)
    return [s.decode() for s in arr if s]


def apply_builtin(tmpl: str, messages: list[Message]) -> str:
    """Render with llama.cpp's built-in template ``tmpl`` (a name, or a template text it
    recognises). ValueError when llama.cpp does not know it."""
    lc = _lc()
    arr = (lc.llama_chat_message * len(messages))()
    keep = []
    for i, m in enumerate(messages):
        role, content = m.role.encode(), m.content.encode()
        keep += [role, content]
        arr[i].role = role
        arr[i].content = content
    t = tmpl.encode()
    size = 4096 + sum(len(m.content.encode()) for m in messages) * 2
    buf = ctypes.create_string_buffer(size)
    n = lc.llama_chat_apply_template(t, arr, len(messages), True, buf, size)
    if n > size:
        buf = ctypes.create_string_buffer(n)
        n = lc.llama_chat_apply_template(t, arr, len(messages), True, buf, n)
    if n < 0:
        raise ValueError(f"llama.cpp has no built-in template for {tmpl[:40]!r}")
    return buf.raw[:n].decode("utf-8")


# -- Jinja, sandboxed -----------------------------------------------------------------


def warm(source: str | None) -> threading.Thread | None:
    """Compile the Jinja template ``source`` in a thread (jinja2's import and the
    compile take 0.05 to 0.07 s on this project's 2-core machine), to be joined before
    :func:`choose`: started before llama.cpp loads the weights, which leaves Python's
    lock free and a core idle, it costs a start nothing. A template that fails to
    compile fails again, and is reported, in :func:`choose`."""
    if not source or not source.strip():
        return None

    def run() -> None:
        with contextlib.suppress(Exception):  # choose() compiles it again and says why
            compile_jinja(source)

    t = threading.Thread(target=run, name="quill-template", daemon=True)
    t.start()
    return t


@functools.lru_cache(maxsize=8)
def compile_jinja(source: str) -> Callable[..., str]:
    """A render function for a Jinja chat template, in a sandbox that raises on any
    unsafe attribute (``__class__``, ``mro``, ``func_globals``…) instead of quietly
    returning undefined."""
    import jinja2
    import jinja2.ext
    from jinja2 import nodes
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class StrictSandbox(ImmutableSandboxedEnvironment):
        def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
            raise SecurityError(
                f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
            )

    class IgnoreGeneration(jinja2.ext.Extension):
        """transformers' ``{% generation %}`` block tag: render its body as is."""

        tags = {"generation"}  # noqa: RUF012 (jinja2's API)

        def parse(self, parser: Any) -> Any:
            parser.stream.skip(1)
            return parser.parse_statements(("name:endgeneration",), drop_needle=True)

    env = StrictSandbox(
        loader=jinja2.BaseLoader(),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[IgnoreGeneration, jinja2.ext.loopcontrols],
    )

    def tojson(x: Any, ensure_ascii: bool = False, indent: Any = None, **kw: Any) -> str:
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, **kw)

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    try:
        tree = env.parse(source)
    except jinja2.exceptions.TemplateSyntaxError as exc:
        raise ModelInvalid(f"the chat template is not valid Jinja: {exc}", hint=HINT) from exc
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = node.attr if isinstance(node, nodes.Getattr) else getattr(node, "arg", None)
        key = getattr(key, "value", key)
        if isinstance(key, str) and key.startswith("__"):
            raise TemplateUnsafe(
                f"the chat template reaches for `{key}`, outside its sandbox; nothing was run",
                hint=HINT,
            )
    template = env.from_string(source)
    return template.render


# -- choosing -------------------------------------------------------------------------


def choose(
    gguf_template: str | None,
    *,
    override: str | None = None,
    bos: str = "",
    eos: str = "",
    add_bos: bool = False,
) -> ChatTemplate:
    """The template a model gets: ``override`` (a built-in name, a file, or ``none``),
    else the GGUF's own (as a matching built-in or as sandboxed Jinja), else none."""
    if override:
        return _from_override(override, bos=bos, eos=eos)
    if gguf_template is None or not gguf_template.strip():
        return ChatTemplate("none", "none", "the model has no chat template: plain completion")
    jinja = ChatTemplate("jinja", "jinja", "", gguf_template, bos, eos)
    try:
        jinja.merge_system = not _accepts_system(jinja)
    except TemplateUnsafe:
        raise
    except ModelInvalid as exc:
        # A template jinja2 cannot render: llama.cpp's guess, where it has one.
        try:
            apply_builtin(gguf_template, PROBES[0])
        except ValueError:
            raise exc from None
        return ChatTemplate(
            "builtin",
            "detected",
            f"llama.cpp's guess from the model's template ({exc.message})",
            source=gguf_template,
            bos=bos,
            eos=eos,
        )
    builtin = _matching_builtin(jinja, gguf_template, bos if add_bos else "")
    if builtin is not None:
        return ChatTemplate(
            "builtin",
            builtin,
            f"llama.cpp's built-in `{builtin}` (renders the model's own template exactly)",
            source=builtin,
            bos=bos,
            eos=eos,
        )
    jinja.how = "the model's own template (Jinja, sandboxed)"
    return jinja


def _from_override(spec: str, *, bos: str, eos: str) -> ChatTemplate:
    if spec == "none":
        return ChatTemplate("none", "none", "--chat-template none: plain completion")
    names = builtin_names()
    if spec in names:
        return ChatTemplate(
            "builtin", spec, f"llama.cpp's built-in `{spec}` (--chat-template)", spec, bos, eos
        )
    path = Path(spec).expanduser()
    if not path.is_file():
        raise UsageError(
            f"--chat-template `{spec}` is neither a built-in template nor a file",
            hint="built-in templates: " + ", ".join(sorted(names)) + "; or none",
        )
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the chat template {path}: {exc}") from exc
    t = ChatTemplate("jinja", path.name, f"Jinja file {path} (--chat-template)", source, bos, eos)
    compile_jinja(source)  # refuse a broken or unsafe file now, before anything runs
    t.merge_system = not _accepts_system(t)
    return t


def _accepts_system(t: ChatTemplate) -> bool:
    """Whether the Jinja template renders a system message (Gemma's refuses one); a
    template that breaks the sandbox raises here, at load, before anything runs."""
    try:
        t._jinja(PROBES[1])
        return True
    except ModelInvalid:
        raise
    except Exception:
        pass
    try:
        t._jinja(fold_system(PROBES[1]))
    except ModelInvalid:
        raise
    except Exception as exc:
        raise _template_error(exc) from exc
    return False


def _matching_builtin(jinja: ChatTemplate, source: str, bos: str) -> str | None:
    """The name of llama.cpp's built-in template that renders exactly what the Jinja
    template renders for every probe conversation, or None."""
    try:
        detected = [apply_builtin(source, p) for p in PROBES]
    except ValueError:
        return None
    for probe, want in zip(PROBES, detected, strict=True):
        try:
            got = jinja.apply(probe)
        except ModelInvalid:
            return None
        if bos and got.startswith(bos):
            got = got[len(bos) :]
        if got != want:
            return None
    for name in builtin_names():
        try:
            if all(apply_builtin(name, p) == w for p, w in zip(PROBES, detected, strict=True)):
                return name
        except ValueError:
            continue
    return None
