"""The OpenAI-compatible backend against a real model server: llama-cpp-python's
server (``python -m llama_cpp.server``) on 127.0.0.1, serving the default model on the
CPU with a small context, started and stopped by a fixture. quill runs as a child
process: draft, summarize with --jobs 2, and a chat turn go through the server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_quill

pytestmark = pytest.mark.model

SERVER_CTX = 2048
# llama-cpp-python's server, with llama.cpp's extra CPU buffer types chosen as quill
# chooses them (off on CPUs that report AMX, where the AMX kernels crash in virtual
# machines that do not enable the tiles; QUILL_CPU_EXTRA_BUFFERS decides otherwise).
SERVER_BOOT = """
import runpy, sys
import llama_cpp.llama_cpp as lc
from quill.engine.hardware import use_extra_buffers
default_params = lc.llama_model_default_params
def model_params():
    params = default_params()
    params.use_extra_bufts = use_extra_buffers()
    return params
lc.llama_model_default_params = model_params
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(default_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a llama-cpp-python server on the default model (stopped afterwards)."""
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]")
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [
        sys.executable, "-c", SERVER_BOOT,
        "--model", str(default_model), "--model_alias", "qwen-test",
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(SERVER_CTX), "--n_threads", "2", "--verbose", "False",
        "--interrupt_requests", "False",  # else a second request cuts the first one short
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/v1/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not start in 120 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def env(quill_home: Path, server: str) -> dict[str, str]:
    return {
        "QUILL_HOME": str(quill_home),
        "QUILL_BACKEND": "openai",
        "QUILL_BASE_URL": server,
        "QUILL_CTX": str(SERVER_CTX),
        "PYTHONUNBUFFERED": "1",
    }


def test_draft_through_the_server(env: dict[str, str]) -> None:
    r = run_quill(
        ["draft", "one sentence about green tea", "--max-tokens", "40", "--temperature", "0",
         "--seed", "7", "--stats"],
        env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.split()) >= 3
    assert "generated" in r.stderr and "saved as draft 1 v1" in r.stderr


def test_summarize_with_two_jobs(env: dict[str, str], tmp_path: Path) -> None:
    """quill plans for a 512-token context, so the document is read in several parts,
    two requests at a time (the server answers them in turn)."""
    doc = tmp_path / "tea.md"
    parts = [
        "## Growing\n\n" + "Green tea grows on misty hills in Yunnan and Zhejiang. " * 12,
        "## Picking\n\n" + "Pickers take two leaves and a bud in early spring. " * 12,
        "## Drying\n\n" + "The leaves are pan-fired quickly to keep them green. " * 12,
    ]
    doc.write_text("# Tea\n\n" + "\n\n".join(parts) + "\n", encoding="utf-8")
    r = run_quill(
        ["--parallel", "2", "summarize", str(doc), "--method", "map-reduce", "--jobs", "2",
         "--ctx", "512", "--max-tokens", "60", "--temperature", "0", "--seed", "7"],
        env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.split()) >= 5
    line = next(x for x in r.stderr.splitlines() if x.startswith("summarized"))
    chunks = int(line.split(" in ")[1].split()[0])
    assert chunks >= 2, line


def test_chat_turn_through_the_server(env: dict[str, str]) -> None:
    r = run_quill(
        ["chat", "--session", "srv", "--max-tokens", "24", "--temperature", "0"],
        env=env,
        input="Say hello in one short sentence.",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    shown = run_quill(["sessions", "show", "srv", "--plain"], env=env)
    assert shown.returncode == 0, shown.stderr
    assert "Say hello in one short sentence." in shown.stdout
    assert r.stdout.strip()[:20] in shown.stdout


def test_counts_and_doctor_use_the_server(
    env: dict[str, str], server: str, llama_engine: object
) -> None:
    from quill.engine.openai import OpenAIEngine

    engine = OpenAIEngine(server)
    try:
        assert engine.info.name == "qwen-test" and engine.facts.kind == "llama-cpp-python"
        text = "Green tea grows on misty hills. 绿茶生长在云雾缭绕的山上。"
        local = llama_engine.count(text)  # type: ignore[attr-defined]
        assert local <= engine.count(text) <= local + 1  # the server may count a BOS token
        assert engine.facts.tokenizer == "/extras/tokenize/count"
    finally:
        engine.close()
    r = run_quill(["doctor"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "reachable (llama-cpp-python)" in r.stdout and "qwen-test" in r.stdout
    assert json.dumps(SERVER_CTX) in r.stdout.replace(",", "")
