"""A small HTTP client for OpenAI-compatible model servers (standard library only).

One :class:`HttpClient` per engine. Each thread keeps one keep-alive connection, so
concurrent map steps of a summary each have their own socket. Connect and read have their
own timeouts. A request is retried with backoff only before any of its reply has been
used (connection refused or reset, 429, 502/503/504); a stream that breaks after it began
is never retried (its partial text belongs to the caller). Every failure becomes a
:class:`~quill.errors.BackendError` with a plain message; the API key is never shown.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from quill.errors import BackendError, UsageError

RETRY_STATUS = frozenset({429, 502, 503, 504})
URL_HINT = "check --base-url (or QUILL_BASE_URL); `quill doctor` checks the server"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int
    prefix: str  # path before /v1, without a trailing slash

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.prefix}"


def parse_base_url(base_url: str) -> Endpoint:
    """``http://host:8080``, ``http://host:8080/v1`` or ``https://host/some/prefix/v1``."""
    raw = base_url.strip()
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--base-url must be an http(s) URL such as http://127.0.0.1:8080, not `{base_url}`"
        )
    if parts.username or parts.password:
        raise UsageError("--base-url must not carry credentials", hint="pass --api-key instead")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UsageError(f"--base-url has a bad port: `{base_url}`") from None
    prefix = parts.path.rstrip("/")
    if prefix.endswith("/v1"):
        prefix = prefix[:-3]
    return Endpoint(parts.scheme, parts.hostname, port, prefix)


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    auth: str | None  # the Proxy-Authorization header's value, from user:password@

    def headers(self) -> dict[str, str]:
        return {"Proxy-Authorization": self.auth} if self.auth else {}


def _loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_for(endpoint: Endpoint, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The HTTP proxy for ``endpoint`` as users' other tools choose it: HTTPS_PROXY for
    https, HTTP_PROXY for http (either case), none for a host NO_PROXY names, and never for
    a loopback address (a server on this machine is reached directly)."""
    if _loopback(endpoint.host):
        return None
    if environ is None:
        proxies = urllib.request.getproxies_environment()
    else:
        proxies = {k.lower().removesuffix("_proxy"): v for k, v in environ.items() if v and
                   k.lower().endswith("_proxy")}  # fmt: skip
    url = proxies.get(endpoint.scheme)
    if not url:
        return None
    if urllib.request.proxy_bypass_environment(endpoint.host, proxies):  # type: ignore[attr-defined]
        return None
    parts = urlsplit(url if "://" in url else "http://" + url)
    if not parts.hostname:
        return None
    auth = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname, parts.port or 8080, auth)


def snippet(text: str, secret: str | None = None, limit: int = 160) -> str:
    """A server's words made safe to print: one line, no control characters, short,
    and never the API key."""
    if secret:
        text = text.replace(secret, "***")
    text = _CONTROL.sub(" ", text).strip()
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(body: bytes, secret: str | None = None) -> str:
    """The message in an error reply ({"error": {"message": …}}, {"detail": …}, text)."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return snippet(text, secret)
    msg: Any = data
    if isinstance(data, dict):
        msg = data.get("error", data.get("detail", data.get("message", data)))
        if isinstance(msg, dict):
            msg = msg.get("message", msg)
    return snippet(msg if isinstance(msg, str) else json.dumps(msg), secret)


class HttpError(BackendError):
    """An HTTP status the server answered with (after retries)."""

    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class HttpClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        retries: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.endpoint = parse_base_url(base_url)
        self.proxy = proxy_for(self.endpoint, environ)
        self.api_key = api_key or None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: set[http.client.HTTPConnection] = set()

    @property
    def url(self) -> str:
        return self.endpoint.url

    # -- connections ------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            ep, px = self.endpoint, self.proxy
            host, port = (px.host, px.port) if px else (ep.host, ep.port)
            if ep.scheme == "https":
                ctx = ssl.create_default_context()
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self.connect_timeout, context=ctx
                )
                if px:  # a CONNECT tunnel through the proxy; TLS is with the server
                    conn.set_tunnel(ep.host, ep.port, headers=px.headers())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
            self._local.conn = conn
            with self._lock:
                self._all.add(conn)
        if conn.sock is None:
            with self._lock:
                self._all.add(conn)
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(self.read_timeout)
        return conn

    def current(self) -> http.client.HTTPConnection | None:
        """This thread's connection (the one the last request of this thread used)."""
        return getattr(self._local, "conn", None)

    def drop(self, conn: http.client.HTTPConnection | None = None) -> None:
        """Close a connection (by default this thread's) after a reply was abandoned or
        broke; the next request on it connects again."""
        conn = conn or self.current()
        if conn is not None:
            if self.current() is conn:
                self._local.conn = None
            with self._lock:
                self._all.discard(conn)
            conn.close()

    def close(self) -> None:
        with self._lock:
            conns, self._all = list(self._all), set()
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # -- requests ---------------------------------------------------------------

    def _target(self, path: str) -> str:
        """The request target: the path, or the absolute URL for a plain-HTTP proxy."""
        ep = self.endpoint
        if self.proxy and ep.scheme == "http":
            return f"http://{ep.host}:{ep.port}{ep.prefix}{path}"
        return ep.prefix + path

    def _headers(self, stream: bool) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.proxy and self.endpoint.scheme == "http":
            h.update(self.proxy.headers())
        if stream:
            h["Accept"] = "text/event-stream"
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def open(
        self, method: str, path: str, body: object = None, *, stream: bool = False
    ) -> http.client.HTTPResponse:
        """Send a request and return the response with a 2xx status (its body unread);
        retried with backoff while nothing of the reply has been used."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempt = 0
        stale_retry = True
        while True:
            try:
                conn = self._connection()
                conn.request(method, self._target(path), data, self._headers(stream))
                resp = conn.getresponse()
            except (
                http.client.RemoteDisconnected,
                http.client.ImproperConnectionState,  # an earlier reply left unread
                BrokenPipeError,
                ConnectionResetError,
            ):
                self.drop()
                if stale_retry:  # a kept-alive socket the server had closed: once, at once
                    stale_retry = False
                    continue
                if attempt < self.retries:
                    attempt += 1
                    self._sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise BackendError(
                    f"the server at {self.url} closed the connection", hint=URL_HINT
                ) from None
            except OSError as exc:
                self.drop()
                if isinstance(exc, ConnectionRefusedError) and attempt < self.retries:
                    attempt += 1
                    self._sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise self._os_error(exc) from None
            except http.client.HTTPException as exc:
                self.drop()
                raise BackendError(
                    f"the server at {self.url} sent a reply that is not HTTP ({exc!r})",
                    hint=URL_HINT,
                ) from None
            if 200 <= resp.status < 300:
                return resp
            payload = self._read_rest(resp)
            if resp.status in RETRY_STATUS and attempt < self.retries:
                attempt += 1
                self._sleep(self._delay(resp, attempt))
                continue
            raise self._status_error(resp.status, payload, path)

    def _read_rest(self, resp: http.client.HTTPResponse) -> bytes:
        try:
            data = resp.read(65536)
            if not resp.isclosed():
                self.drop()
            return data
        except (OSError, http.client.HTTPException):
            self.drop()
            return b""

    def _delay(self, resp: http.client.HTTPResponse, attempt: int) -> float:
        wait = self.backoff * 2 ** (attempt - 1)
        after = resp.getheader("Retry-After")
        if after and after.strip().isdigit():
            wait = max(wait, min(float(after), 10.0))
        return wait

    def request_json(self, method: str, path: str, body: object = None) -> Any:
        resp = self.open(method, path, body)
        try:
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.drop()
            raise BackendError(
                f"the reply from {self.url}{path} broke off ({type(exc).__name__})", hint=URL_HINT
            ) from None
        return parse_json(data, f"{self.url}{path}", self.api_key)

    def get_json(self, path: str) -> Any:
        return self.request_json("GET", path)

    def post_json(self, path: str, body: object) -> Any:
        return self.request_json("POST", path, body)

    # -- errors -----------------------------------------------------------------

    def _os_error(self, exc: OSError) -> BackendError:
        where = self.url
        if isinstance(exc, socket.gaierror):
            return BackendError(
                f"cannot find the server host `{self.endpoint.host}` (name lookup failed)",
                hint=URL_HINT,
            )
        if isinstance(exc, ConnectionRefusedError):
            return BackendError(
                f"cannot connect to {where}: connection refused",
                hint="is the server running? see docs/server.md; " + URL_HINT,
            )
        if isinstance(exc, TimeoutError | socket.timeout):
            return BackendError(
                f"no answer from {where} within the time limit",
                hint="the server may be overloaded or unreachable; " + URL_HINT,
            )
        if isinstance(exc, ssl.SSLError):
            return BackendError(f"TLS failed with {where}: {exc.reason}", hint=URL_HINT)
        return BackendError(f"cannot reach {where}: {exc.strerror or exc}", hint=URL_HINT)

    def _status_error(self, status: int, body: bytes, path: str) -> HttpError:
        said = error_text(body, self.api_key)
        tail = f": {said}" if said else ""
        if status in (401, 403):
            if self.api_key:
                msg = f"the server refused the API key (HTTP {status})"
                hint = "check --api-key (or QUILL_API_KEY)"
            else:
                msg = f"the server wants an API key (HTTP {status})"
                hint = "pass --api-key (or set QUILL_API_KEY)"
            return HttpError(status, msg, hint)
        if status == 404:
            if "model" in said.lower():
                return HttpError(
                    status,
                    f"the server does not have that model (HTTP 404{tail})",
                    "`quill doctor` lists the models it serves; choose one with --model",
                )
            return HttpError(
                status,
                f"{self.url}{path} does not exist (HTTP 404)",
                "is --base-url an OpenAI-compatible server? " + URL_HINT,
            )
        if status == 429:
            return HttpError(
                status,
                f"the server is busy: too many requests (HTTP 429{tail})",
                "try again later, or lower --jobs",
            )
        if status >= 500:
            return HttpError(
                status,
                f"the server failed (HTTP {status}{tail})",
                "the server's own log says why; `quill doctor` checks it",
            )
        return HttpError(status, f"the server refused the request (HTTP {status}{tail})", None)


def parse_json(data: bytes, where: str, secret: str | None = None) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        said = snippet(data.decode("utf-8", "replace"), secret, 80)
        raise BackendError(
            f"the reply from {where} is not JSON" + (f": {said!r}" if said else " (empty)"),
            hint="is --base-url an OpenAI-compatible server? " + URL_HINT,
        ) from None
