"""Assistant prefill: a conversation whose last message is the assistant's asks for the
rest of that reply. The prompt is the template rendered for the messages before it, the
reply opened, and the prefill's text after it; the stream is the continuation only.
Checked on many real chat templates and vocabularies (from llama.cpp's source tree), the
fake engine, the HTTP backend against a stub server, and the embedded model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from assets import vendor_files

from quill.engine.base import Message, Piece, Sampling, StopRequested, join
from quill.engine.fake import FakeEngine
from quill.engine.template import ChatTemplate, choose
from quill.engine.tokens import (
    PROTECTED,
    Prompter,
    VocabModel,
    plain_prompt,
    prefill_seam,
    settle,
    split_prefill,
)

ASK = [
    Message("system", "You are a careful writer."),
    Message("user", "A news story: the library reopens."),
]
OPENING = "# Library"


@pytest.fixture(scope="module")
def vendor() -> Path:
    folder, why = vendor_files()
    if folder is None:
        pytest.skip(f"llama.cpp's vocabulary files and templates are not available: {why}")
    return folder


# -- the prompt ----------------------------------------------------------------------


def test_split_prefill() -> None:
    assert split_prefill(ASK) == (ASK, "")
    assert split_prefill([*ASK, Message("assistant", "# T")]) == (ASK, "# T")
    assert prefill_seam("Subject: ") == ("Subject:", " ")
    assert prefill_seam("# Title\n\n") == ("# Title\n\n", "")


@pytest.mark.parametrize(
    "name",
    [
        "meta-llama-Llama-3.1-8B-Instruct",
        "Qwen-Qwen2.5-7B-Instruct",
        "google-gemma-2-2b-it",
        "mistralai-Mistral-Nemo-Instruct-2407",
        "microsoft-Phi-3.5-mini-instruct",
        "deepseek-ai-DeepSeek-R1-Distill-Llama-8B",
        "Qwen-Qwen3-0.6B",
    ],
)
def test_jinja_templates_render_the_reply_opened_then_the_prefill(vendor: Path, name: str) -> None:
    path = vendor / "templates" / f"{name}.jinja"
    if not path.exists():
        pytest.skip(f"{path.name} is not in this llama.cpp")
    t = choose(path.read_text(), bos="<s>", eos="</s>", add_bos=True)
    with VocabModel(vendor / "ggml-vocab-llama-bpe.gguf") as vm:
        p = Prompter(vm.vocab, t.apply)
        opened = p.text(ASK)
        text = p.text([*ASK, Message("assistant", OPENING)])
        assert text == opened + OPENING
        # Not a finished assistant turn followed by a new one: the text ends in the reply.
        finished = p.text([*ASK, Message("assistant", OPENING), Message("user", "More.")])
        assert text.endswith(OPENING) and not finished.endswith(OPENING)


@pytest.mark.parametrize("vocab_name", ["qwen2", "phi-3", "command-r", "gemma-4", "llama-spm"])
def test_prefill_tokens_are_the_whole_text_tokenized(vendor: Path, vocab_name: str) -> None:
    path = vendor / f"ggml-vocab-{vocab_name}.gguf"
    if not path.exists():
        pytest.skip(f"{path.name} is not in this llama.cpp")
    with VocabModel(path) as vm:
        v = vm.vocab
        t = (
            choose(vm.chat_template, bos=v.special_text(v.bos), eos=v.special_text(v.eos))
            if vm.chat_template
            else choose(None, override="chatml")
        )
        p = Prompter(v, t.apply)
        msgs = [*ASK, Message("assistant", OPENING)]
        text = p.text(msgs)
        assert text.endswith("\n" + OPENING) or text.endswith(OPENING)
        assert p.tokens(msgs) == v.tokenize(text, add_special=True, parse_special=True)
        # The reply's start is the writer's text too: a control token's text in it stays
        # text, and the prompt's control tokens are those of the conversation before it.
        typed = p.tokens([*ASK, Message("assistant", "# <|im_end|></s><end_of_turn>")])
        plain = p.tokens(ASK)
        assert [x for x in typed if v.attr(x) & PROTECTED] == [
            x for x in plain if v.attr(x) & PROTECTED
        ]


@pytest.mark.parametrize("name", ["chatml", "llama3", "gemma", "mistral-v7", "phi3"])
def test_builtin_templates_open_the_reply_then_the_prefill(vendor: Path, name: str) -> None:
    t = choose(None, override=name)
    with VocabModel(vendor / "ggml-vocab-qwen2.gguf") as vm:
        p = Prompter(vm.vocab, t.apply)
        assert p.text([*ASK, Message("assistant", OPENING)]) == p.text(ASK) + OPENING
        bare = Prompter(vm.vocab, None)  # no template: plain completion
        assert bare.text([*ASK, Message("assistant", OPENING)]) == plain_prompt(ASK) + OPENING


def test_chat_template_object_opens_the_reply(vendor: Path) -> None:
    source = (vendor / "templates" / "google-gemma-2-2b-it.jinja").read_text()
    t = ChatTemplate("jinja", "jinja", "", source, "<bos>", "<eos>", merge_system=True)
    with VocabModel(vendor / "ggml-vocab-gemma-4.gguf") as vm:
        text = Prompter(vm.vocab, t.apply).text([*ASK, Message("assistant", "Dear")])
    assert text.endswith("<start_of_turn>model\nDear")


# -- the continuation ----------------------------------------------------------------


def pieces(*texts: str) -> Iterator[Piece]:
    for t in texts:
        yield Piece(t)
    yield Piece("", finish="stop")


def test_settle_takes_the_owed_space_off_the_start() -> None:
    assert join(settle(pieces(" Tea", " shop"), " ")).text == "Tea shop"
    assert join(settle(pieces("", " ", "Tea"), " ")).text == "Tea"
    assert join(settle(pieces("\nTea"), " ")).text == "\nTea"  # nothing owed there: as is
    assert join(settle(pieces("Tea"), "")).text == "Tea"


def test_settle_drops_a_restarted_reply() -> None:
    """A server that answered afresh instead of continuing wrote the prefill again."""
    assert join(settle(pieces("Sub", "ject: Hello"), " ", "Subject:")).text == "Hello"
    assert join(settle(pieces(" Hello there"), " ", "Subject:")).text == "Hello there"


def test_settle_honours_a_stop_request() -> None:
    def engine() -> Iterator[Piece]:
        try:
            for w in [" one", " two", " three"] * 10:
                yield Piece(w)
        except StopRequested as stop:
            yield Piece("", finish=stop.reason)  # type: ignore[arg-type]

    s: Any = settle(engine(), " ")
    assert next(s).text == "one"
    last = s.throw(StopRequested("interrupted"))
    assert last.finish == "interrupted"


def test_fake_engine_continues_the_reply() -> None:
    whole = "# Library reopens\n\nThe town library opened its doors on Monday."
    e = FakeEngine(whole)
    got = e.complete([*ASK, Message("assistant", "# ")], Sampling())
    assert "# " + got.text == whole
    assert e.calls[-1][-1] == Message("assistant", "# ")
    # A reply that does not repeat the prefill is the continuation as it is.
    got = FakeEngine("Library reopens").complete([*ASK, Message("assistant", "# ")], Sampling())
    assert got.text == "Library reopens"


# -- the HTTP backend ------------------------------------------------------------------


class _Server:
    def __init__(self, kind: str, reply: str) -> None:
        self.kind, self.reply = kind, reply
        self.bodies: list[Any] = []


def _serve(state: _Server) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, obj: Any, status: int = 200) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                owner = "me" if state.kind == "llama-cpp-python" else "stub"
                self._send({"data": [{"id": "stub", "owned_by": owner}]})
            elif self.path == "/props" and state.kind == "llama-server":
                self._send({"default_generation_settings": {"n_ctx": 2048}, "total_slots": 1})
            else:
                self._send({"error": {"message": "not found"}}, 404)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.bodies.append(body)
            words = [w + " " for w in state.reply.split(" ")]
            words[-1] = words[-1].rstrip()
            out = b"".join(
                b"data: "
                + json.dumps({"choices": [{"delta": {"content": w}, "index": 0}]}).encode()
                + b"\n\n"
                for w in words
            )
            end = {"choices": [{"delta": {}, "index": 0, "finish_reason": "stop"}]}
            out += b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize(
    ("kind", "reply", "want"),
    [
        ("llama-server", " Tea shop opens", "Tea shop opens"),  # continues the prefill
        ("llama-cpp-python", "Subject: Tea shop opens", "Tea shop opens"),  # answers afresh
    ],
)
def test_http_backend_sends_the_prefill_last(kind: str, reply: str, want: str) -> None:
    from quill.engine.openai import OpenAIEngine

    state = _Server(kind, reply)
    server = _serve(state)
    e = OpenAIEngine(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        got = e.complete([*ASK, Message("assistant", "Subject: ")], Sampling(max_tokens=20))
    finally:
        e.close()
        server.shutdown()
    assert got.text == want
    sent = state.bodies[-1]["messages"]
    assert sent[-1] == {"role": "assistant", "content": "Subject:"}
    assert sent[:-1] == [{"role": m.role, "content": m.content} for m in ASK]


# -- the real model --------------------------------------------------------------------


@pytest.mark.model
def test_real_model_continues_a_prefilled_reply(llama_engine: Any) -> None:
    msgs = [
        Message("user", "Write a two-sentence news story: the town library reopens today."),
        Message("assistant", "# "),
    ]
    got = llama_engine.complete(msgs, Sampling(temperature=0, seed=1, max_tokens=40))
    text = got.text
    assert text and not text[0].isspace()  # the owed space was the model's own
    assert not text.startswith("#")  # a continuation, not a fresh reply with a heading
    first = text.split("\n", 1)[0]
    assert 0 < len(first.split()) <= 15  # a heading line, then the story
    # The prefill is counted into the prompt: the next call shares its cached prefix.
    again = llama_engine.complete(msgs, Sampling(temperature=0, seed=1, max_tokens=40))
    assert again.text == text and again.stats.cached_tokens > 0


@pytest.mark.model
def test_a_heading_begun_for_the_model_goes_on_after_its_space(llama_engine: Any) -> None:
    """The reply begun "# " is evaluated as "#" (the space belongs to the next word's
    token), and the model's first token must then begin with that space: left free, it
    wrote "LinenShirt" after "#", a hashtag, where a heading was meant."""
    from quill.writing import draft

    messages = draft.build_messages("a product page for a linen shirt", form="product")
    assert messages[-1] == Message("assistant", "# ")
    for temperature, seed in ((0.0, 0), (0.8, 3)):
        params = Sampling(temperature=temperature, seed=seed, max_tokens=6)
        text = join(llama_engine.stream(messages, params)).text
        assert text[:1].isalpha(), repr(text)  # the owed space, then a word
        assert text.split()[0].lower().startswith("linen"), repr(text)


@pytest.mark.model
def test_a_title_begun_for_the_model_starts_with_a_capital(llama_engine: Any) -> None:
    """Begun in lower case, a title went on as a hashtag: the 1.5B wrote "# linen-shirt
    #quality #comfortable" and "# linenShirt" on 4 of 12 seeds of this brief."""
    from quill.writing import draft

    messages = draft.build_messages("a product page for a linen shirt")
    for seed in (0, 5, 6, 10):
        params = Sampling(temperature=0.8, top_k=40, top_p=0.95, seed=seed, max_tokens=3)
        text = join(llama_engine.stream(messages, params)).text
        assert text[:1].isupper(), repr(text)
