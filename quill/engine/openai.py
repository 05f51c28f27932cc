"""The HTTP backend: an OpenAI-compatible model server (llama-server, llama-cpp-python's
server, vLLM, Ollama) behind the same Engine contract as the in-process model.

Only the URL the user configured is contacted. What the server says about itself is
used where it says it: the context size from llama-server's ``/props`` or vLLM's
``/v1/models`` (``max_model_len``), the parallel slots from ``/props`` (``total_slots``),
token counts from its tokenize endpoint (llama-server ``/tokenize``, vLLM ``/tokenize``,
llama-cpp-python ``/extras/tokenize/count``). Elsewhere the user's ``--ctx`` and
``--parallel`` apply, and tokens are estimated (:func:`approx_tokens`, on the safe side).

A reply streams over ``/v1/chat/completions`` (server-sent events). A stream that breaks
after it began raises :class:`~quill.errors.BackendError` from the stream: the Generation
reading it closes as "interrupted" with the text so far (kept in the draft or chat store),
and the command exits with the backend's exit code.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from quill.engine.base import (
    Finish,
    Message,
    ModelInfo,
    Piece,
    Result,
    Sampling,
    Stats,
    StopRequested,
    join,
)
from quill.engine.http import HttpClient, HttpError, error_text, parse_json
from quill.engine.tokens import prefill_seam, settle, split_prefill
from quill.errors import BackendError, ContextOverflow

DEFAULT_CTX = 4096  # when neither the server nor --ctx says
LLAMA_CPP_PYTHON_CTX = 2048  # llama-cpp-python's server default --n_ctx (it does not say)
OLLAMA_CTX = 2048  # Ollama's smallest default num_ctx: assume it unless --ctx says more
MESSAGE_TOKENS = 8  # role markers and separators of one chat message (ChatML: 5)
PROMPT_TOKENS = 32  # the reply prefix and a default system prompt some templates add
BROKEN_HINT = (
    "the text so far is kept, marked interrupted (in the drafts or the chat session); "
    "`quill doctor` checks the server"
)


def approx_tokens(text: str) -> int:
    """A token estimate on the safe side, for servers with no tokenize endpoint: every
    digit a token (Qwen and Llama 3 split numbers so), every other 3 UTF-8 bytes a token
    (English runs about 4 characters a token, Chinese about 1.3 characters, 3 bytes
    each), plus 10%."""
    digits = sum(ch.isdigit() for ch in text)
    rest = len(text.encode("utf-8")) - digits
    return math.ceil((digits + rest / 3) * 1.1)


@dataclass
class ServerFacts:
    """What a server says about itself (``quill doctor`` shows it)."""

    kind: str = "OpenAI-compatible"
    models: list[str] = field(default_factory=list)
    n_ctx: int | None = None
    ctx_source: str = ""
    parallel: int | None = None
    tokenizer: str = ""  # the endpoint counting tokens, or "" before the first count


def probe(client: HttpClient) -> ServerFacts:
    """Ask the server what it serves (``/v1/models``: failures raise) and, where it
    answers, its context size and slots (``/props``) or whether it is Ollama."""
    facts = ServerFacts()
    data = client.get_json("/v1/models")
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise BackendError(
            f"{client.url}/v1/models did not list models",
            hint="is --base-url an OpenAI-compatible server?",
        )
    owners = set()
    for m in entries:
        if isinstance(m, dict) and isinstance(m.get("id"), str):
            facts.models.append(m["id"])
            owners.add(str(m.get("owned_by", "")))
            if isinstance(m.get("max_model_len"), int) and facts.n_ctx is None:
                facts.n_ctx, facts.ctx_source = m["max_model_len"], "/v1/models max_model_len"
                facts.kind = "vLLM"
    if facts.kind == "vLLM" or "vllm" in owners:
        facts.kind = "vLLM"
        return facts
    props = _optional(client, "/props")
    if isinstance(props, dict) and (
        "default_generation_settings" in props or "total_slots" in props
    ):
        facts.kind = "llama-server"
        settings = props.get("default_generation_settings") or {}
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        n_ctx = n_ctx or props.get("n_ctx")
        if isinstance(n_ctx, int) and n_ctx > 0:
            facts.n_ctx, facts.ctx_source = n_ctx, "/props"
        slots = props.get("total_slots")
        if isinstance(slots, int) and slots > 0:
            facts.parallel = slots
        return facts
    if owners == {"me"}:  # llama-cpp-python's server names itself so
        facts.kind = "llama-cpp-python"
        return facts
    version = _optional(client, "/api/version")
    if isinstance(version, dict) and "version" in version:
        facts.kind = f"Ollama {version['version']}"
    return facts


def _optional(client: HttpClient, path: str) -> Any:
    """GET an endpoint only some servers have; None where it is missing or odd."""
    try:
        return client.get_json(path)
    except HttpError as exc:
        if exc.status in (401, 403):
            raise
        return None
    except BackendError:
        return None


def pick_model(facts: ServerFacts, wanted: str | None, url: str) -> tuple[str, str]:
    """The model to ask for, and a warning (or ""). Without --model, the server's first."""
    if not wanted:
        if not facts.models:
            return "default", ""
        return facts.models[0], ""
    if not facts.models or wanted in facts.models or f"{wanted}:latest" in facts.models:
        return wanted, ""
    served = ", ".join(facts.models[:8])
    if facts.kind in ("llama-server", "llama-cpp-python") and len(facts.models) == 1:
        return facts.models[0], f"{url} serves one model, {served}: using it for `{wanted}`"
    raise BackendError(
        f"the server at {url} does not serve model `{wanted}`",
        hint=f"it serves: {served}; choose one with --model",
    )


class OpenAIEngine:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        n_ctx: int | None = None,
        parallel: int | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self.client = HttpClient(
            base_url,
            api_key,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            backoff=backoff,
        )
        self.warnings: list[str] = []
        self.notes: list[str] = []
        try:
            self.facts = probe(self.client)
            self.model, warning = pick_model(self.facts, model, self.client.url)
        except BaseException:
            self.client.close()
            raise
        if warning:
            self.warnings.append(warning)
        ctx = self._context(n_ctx)
        slots = self.facts.parallel or parallel or 1
        self.info = ModelInfo(
            name=self.model,
            path=self.client.url,
            n_ctx=ctx,
            n_train_ctx=ctx,
            backend=f"openai ({self.facts.kind})",
            parallel=max(1, slots),
        )
        self._count_lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._tokenizer: str | None = None

    def _context(self, n_ctx: int | None) -> int:
        f = self.facts
        if f.kind.startswith("Ollama"):
            self.warnings.append(
                "Ollama cuts prompts longer than its num_ctx silently (2048 or 4096 tokens "
                "by default): quill plans for "
                + (f"--ctx {n_ctx}" if n_ctx else f"{OLLAMA_CTX} tokens (pass --ctx N)")
                + "; set the same on the server (OLLAMA_CONTEXT_LENGTH, or num_ctx in a "
                "Modelfile), see docs/server.md"
            )
            f.n_ctx, f.ctx_source = n_ctx or OLLAMA_CTX, "--ctx" if n_ctx else "Ollama default"
        elif f.n_ctx is not None:
            if n_ctx and n_ctx < f.n_ctx:
                f.n_ctx, f.ctx_source = n_ctx, "--ctx (below the server's)"
        else:
            assumed = LLAMA_CPP_PYTHON_CTX if f.kind == "llama-cpp-python" else DEFAULT_CTX
            f.n_ctx = n_ctx or assumed
            f.ctx_source = "--ctx" if n_ctx else "assumed: the server does not say"
            if not n_ctx:
                self.notes.append(
                    f"the server does not report its context size: quill assumes {assumed} "
                    "tokens (pass --ctx N to match the server)"
                )
        return f.n_ctx

    # -- tokens -----------------------------------------------------------------

    def count(self, text: str) -> int:
        if not text:
            return 0
        with self._count_lock:
            hit = self._counts.get(text)
        if hit is not None:
            return hit
        n = self._count_remote(text)
        with self._count_lock:
            if len(self._counts) > 8192:
                self._counts.clear()
            self._counts[text] = n
        return n

    def _count_remote(self, text: str) -> int:
        if self._tokenizer is None:
            self._tokenizer = self._find_tokenizer(text)
            self.facts.tokenizer = self._tokenizer
        method = self._tokenizer
        if method == "approx":
            return approx_tokens(text)
        reply = self.client.post_json(*self._tokenize_request(method, text))
        return _token_count(reply, self.client.url)

    def _tokenize_request(self, method: str, text: str) -> tuple[str, dict[str, Any]]:
        if method == "/extras/tokenize/count":
            return method, {"input": text, "model": self.model}
        if method == "/tokenize vllm":
            return "/tokenize", {"model": self.model, "prompt": text, "add_special_tokens": False}
        return "/tokenize", {"content": text, "add_special": False}

    def _find_tokenizer(self, text: str) -> str:
        kind = self.facts.kind
        if kind.startswith("Ollama"):
            return "approx"
        order = {
            "llama-server": ["/tokenize"],
            "vLLM": ["/tokenize vllm"],
            "llama-cpp-python": ["/extras/tokenize/count"],
        }.get(kind, ["/extras/tokenize/count", "/tokenize", "/tokenize vllm"])
        for method in order:
            try:
                _token_count(self.client.post_json(*self._tokenize_request(method, text)), "")
                return method
            except HttpError as exc:
                if exc.status in (401, 403):
                    raise
            except BackendError:
                pass
        return "approx"

    def count_messages(self, messages: list[Message]) -> int:
        return sum(self.count(m.content) + MESSAGE_TOKENS for m in messages) + PROMPT_TOKENS

    # -- generation -------------------------------------------------------------

    def request_body(self, messages: list[Message], params: Sampling, budget: int) -> dict:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": budget,
            "temperature": params.temperature,
            "top_p": params.top_p if params.temperature > 0 else 1.0,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if not self.facts.kind.startswith("Ollama"):  # llama.cpp and vLLM samplers
            body.update(top_k=params.top_k, min_p=params.min_p)
            if self.facts.kind == "vLLM":
                body["repetition_penalty"] = params.repeat_penalty
            else:
                body["repeat_penalty"] = params.repeat_penalty
        if params.dry > 0 and self.facts.kind == "llama-server":  # its DRY sampler
            body["dry_multiplier"] = params.dry
        if params.grammar:
            body["grammar"] = params.grammar
        if messages and messages[-1].role == "assistant" and self.facts.kind == "vLLM":
            body.update(continue_final_message=True, add_generation_prompt=False)
        return body

    def stream(self, messages: list[Message], params: Sampling) -> Iterator[Piece]:
        """Send the request now (so a refused request fails before anything is
        recorded); the returned iterator reads the reply as it streams.

        A last message of role "assistant" is the start of the reply to continue (a
        prefill). It is sent as the conversation's last message, which llama.cpp's
        server (llama-server) continues: the template renders the messages before it
        with the reply opened, the text follows, and the stream is the continuation
        only (unless started with ``--no-prefill-assistant``). vLLM is asked to continue
        it with ``continue_final_message``. Spaces it ends on are left to the model
        (see :func:`quill.engine.tokens.prefill_seam`). Other servers (llama-cpp-python's,
        OpenAI's own API; Ollama's depends on its version) may write a fresh reply
        after it instead: a reply that starts with the prefill again loses that copy,
        but a fresh reply is not steered by the prefill as a continuation is."""
        _, prefill = split_prefill(messages)
        head, owed = prefill_seam(prefill)
        if owed:
            messages = [*messages[:-1], Message("assistant", head)] if head else messages[:-1]
        n_prompt = self.count_messages(messages)
        if n_prompt >= self.info.n_ctx:
            raise ContextOverflow(
                f"the prompt is about {n_prompt} tokens; the server's context holds "
                f"{self.info.n_ctx}"
            )
        budget = max(1, min(params.max_tokens, self.info.n_ctx - n_prompt))
        t0 = time.perf_counter()
        resp = self.client.open(
            "POST", "/v1/chat/completions", self.request_body(messages, params, budget), stream=True
        )
        cut: Finish = "length" if budget >= params.max_tokens else "context"
        pieces = self._read(resp, self.client.current(), n_prompt, t0, cut)
        if not head:
            return pieces
        continues = self.facts.kind in ("llama-server", "vLLM")
        return settle(pieces, owed, "" if continues else head)

    def _read(
        self,
        resp: http.client.HTTPResponse,
        conn: http.client.HTTPConnection | None,
        n_prompt: int,
        t0: float,
        cut: Finish,
    ) -> Iterator[Piece]:
        """The pieces of one reply; ``cut`` is the finish a server's "length" means
        (the --max-tokens budget, or the context window when that was smaller)."""
        stats = Stats(prompt_tokens=n_prompt, evaluated_tokens=n_prompt)
        finish: Finish | None = None
        pieces = 0
        complete = drained = False
        try:
            for kind, value in self._events(resp):
                if kind == "text":
                    if pieces == 0:
                        stats.ttft_s = time.perf_counter() - t0
                    pieces += 1
                    try:
                        yield Piece(value)
                    except StopRequested as stop:
                        finish = stop.reason  # type: ignore[assignment]
                        break  # closing the socket tells the server to stop
                elif kind == "finish":
                    finish = cut if value == "length" else "stop"
                elif kind == "usage":
                    _usage(stats, value)
                elif kind == "done":
                    complete = True
            if finish is None and not complete:
                raise BackendError(
                    f"the server's reply ended early, after {pieces} pieces, without a finish",
                    hint=BROKEN_HINT,
                )
            if finish is None:  # [DONE] without a finish reason: cut short by the server
                raise BackendError(
                    f"the server ended the reply after {pieces} pieces without saying why "
                    "(no finish reason); llama-cpp-python's server does this when another "
                    "request arrives: start it with --interrupt_requests False, or use --jobs 1",
                    hint=BROKEN_HINT,
                )
            if complete:
                drained = _drain(resp)
        except (OSError, http.client.HTTPException) as exc:
            if finish is None:
                raise BackendError(
                    f"the server's reply broke off after {pieces} pieces ({_why(exc)})",
                    hint=BROKEN_HINT,
                ) from None
        finally:
            if not drained and conn is not None:  # stopped, broken or abandoned
                self.client.drop(conn)
        stats.generated_tokens = stats.generated_tokens or pieces
        if pieces:
            stats.gen_s = max(time.perf_counter() - t0 - stats.ttft_s, 1e-9)
        yield Piece("", finish=finish or "stop", stats=stats)

    def _events(self, resp: http.client.HTTPResponse) -> Iterator[tuple[str, Any]]:
        """("text", str), ("finish", reason), ("usage", dict), ("done", None) from an SSE
        stream; a plain JSON reply (a server that does not stream) is read whole."""
        where = f"{self.client.url}/v1/chat/completions"
        ctype = (resp.getheader("Content-Type") or "").lower()
        if "text/event-stream" not in ctype:  # a whole reply: a missing reason means stop
            yield "finish", "stop"
            yield from _chunk_events(parse_json(resp.read(), where, self.client.api_key), where)
            yield "done", None
            return
        data: list[str] = []
        while True:
            raw = resp.readline(1 << 20)
            if not raw:
                return  # EOF: the caller decides whether it came too early
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
                continue
            if line or not data:
                continue  # comments (": ping"), event names, or blank lines between events
            payload, data = "\n".join(data), []
            if payload.strip() == "[DONE]":
                yield "done", None
                return
            obj = parse_json(payload.encode(), where, self.client.api_key)
            yield from _chunk_events(obj, where)

    def complete(self, messages: list[Message], params: Sampling) -> Result:
        return join(self.stream(messages, params))

    def close(self) -> None:
        self.client.close()


def _chunk_events(obj: Any, where: str) -> Iterator[tuple[str, Any]]:
    if not isinstance(obj, dict):
        raise BackendError(f"{where} sent an event that is not an object")
    if obj.get("error"):
        said = error_text(json.dumps(obj).encode())
        raise BackendError(f"the server failed while replying: {said}", hint=BROKEN_HINT)
    choices = obj.get("choices") or []
    if choices and isinstance(choices[0], dict):
        choice = choices[0]
        part = choice.get("delta") or choice.get("message") or {}
        text = part.get("content") if isinstance(part, dict) else None
        if isinstance(text, str) and text:
            yield "text", text
        if choice.get("finish_reason"):
            yield "finish", choice["finish_reason"]
    if isinstance(obj.get("usage"), dict):
        yield "usage", obj["usage"]
    if isinstance(obj.get("timings"), dict):  # llama-server: what was evaluated
        yield "usage", {"timings": obj["timings"]}


def _usage(stats: Stats, usage: dict[str, Any]) -> None:
    if isinstance(usage.get("prompt_tokens"), int):
        stats.prompt_tokens = usage["prompt_tokens"]
        stats.evaluated_tokens = usage["prompt_tokens"]
    if isinstance(usage.get("completion_tokens"), int):
        stats.generated_tokens = usage["completion_tokens"]
    t = usage.get("timings")
    if isinstance(t, dict) and isinstance(t.get("prompt_n"), int):
        stats.evaluated_tokens = t["prompt_n"]
        if isinstance(t.get("prompt_ms"), int | float):
            stats.prompt_s = t["prompt_ms"] / 1000


def _token_count(reply: Any, where: str) -> int:
    if isinstance(reply, dict):
        if isinstance(reply.get("count"), int):
            return int(reply["count"])
        if isinstance(reply.get("tokens"), list):
            return len(reply["tokens"])
    raise BackendError(f"{where} tokenize reply has no token count")


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no data within the read timeout"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed mid-message"
    return type(exc).__name__


def _drain(resp: http.client.HTTPResponse) -> bool:
    """Read what follows [DONE] so the connection can be used again."""
    try:
        resp.read()
    except (OSError, http.client.HTTPException):
        return False
    return not resp.will_close
