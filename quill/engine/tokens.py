"""Tokens for a prompt, exactly as the model expects them.

A prompt is the chat template's text with the messages in it. The model was trained on
that whole text tokenized at once, so that is what quill evaluates: llama.cpp's
tokenizer over the whole rendered prompt, with the vocabulary's BOS/EOS rules and the
template's control tokens (``<|im_start|>``, ``<start_of_turn>``…) parsed as such.
Tokenizing the pieces one by one would not give the same tokens: a SentencePiece
vocabulary puts "▁" before every piece, and words at a seam merge differently.

A writer's text must never become a control token. Where a message holds the text of
one (``<|im_end|>`` typed by a user, ``</s>`` in a file), that text is swapped for a
private-use placeholder before the template is applied; the prompt is then cut into
control tokens and text the way llama.cpp does it (:func:`partition`), and each text
fragment, placeholders restored, is tokenized with control tokens off. Everything else
is as if the whole prompt had been tokenized at once.

This module needs only a vocabulary: tests load vocabulary-only GGUFs (no weights).
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import logging
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from quill.engine.base import Message, Piece
from quill.engine.loop import pass_on
from quill.errors import ModelLoadError

log = logging.getLogger("quill.llama")

# enum llama_token_attr
ATTR_UNKNOWN = 1 << 0
ATTR_CONTROL = 1 << 3
ATTR_USER_DEFINED = 1 << 4
ATTR_LSTRIP = 1 << 7
ATTR_RSTRIP = 1 << 8
SPECIAL = ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN
PROTECTED = ATTR_CONTROL | ATTR_UNKNOWN  # what parse_special=False leaves as text
# enum llama_vocab_type
VOCAB_TYPES = {0: "none", 1: "SPM", 2: "BPE", 3: "WPM", 4: "UGM", 5: "RWKV", 6: "PLAMO2"}
VOCAB_SPM = 1

_WS = b" \t\n\v\f\r"  # C isspace() in the "C" locale, as llama.cpp strips
_PUA = 0xF0000  # Supplementary Private Use Area-A: placeholders for protected text
_PUA_END = 0xFFFFE
_PUA_RE = re.compile("[\U000f0000-\U000ffffd]")
_CACHE = 512

# enum ggml_log_level: 1 debug, 2 info, 3 warn, 4 error, 5 continuation
_LEVELS = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_log_state: dict[str, Any] = {"level": logging.INFO, "callback": None}


def _route_llama_log(lc: Any) -> None:
    """Send llama.cpp/ggml logging to the ``quill.llama`` logger (visible with --verbose)."""
    if _log_state["callback"] is not None:
        return

    @lc.llama_log_callback
    def _cb(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if level != 5:  # 5 = continuation of the previous message
            _log_state["level"] = _LEVELS.get(level, logging.DEBUG)
        if log.isEnabledFor(_log_state["level"]):
            msg = text.decode("utf-8", "replace").rstrip("\n")
            if msg:
                log.log(_log_state["level"], msg)

    _log_state["callback"] = _cb  # keep a reference: ctypes callbacks must outlive use
    lc.llama_log_set(_cb, ctypes.c_void_p(0))


def keep_llama_log() -> None:
    """Route llama.cpp's logging through quill's logger again, after an ``import
    llama_cpp`` (its grammar helpers): the package's own logger prints every message,
    debug ones too, to stderr ("set_abort_callback: call", "~llama_context: CPU compute
    buffer size…" under `quill analyze`'s result)."""
    lc = sys.modules.get("llama_cpp.llama_cpp")
    if lc is not None and _log_state["callback"] is not None:
        lc.llama_log_set(_log_state["callback"], ctypes.c_void_p(0))


def import_llama_cpp() -> Any:
    """llama-cpp-python's ctypes bindings (``llama_cpp.llama_cpp``, all that quill
    calls), with llama.cpp's logging routed through quill's logger.

    Only the bindings are imported: the package's ``__init__`` also imports its
    high-level ``Llama`` class, and with it numpy and jinja2, which took about 0.1 s of
    every start on 2 CPU cores. The package is stood in for while its bindings import,
    and taken out again, so a later ``import llama_cpp`` runs the real one."""
    lc = sys.modules.get("llama_cpp.llama_cpp")
    if lc is None:
        lc = _import_bindings()
    _route_llama_log(lc)
    return lc


def _import_bindings() -> Any:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations or "llama_cpp" in sys.modules:
        import llama_cpp.llama_cpp as whole  # the package as it is

        return whole
    stand_in = types.ModuleType("llama_cpp")
    stand_in.__spec__ = spec
    stand_in.__path__ = list(spec.submodule_search_locations)
    stand_in.__file__ = spec.origin
    sys.modules["llama_cpp"] = stand_in
    try:
        return importlib.import_module("llama_cpp.llama_cpp")
    finally:
        if sys.modules.get("llama_cpp") is stand_in:
            del sys.modules["llama_cpp"]


def llama_cpp_version() -> str:
    """llama-cpp-python's version, read from its package without importing it."""
    spec = importlib.util.find_spec("llama_cpp")
    try:
        text = Path(spec.origin).read_text(encoding="utf-8") if spec and spec.origin else ""
    except OSError:
        text = ""
    m = re.search(r"^__version__\s*=\s*[\"']([^\"']+)", text, re.M)
    return m.group(1) if m else ""


class Vocab:
    """llama.cpp's tokenizer of one model (a ``llama_vocab`` pointer)."""

    def __init__(self, lc: Any, vocab: Any) -> None:
        self._lc = lc
        self._vocab = vocab
        self.type = int(lc.llama_vocab_type(vocab))
        self.n_tokens = int(lc.llama_vocab_n_tokens(vocab))
        self.bos = int(lc.llama_vocab_bos(vocab))
        self.eos = int(lc.llama_vocab_eos(vocab))
        self.add_bos = bool(lc.llama_vocab_get_add_bos(vocab))
        self.add_eos = bool(lc.llama_vocab_get_add_eos(vocab))
        self._piece_buf = ctypes.create_string_buffer(256)
        # What tokenizing with add_special puts around the text (BOS; EOS or SEP).
        plain = self.tokenize("a")
        full = self.tokenize("a", add_special=True)
        k = next(
            (i for i in range(len(full) - len(plain) + 1) if full[i : i + len(plain)] == plain),
            0,
        )
        self.prefix = full[:k]
        self.suffix = full[k + len(plain) :]

    @property
    def type_name(self) -> str:
        return VOCAB_TYPES.get(self.type, f"type {self.type}")

    def tokenize(
        self, text: str | bytes, *, add_special: bool = False, parse_special: bool = False
    ) -> list[int]:
        lc = self._lc
        data = text.encode("utf-8") if isinstance(text, str) else text
        cap = len(data) + 8
        buf = (lc.llama_token * cap)()
        n = lc.llama_tokenize(self._vocab, data, len(data), buf, cap, add_special, parse_special)
        if n < 0:
            cap = -n
            buf = (lc.llama_token * cap)()
            n = lc.llama_tokenize(
                self._vocab, data, len(data), buf, cap, add_special, parse_special
            )
        return list(buf[:n])

    def text(self, token: int) -> bytes:
        """The token's text as the vocabulary stores it (what the partition matches)."""
        t = self._lc.llama_vocab_get_text(self._vocab, token)
        return bytes(t) if t else b""

    def attr(self, token: int) -> int:
        return int(self._lc.llama_vocab_get_attr(self._vocab, token))

    def piece(self, token: int, *, special: bool = False, lstrip: int = 0) -> bytes:
        buf = self._piece_buf
        fn = self._lc.llama_token_to_piece
        n = fn(self._vocab, token, buf, len(buf), lstrip, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = fn(self._vocab, token, buf, len(buf), lstrip, special)
        return buf.raw[:n]

    def special_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.text(token).decode("utf-8", "replace")

    def detokenize(self, tokens: Iterable[int]) -> str:
        return b"".join(self.piece(t, special=True) for t in tokens).decode("utf-8", "replace")


class VocabModel:
    """A GGUF loaded with its vocabulary only (no weights): tokenizer and metadata."""

    def __init__(self, path: str | Path) -> None:
        lc = import_llama_cpp()
        lc.llama_backend_init()
        self._lc = lc
        self.path = str(path)
        params = lc.llama_model_default_params()
        params.vocab_only = True
        model = lc.llama_model_load_from_file(self.path.encode(), params)
        if not model:
            raise ModelLoadError(f"llama.cpp could not read the vocabulary of {self.path}")
        self._model = model
        self.vocab = Vocab(lc, lc.llama_model_get_vocab(model))
        t = lc.llama_model_chat_template(model, None)
        self.chat_template: str | None = t.decode("utf-8", "replace") if t else None

    def close(self) -> None:
        if getattr(self, "_model", None):
            self._lc.llama_model_free(self._model)
            self._model = None

    def __enter__(self) -> VocabModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Fragment = bytes | int  # text, or a special token's id


def partition(data: bytes, specials: Sequence[tuple[bytes, int, int]]) -> list[Fragment]:
    """Cut text into special tokens and text fragments, as llama.cpp's tokenizer does.

    ``specials`` are (text, id, attr), longest first. Each special token in turn is
    found in the text fragments left by the longer ones; LSTRIP / RSTRIP tokens eat the
    whitespace beside them (llama_vocab::impl::tokenizer_st_partition).
    """
    frags: list[Fragment] = [data] if data else []
    for text, tid, attr in specials:
        if not text:
            continue
        out: list[Fragment] = []
        for frag in frags:
            if isinstance(frag, int):
                out.append(frag)
                continue
            pos = 0
            while True:
                m = frag.find(text, pos)
                if m < 0:
                    if pos < len(frag):
                        out.append(frag[pos:])
                    break
                left = frag[pos:m]
                if attr & ATTR_LSTRIP:
                    left = left.rstrip(_WS)
                if left:
                    out.append(left)
                out.append(tid)
                pos = m + len(text)
                if attr & ATTR_RSTRIP:
                    while pos < len(frag) and frag[pos] in _WS:
                        pos += 1
        frags = out
    return frags


class Prompter:
    """Messages -> prompt tokens, through a chat template and a vocabulary."""

    def __init__(self, vocab: Vocab, apply: Callable[[list[Message]], str] | None) -> None:
        """``apply`` renders messages to the prompt text; None means no chat template:
        the messages are joined as plain text (a base model continues the text)."""
        self.vocab = vocab
        self.apply = apply
        self._found: dict[str, tuple[str, ...]] = {}  # content -> protected texts in it

    # -- text -----------------------------------------------------------------

    def text(self, messages: list[Message]) -> str:
        """The rendered prompt (the BOS/EOS the vocabulary adds itself taken off)."""
        text, table = self._render(messages)
        return _restorer(table)(text)

    def _render(self, messages: list[Message]) -> tuple[str, list[str]]:
        """The prompt text with protected texts swapped for placeholders, and the table
        of what they stand for. A conversation whose last message is the assistant's is
        a reply to continue (a prefill): the template renders the messages before it,
        with the assistant's turn opened, and that message's text follows as the
        reply's start."""
        history, prefill = split_prefill(messages)
        if self.apply is None:
            return plain_prompt(history) + prefill, []
        table: list[str] = []
        index: dict[str, str] = {}
        escaped = [Message(m.role, self._escape(m.content, table, index)) for m in history]
        text = self._strip_affixes(self.apply(escaped))
        return text + self._escape(prefill, table, index), table

    def _strip_affixes(self, text: str) -> str:
        """A template that writes BOS itself (``{{ bos_token }}``) would double the BOS
        the vocabulary adds; llama.cpp's chat code takes it off the text, so does quill."""
        v = self.vocab
        if v.prefix and v.prefix[0] == v.bos:
            bos = v.special_text(v.bos)
            if bos and text.startswith(bos):
                text = text[len(bos) :]
        if v.suffix and v.suffix[-1] == v.eos:
            eos = v.special_text(v.eos)
            if eos and text.endswith(eos):
                text = text[: -len(eos)]
        return text

    def _protected_in(self, content: str) -> tuple[str, ...]:
        """Texts of control/unknown tokens found in ``content`` (cached per content)."""
        hit = self._found.get(content)
        if hit is not None:
            return hit
        v = self.vocab
        ids = {t for t in v.tokenize(content, parse_special=True) if v.attr(t) & PROTECTED}
        texts = {v.text(t).decode("utf-8", "replace") for t in ids}
        hit = tuple(sorted((t for t in texts if t and t in content), key=len, reverse=True))
        if len(self._found) >= _CACHE:
            self._found.pop(next(iter(self._found)))
        self._found[content] = hit
        return hit

    def _escape(self, content: str, table: list[str], index: dict[str, str]) -> str:
        texts = self._protected_in(content)
        pua = _PUA_RE.search(content) is not None
        if not texts and not pua:
            return content
        parts = [re.escape(t) for t in texts]
        if pua:
            parts.append(_PUA_RE.pattern)

        def swap(m: re.Match[str]) -> str:
            s = m.group()
            if s not in index:
                if _PUA + len(table) >= _PUA_END:
                    raise ValueError("too many protected strings in one prompt")
                index[s] = chr(_PUA + len(table))
                table.append(s)
            return index[s]

        return re.sub("|".join(parts), swap, content)

    # -- tokens ---------------------------------------------------------------

    def tokens(self, messages: list[Message], *, force_partition: bool = False) -> list[int]:
        text, table = self._render(messages)
        v = self.vocab
        if self.apply is None:
            return v.tokenize(text, add_special=True, parse_special=False)
        if not table and not force_partition:
            return v.tokenize(text, add_special=True, parse_special=True)
        return self._partitioned(text, table)

    def _partitioned(self, text: str, table: list[str]) -> list[int]:
        v = self.vocab
        data = text.encode("utf-8")
        # The special tokens llama.cpp finds in this text (placeholders hide the writer's).
        found = {t for t in v.tokenize(data, parse_special=True) if v.attr(t) & SPECIAL}
        specials = sorted(((v.text(t), t, v.attr(t)) for t in found), key=lambda s: -len(s[0]))
        out = list(v.prefix)
        restore = _restorer(table)
        for frag in partition(data, specials):
            if isinstance(frag, int):
                out.append(frag)
            else:
                out += v.tokenize(restore(frag.decode("utf-8")), parse_special=False)
        return out + list(v.suffix)


def _restorer(table: list[str]) -> Callable[[str], str]:
    if not table:
        return lambda s: s
    return lambda s: _PUA_RE.sub(
        lambda m: table[i] if 0 <= (i := ord(m.group()) - _PUA) < len(table) else m.group(), s
    )


def split_prefill(messages: list[Message]) -> tuple[list[Message], str]:
    """(the conversation before the reply, the start of the reply): a last message of
    role "assistant" is the opening of the reply the model continues ("" when the
    conversation ends with another role, or the assistant message is empty)."""
    if messages and messages[-1].role == "assistant":
        return messages[:-1], messages[-1].content
    return messages, ""


def prefill_seam(prefill: str) -> tuple[str, str]:
    """(the reply's start as evaluated, the spaces the continuation owes): a prefill
    that ends on spaces ("# ", "Subject: ") is evaluated without them, because a BPE or
    SentencePiece vocabulary writes a space together with the word after it (" Title"),
    and a model that has to start its reply after a lone space token starts badly. The
    model then writes the space itself, and :func:`settle` takes it off again."""
    head = prefill.rstrip(" \t")
    return head, prefill[len(head) :]


def settle(pieces: Iterator[Piece], owed: str, restart: str = "") -> Iterator[Piece]:
    """A continuation with the spaces ``owed`` (see :func:`prefill_seam`) taken off its
    start, as far as it begins with them, so that the prefill plus the stream is the
    reply. ``restart``: the prefill as sent to a backend that may answer afresh instead
    of continuing it; a reply that begins with it again loses that copy. Honours a
    StopRequested thrown in, as every stream transform does."""
    if not owed and not restart:
        yield from pieces
        return
    held = ""
    deciding = True
    for piece in pieces:
        text = piece.text
        final = piece.finish is not None
        if deciding:
            held += text
            probe = held.lstrip()
            wait = len(held) < len(owed) and owed.startswith(held)
            if restart and len(probe) < len(restart) and restart.startswith(probe):
                wait = True
            if wait and not final:
                continue
            deciding = False
            if restart and probe.startswith(restart):
                held = probe[len(restart) :]
            k = 0
            while k < min(len(owed), len(held)) and held[k] == owed[k]:
                k += 1
            text = held[k:]
        if final:
            yield Piece(text, finish=piece.finish, stats=piece.stats, note=piece.note)
            return
        if text and (yield from pass_on(Piece(text), pieces)):
            return


def plain_prompt(messages: list[Message]) -> str:
    """A prompt for a model without a chat template (a base model continues text): the
    messages as plain text, the brief and the material. A system message is left out
    (unless it is all there is): it speaks to a chat model about its replies, and a model
    that continues text would print it back instead of following it."""
    said = [m for m in messages if m.role != "system" and m.content.strip()]
    parts = [m.content.strip() for m in said or messages if m.content.strip()]
    return "\n\n".join(parts) + "\n\n" if parts else ""
