"""`quill summarize` of 8 files against a server with 4 parallel slots: --jobs 4 against
--jobs 1, side by side in one run; prints the speedup.

With --base-url it uses a running server (e.g. `llama-server -m model.gguf -np 4 -c 16384`,
then pass --slots 4). Without it, it starts --slots replicas of llama-cpp-python's server
(`python -m llama_cpp.server`, each one request at a time, --threads each) on 127.0.0.1
behind a small least-busy balancer in this process: 4 slots the way a team scales past
one server. On a small CPU the replicas share the same cores, so expect little; the
figure that matters is on a GPU server with slots (continuous batching).

    python benchmarks/server_jobs.py [--base-url URL] [--slots 4] [--files 8]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOPICS = [
    ("Tea", "Green tea is grown on misty hills and picked by hand in early spring."),
    ("Linen", "Linen is woven from flax fibres; it keeps cool and softens with each wash."),
    ("Harbour", "The old harbour was dredged last year so larger ferries can dock at night."),
    ("Library", "The town library now lends tools, seeds and musical instruments as well."),
    ("Bakery", "The bakery starts its ovens at four and sells out of rye bread by nine."),
    ("Trail", "The coastal trail was rerouted inland after the winter storms broke a cliff."),
    ("Orchard", "The orchard grows eleven apple varieties, three of them nearly forgotten."),
    ("Market", "The Saturday market moved to the square, and its stalls doubled in a year."),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Balancer:
    """Forwards each request to the replica with the fewest requests in flight."""

    def __init__(self, upstreams: list[int]) -> None:
        self.busy = dict.fromkeys(upstreams, 0)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _pick(self) -> int:
        with self.lock:
            port = min(self.busy, key=lambda p: self.busy[p])
            self.busy[port] += 1
            return port

    def _release(self, port: int) -> None:
        with self.lock:
            self.busy[port] -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        bal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                port = bal._pick()
                try:
                    up = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    up.request(self.command, self.path, body, headers)
                    resp = up.getresponse()
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                            self.send_header(k, v)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    while chunk := resp.read1(65536):
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    up.close()
                finally:
                    bal._release(port)

        return Handler


def start_replicas(model: str, slots: int, threads: int, ctx: int) -> list[subprocess.Popen]:
    procs, ports = [], []
    for _ in range(slots):
        port = free_port()
        cmd = [
            sys.executable, "-m", "llama_cpp.server", "--model", model,
            "--model_alias", "bench", "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(ctx), "--n_threads", str(threads),
            "--n_threads_batch", str(threads), "--verbose", "False",
            "--interrupt_requests", "False",
        ]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    for proc, port in zip(procs, ports, strict=True):
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"a server replica exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("a server replica did not start in 180 s") from None
                time.sleep(0.5)
    for proc, port in zip(procs, ports, strict=True):
        proc.port = port  # type: ignore[attr-defined]
    return procs


def write_docs(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        title, line = TOPICS[i % len(TOPICS)]
        text = f"# {title}\n\n" + " ".join([line] * 6) + "\n"
        p = folder / f"{i + 1:02d}-{title.lower()}.md"
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths


def run(url: str, slots: int, jobs: int, files: list[Path], args: argparse.Namespace) -> float:
    cmd = [
        sys.executable, "-m", "quill", "--backend", "openai", "--base-url", url,
        "--parallel", str(slots), "summarize", *map(str, files), "--jobs", str(jobs),
        "--no-save", "--temperature", "0", "--seed", "1", "--max-tokens", str(args.max_tokens),
    ]  # fmt: skip
    if args.ctx:
        cmd += ["--ctx", str(args.ctx)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"quill failed ({r.returncode}): {r.stderr[-800:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", help="a running server (else replicas are started here)")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--model", help="GGUF for the replicas (default: the embedded model)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per replica")
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--max-tokens", type=int, default=48)
    args = ap.parse_args()

    procs: list[subprocess.Popen] = []
    try:
        if args.base_url:
            url, where = args.base_url, args.base_url
        else:
            model = args.model
            if model is None:
                from quill.models import default

                model = str(default.ensure_user_model())
            procs = start_replicas(model, args.slots, args.threads, args.ctx)
            url = Balancer([p.port for p in procs]).url  # type: ignore[attr-defined]
            where = (
                f"{args.slots} llama-cpp-python replicas x {args.threads} thread(s) "
                f"on {os.cpu_count()} CPU cores"
            )
        with tempfile.TemporaryDirectory() as tmp:
            files = write_docs(Path(tmp), args.files)
            run(url, args.slots, args.slots, files[:1], args)  # warm-up
            one = run(url, args.slots, 1, files, args)
            many = run(url, args.slots, args.slots, files, args)
        print(f"server: {where}")
        print(f"summarize {args.files} files, --jobs 1: {one:.1f} s")
        print(f"summarize {args.files} files, --jobs {args.slots}: {many:.1f} s")
        print(f"speedup: {one / many:.2f}x")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)


if __name__ == "__main__":
    main()
