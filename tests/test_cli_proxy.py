"""The server backend goes through HTTPS_PROXY / HTTP_PROXY as users' other HTTP tools do:
NO_PROXY names hosts reached directly, and a server on this machine is never proxied."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from quill.engine.http import HttpClient, parse_base_url, proxy_for


class _Proxy(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, str]]] = []

    def do_GET(self) -> None:
        _Proxy.seen.append((self.command, self.path, self.headers.get("Proxy-Authorization", "")))
        body = json.dumps({"data": [{"id": "m"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[str]:
    _Proxy.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://user:secret@127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_plain_http_goes_through_the_proxy_with_its_credentials(proxy: str) -> None:
    client = HttpClient("http://models.example:8080", environ={"HTTP_PROXY": proxy}, retries=0)
    assert client.get_json("/v1/models") == {"data": [{"id": "m"}]}
    method, target, auth = _Proxy.seen[0]
    assert (method, target) == ("GET", "http://models.example:8080/v1/models")
    assert auth.startswith("Basic ")
    client.close()


def test_https_tunnels_through_the_proxy() -> None:
    ep = parse_base_url("https://api.example/v1")
    px = proxy_for(ep, {"HTTPS_PROXY": "http://proxy.local:3128", "HTTP_PROXY": "http://x:1"})
    assert px is not None and (px.host, px.port) == ("proxy.local", 3128)


@pytest.mark.parametrize(
    ("url", "environ"),
    [
        ("http://127.0.0.1:8080", {"HTTP_PROXY": "http://proxy.local:3128"}),
        ("http://localhost:8080", {"http_proxy": "http://proxy.local:3128"}),
        ("http://[::1]:8080", {"HTTP_PROXY": "http://proxy.local:3128"}),
        ("https://api.example", {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example"}),
        ("https://api.example", {"https_proxy": "http://p:1", "no_proxy": "*"}),
        ("https://api.example", {"HTTP_PROXY": "http://p:1"}),  # http's proxy is not https's
        ("http://api.example", {}),
    ],
)
def test_no_proxy_where_it_does_not_apply(url: str, environ: dict[str, str]) -> None:
    assert proxy_for(parse_base_url(url), environ) is None
