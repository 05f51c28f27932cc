"""The OpenAI-compatible backend against a stub server on 127.0.0.1 (no model): every
failure a real server can produce is one clear line, exit code 9, and no lost text.

The stub is http.server in a thread on port 0; each test sets what the chat endpoint
does. Every loop is bounded; only loopback is contacted."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, Streams

from quill.engine.base import Message, Sampling, StopRequested
from quill.engine.http import HttpClient, parse_base_url
from quill.engine.openai import OpenAIEngine, approx_tokens
from quill.env import EngineOptions, Environment
from quill.errors import BackendError, UsageError
from quill.store.db import Store

KEY = "sk-secret-key-1234"
REPLY = "The linen shirt is light and cool. It keeps its shape all day long."
WORDS = REPLY.split(" ")


class Stub:
    """What the stub server does, and what it saw."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.key: str | None = None
        self.models: Any = {"data": [{"id": "stub-model", "owned_by": "stub"}]}
        self.props: dict[str, Any] | None = {
            "default_generation_settings": {"n_ctx": 2048},
            "total_slots": 2,
        }
        self.delay = 0.0
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.chat_calls = 0
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        # With pair_up, a reply waits (up to a minute) until a second request is in
        # flight, once: two jobs are seen at once however the machine schedules them.
        self.pair_up = False
        self.paired = threading.Event()

    def chat_bodies(self) -> list[Any]:
        return [b for m, p, h, b in self.requests if p == "/v1/chat/completions"]


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with stub.lock:
                stub.connections += 1

        def log_message(self, *args: object) -> None:
            pass

        def _json(self, status: int, obj: Any, ctype: str = "application/json") -> None:
            data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            if stub.key is None or self.headers.get("Authorization") == f"Bearer {stub.key}":
                return True
            self._json(401, {"error": {"message": "Invalid API key"}})
            return False

        def do_GET(self) -> None:
            self.requests_append(None)
            if not self._authorized():
                return
            if self.path == "/v1/models":
                if stub.mode == "notjson":
                    self._json(200, b"<html>hello</html>", "text/html")
                else:
                    self._json(200, stub.models)
            elif self.path == "/props" and stub.props is not None:
                self._json(200, stub.props)
            else:
                self._json(404, {"error": {"message": "File Not Found"}})

        def requests_append(self, body: Any) -> None:
            with stub.lock:
                stub.requests.append((self.command, self.path, dict(self.headers), body))

        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"null")
            self.requests_append(body)
            if not self._authorized():
                return
            if self.path == "/tokenize":
                self._json(200, {"tokens": list(range(len(body["content"].split())))})
            elif self.path == "/v1/chat/completions":
                with stub.lock:
                    stub.chat_calls += 1
                    stub.active += 1
                    stub.max_active = max(stub.max_active, stub.active)
                    if stub.active >= 2:
                        stub.paired.set()
                if stub.pair_up:
                    stub.paired.wait(60)
                try:
                    self._chat(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away mid-reply
                finally:
                    with stub.lock:
                        stub.active -= 1
            else:
                self._json(404, {"error": {"message": "File Not Found"}})

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _event(self, obj: Any) -> None:
            self._chunk(b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()))
            self._chunk(b"\n\n")

        def _chat(self, body: dict[str, Any]) -> None:
            mode = stub.mode
            if mode == "429once":
                mode = "429" if stub.chat_calls == 1 else "ok"
            if mode == "429":
                self._json(429, {"error": {"message": "slots busy"}})
                return
            if mode == "500":
                self._json(500, {"error": {"message": "boom: out of memory"}})
                return
            if mode == "whole":  # a server that ignores "stream": one JSON reply
                message = {"role": "assistant", "content": REPLY}
                self._json(200, {"choices": [{"message": message, "finish_reason": "stop"}]})
                return
            if mode == "404model":
                self._json(404, {"error": {"message": f"model '{body['model']}' not found"}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(b": ping\n\n")  # an SSE comment, as llama-cpp-python sends
            words = [w + " " for w in WORDS][: int(body.get("max_tokens", 100))]
            for i, word in enumerate(words):
                if mode == "done-early" and i == 4:  # llama-cpp-python on a second request
                    self._event(b"[DONE]")
                    self._chunk(b"")
                    return
                if mode in ("cut", "cut-eof", "sse-error") and i == 4:
                    if mode == "sse-error":
                        self._event({"error": {"message": "the slot crashed"}})
                        break
                    if mode == "cut":  # half a chunk, then the socket closes
                        self.wfile.write(b'40\r\ndata: {"cho')
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if stub.delay:
                    time.sleep(stub.delay)
                self._event({"choices": [{"index": 0, "delta": {"content": word}}]})
            finish = "length" if len(words) < len(WORDS) else "stop"
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
            self._event({"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 9}})
            self._event(b"[DONE]")
            self._chunk(b"")

    return Handler


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    s = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.start()
    try:
        yield s, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)


SERVER_VARS = ("QUILL_BACKEND", "QUILL_BASE_URL", "QUILL_API_KEY", "QUILL_PARALLEL")


def outer_environ() -> dict[str, str]:
    """This process's environment without a server the developer may have configured."""
    return {k: v for k, v in os.environ.items() if k not in SERVER_VARS}


@pytest.fixture
def run(quill_home: Path) -> Callable[..., Run]:
    """The CLI in process with the real engine factory (no fake engine)."""
    from typer.testing import CliRunner

    from quill.cli.app import app
    from quill.errors import QuillError

    def go(
        args: list[str], *, stdin: str | None = None, environ: dict[str, str] | None = None
    ) -> Run:
        env = Environment(
            stdin=Streams(stdin or ""),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            stdin_tty=stdin is None,
            stdout_tty=False,
            stderr_tty=False,
            environ={**outer_environ(), **(environ or {})},
        )
        result = CliRunner().invoke(app, args, obj=env)
        code = result.exit_code
        exc = result.exception
        if exc is not None and not isinstance(exc, SystemExit):
            if not isinstance(exc, QuillError):
                raise exc
            env.ui.error(exc.message, exc.hint)
            code = exc.exit_code
        env.close()
        return Run(code, env.stdout.getvalue(), env.stderr.getvalue(), env)  # type: ignore[union-attr]

    return go


def server_args(url: str, *rest: str) -> list[str]:
    return ["--backend", "openai", "--base-url", url, *rest]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def versions(home: Path) -> list[Any]:
    with Store(home / "data" / "quill.db") as store:
        return [v for d in store.drafts() for v in store.draft_versions(d.id)]


# -- it works -------------------------------------------------------------------------


def test_draft_streams_from_the_server(stub: tuple[Stub, str], run: Callable[..., Run]) -> None:
    s, url = stub
    r = run(server_args(url, "--api-key", KEY, "draft", "a linen shirt", "--seed", "3"))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == " ".join(WORDS)
    body = s.chat_bodies()[0]
    assert body["stream"] is True and body["model"] == "stub-model" and body["seed"] == 3
    assert (
        body["messages"][-1]["role"] == "user" and "linen shirt" in body["messages"][-1]["content"]
    )
    assert all(h.get("Authorization") == f"Bearer {KEY}" for _, _, h, _ in s.requests)
    assert KEY not in r.stderr


def test_engine_reads_context_slots_and_counts_from_the_server(stub: tuple[Stub, str]) -> None:
    s, url = stub
    e = OpenAIEngine(url + "/v1/")
    try:
        assert e.info.n_ctx == 2048 and e.info.parallel == 2 and e.info.name == "stub-model"
        assert e.count("one two three") == 3
        assert e.facts.tokenizer == "/tokenize" and e.facts.kind == "llama-server"
        result = e.complete([Message("user", "hi")], Sampling(max_tokens=5))
        assert result.text == "".join(w + " " for w in WORDS[:5]) and result.finish == "length"
        assert result.stats.generated_tokens == 9  # from the server's usage
        e.complete([Message("user", "hi")], Sampling(max_tokens=5, dry=0.8))
        assert s.connections == 1  # one kept-alive connection for every request
        first, retry = s.chat_bodies()[-2:]  # a checked retry's DRY sampler, llama-server's
        assert "dry_multiplier" not in first and retry["dry_multiplier"] == 0.8
    finally:
        e.close()


def test_a_reply_that_does_not_stream_is_read_whole(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.mode = "whole"
    e = OpenAIEngine(url)
    try:
        result = e.complete([Message("user", "hi")], Sampling())
        assert (result.text, result.finish) == (REPLY, "stop")
    finally:
        e.close()


def test_no_props_means_the_flags_decide(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.props = None
    e = OpenAIEngine(url, n_ctx=1024, parallel=3)
    try:
        assert (e.info.n_ctx, e.info.parallel) == (1024, 3)
        assert e.count("one two three") == 3  # /tokenize answered in llama-server's shape
    finally:
        e.close()


def test_stop_mid_stream_closes_the_connection(stub: tuple[Stub, str]) -> None:
    s, url = stub
    s.delay = 0.01
    e = OpenAIEngine(url)
    try:
        it = e.stream([Message("user", "hi")], Sampling())
        assert next(it).text == WORDS[0] + " "
        final = it.throw(StopRequested("interrupted"))  # type: ignore[attr-defined]
        assert final.finish == "interrupted" and final.stats is not None
        assert e.complete([Message("user", "hi")], Sampling()).finish == "stop"
        assert s.connections == 2  # the abandoned stream's socket was not reused
    finally:
        e.close()


def test_summarize_jobs_run_map_steps_at_once(
    stub: tuple[Stub, str], run: Callable[..., Run], tmp_path: Path
) -> None:
    s, url = stub
    s.props = {"default_generation_settings": {"n_ctx": 400}, "total_slots": 2}
    s.delay = 0.02
    s.pair_up = True
    doc = tmp_path / "doc.md"
    doc.write_text(
        "\n\n".join(
            f"## Part {i}\n\n" + "Tea grows on the hills of Yunnan. " * 40 for i in range(6)
        )
    )
    r = run(
        server_args(
            url,
            "summarize",
            str(doc),
            "--method",
            "map-reduce",
            "--jobs",
            "2",
            "--max-tokens",
            "30",
        )
    )
    assert r.exit_code == 0, r.stderr
    assert s.chat_calls >= 4 and s.max_active == 2, (s.chat_calls, r.stderr)


# -- failures: one line, exit 9, nothing lost -----------------------------------------


def test_connection_refused(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection is retried with a short backoff, then one error line: the
    waits are counted (not timed), so a loaded machine cannot make this fail."""
    slept: list[float] = []
    init = HttpClient.__init__

    def counting(self: HttpClient, *a: Any, **kw: Any) -> None:
        init(self, *a, **{**kw, "sleep": slept.append})

    monkeypatch.setattr(HttpClient, "__init__", counting)
    r = run(server_args(f"http://127.0.0.1:{closed_port()}", "draft", "x"))
    assert r.exit_code == 9
    assert "connection refused" in r.stderr and "hint:" in r.stderr
    assert "Traceback" not in r.stderr
    assert 0 < len(slept) <= 3 and sum(slept) < 5, slept


def test_name_lookup_failure_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kw: object) -> None:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)  # no real lookup leaves the machine
    client = HttpClient("http://no-such-host.invalid:8080")
    with pytest.raises(BackendError, match=r"cannot find the server host `no-such-host\.invalid`"):
        client.get_json("/v1/models")


@pytest.mark.parametrize("key", [KEY, None])
def test_wrong_or_missing_key(
    stub: tuple[Stub, str], run: Callable[..., Run], key: str | None
) -> None:
    s, url = stub
    s.key = "the-right-key"
    args = server_args(url, *(["--api-key", key] if key else []), "draft", "x")
    r = run(args)
    assert r.exit_code == 9
    assert ("refused the API key" if key else "wants an API key") in r.stderr
    assert KEY not in r.stderr and "the-right-key" not in r.stderr


def test_key_from_environment_is_used(stub: tuple[Stub, str], run: Callable[..., Run]) -> None:
    s, url = stub
    s.key = KEY
    r = run(
        ["draft", "x"],
        environ={"QUILL_BACKEND": "openai", "QUILL_BASE_URL": url, "QUILL_API_KEY": KEY},
    )
    assert r.exit_code == 0, r.stderr


def test_unknown_model(stub: tuple[Stub, str], run: Callable[..., Run]) -> None:
    s, url = stub
    r = run(server_args(url, "draft", "x", "--model", "gpt-9"))
    assert r.exit_code == 0 and "serves one model, stub-model" in r.stderr  # llama-server
    s.props = None  # a server that may route by model name: the name must be one it lists
    r = run(server_args(url, "draft", "x", "--model", "gpt-9"))
    assert r.exit_code == 9
    assert "does not serve model `gpt-9`" in r.stderr and "stub-model" in r.stderr


def test_404_model_from_the_chat_endpoint(stub: tuple[Stub, str], run: Callable[..., Run]) -> None:
    s, url = stub
    s.mode = "404model"
    r = run(server_args(url, "draft", "x"))
    assert r.exit_code == 9 and "does not have that model" in r.stderr


def test_429_is_retried_then_explained(stub: tuple[Stub, str], run: Callable[..., Run]) -> None:
    s, url = stub
    s.mode = "429once"
    r = run(server_args(url, "draft", "x"))
    assert r.exit_code == 0, r.stderr
    assert s.chat_calls == 2
    s.mode, s.chat_calls = "429", 0
    r = run(server_args(url, "draft", "x"))
    assert r.exit_code == 9 and "too many requests" in r.stderr and "--jobs" in r.stderr
    assert s.chat_calls == 3  # the first try and two retries, no more


def test_server_error(stub: tuple[Stub, str], run: Callable[..., Run]) -> None:
    s, url = stub
    s.mode = "500"
    r = run(server_args(url, "draft", "x"))
    assert r.exit_code == 9 and "HTTP 500: boom: out of memory" in r.stderr


def test_reply_that_is_not_json(stub: tuple[Stub, str], run: Callable[..., Run]) -> None:
    s, url = stub
    s.mode = "notjson"
    r = run(server_args(url, "draft", "x"))
    assert r.exit_code == 9 and "is not JSON" in r.stderr and "<html>" in r.stderr


@pytest.mark.parametrize("mode", ["cut", "cut-eof", "sse-error", "done-early"])
def test_stream_broken_mid_draft_keeps_the_text(
    stub: tuple[Stub, str], run: Callable[..., Run], quill_home: Path, mode: str
) -> None:
    s, url = stub
    s.mode = mode
    r = run(server_args(url, "draft", "a linen shirt"))
    partial = "".join(w + " " for w in WORDS[:4])
    assert r.exit_code == 9, r.stderr
    assert r.stdout.startswith(partial.strip())
    assert "text so far is kept" in r.stderr and "Traceback" not in r.stderr
    (v,) = versions(quill_home)
    assert v.interrupted and v.content.strip() == partial.strip()


def test_stream_broken_mid_chat_reply_keeps_it(
    stub: tuple[Stub, str], run: Callable[..., Run], quill_home: Path
) -> None:
    s, url = stub
    s.mode = "cut"
    r = run(server_args(url, "chat", "--session", "s"), stdin="hello there")
    assert r.exit_code == 9
    with Store(quill_home / "data" / "quill.db") as store:
        session = store.session("s")
        assert session is not None
        turns = store.turns(session.id)
    assert [t.role for t in turns][-2:] == ["user", "assistant"]
    assert turns[-1].interrupted and turns[-1].content.startswith(WORDS[0])


# -- options --------------------------------------------------------------------------


def test_openai_backend_needs_a_url(run: Callable[..., Run]) -> None:
    r = run(["--backend", "openai", "draft", "x"])
    assert r.exit_code == 2 and "--base-url" in r.stderr


def test_unknown_backend(run: Callable[..., Run]) -> None:
    r = run(["draft", "x"], environ={"QUILL_BACKEND": "cloud"})
    assert r.exit_code == 2 and "--backend must be local or openai" in r.stderr


def test_options_precedence(quill_home: Path) -> None:
    cfg = quill_home / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[defaults]\nbackend = "openai"\nbase_url = "http://conf:1"\nparallel = 2\n')
    env = Environment(environ={"QUILL_HOME": str(quill_home), "QUILL_BASE_URL": "http://var:2"})
    o = env.resolve_options(EngineOptions())
    assert (o.backend, o.base_url, o.parallel) == ("openai", "http://var:2", 2)
    env.backend_flags = EngineOptions(base_url="http://flag:3", api_key=KEY)
    o = env.resolve_options(EngineOptions())
    assert o.base_url == "http://flag:3" and KEY not in repr(o)
    assert (
        Environment(environ={"QUILL_HOME": str(quill_home / "x")})
        .resolve_options(EngineOptions())
        .backend
        == "local"
    )


def test_base_url_forms() -> None:
    assert parse_base_url("http://127.0.0.1:8080/v1/").url == "http://127.0.0.1:8080"
    assert parse_base_url("localhost:11434").url == "http://localhost:11434"
    assert parse_base_url("https://models.example/llm/v1").url == "https://models.example:443/llm"
    with pytest.raises(UsageError):
        parse_base_url("ftp://x")
    with pytest.raises(UsageError):
        parse_base_url("http://user:pw@host")


def test_approximate_count_is_on_the_safe_side() -> None:
    assert approx_tokens("The linen shirt is light and cool.") >= 8
    assert approx_tokens("秋天的海边很安静") >= 6
    assert approx_tokens("1234567890") >= 10


@pytest.mark.usefixtures("unchecked")  # one call a file: the stub's replies are stand-ins
def test_summarize_many_files_side_by_side_in_input_order(
    stub: tuple[Stub, str], run: Callable[..., Run], tmp_path: Path, quill_home: Path
) -> None:
    s, url = stub
    s.delay = 0.02
    s.pair_up = True
    names = [f"doc{i}.md" for i in range(4)]
    for i, name in enumerate(names):
        (tmp_path / name).write_text(f"# Doc {i}\n\nTea number {i} is grown on a hill.\n")
    r = run(server_args(url, "summarize", *[str(tmp_path / n) for n in names], "--jobs", "2"))
    assert r.exit_code == 0, r.stderr
    heads = [line[2:] for line in r.stdout.splitlines() if line.startswith("# ")]
    assert heads == [str(tmp_path / n) for n in names] or heads == names
    assert s.max_active == 2 and s.chat_calls == 4
    assert "summarized 4 files" in r.stderr
    vs = versions(quill_home)
    assert len(vs) == 4 and not any(v.interrupted for v in vs)


def test_summarize_many_files_broken_stream(
    stub: tuple[Stub, str], run: Callable[..., Run], tmp_path: Path, quill_home: Path
) -> None:
    s, url = stub
    s.mode = "cut"
    files = []
    for i in range(3):
        files.append(tmp_path / f"d{i}.md")
        files[-1].write_text(f"Tea number {i} is grown on a hill.\n")
    r = run(server_args(url, "summarize", *map(str, files), "--jobs", "2"))
    assert r.exit_code == 9 and "broke off" in r.stderr
    vs = versions(quill_home)
    assert len(vs) == 3 and all(v.interrupted for v in vs)


def test_doctor_checks_the_server(stub: tuple[Stub, str], run: Callable[..., Run]) -> None:
    _, url = stub
    r = run(server_args(url, "doctor"))
    assert r.exit_code == 0, r.stdout + r.stderr
    for text in ("reachable (llama-server)", "stub-model", "2,048 tokens (/props)", "2 (from"):
        assert text in r.stdout
    r = run(server_args(f"http://127.0.0.1:{closed_port()}", "doctor"))
    assert r.exit_code == 1 and "connection refused" in r.stderr


def test_chat_model_switch_on_a_server_names_the_servers_model(
    stub: tuple[Stub, str], quill_home: Path
) -> None:
    """`/model NAME` in a chat on a server backend asks the server for NAME: it is not
    looked up among the local models."""
    from quill.cli.chat import _switch_model

    s, url = stub
    s.models = {"data": [{"id": "stub-model"}, {"id": "other-model"}]}
    env = Environment(environ={**outer_environ(), "QUILL_BACKEND": "openai", "QUILL_BASE_URL": url})
    try:
        first = EngineOptions(model="stub-model")
        env.engine(first)
        engine, opts = _switch_model(env, None, first, "other-model")  # type: ignore[arg-type]
        assert opts.model == "other-model"
        assert "other-model" in engine.info.name
    finally:
        env.close()
