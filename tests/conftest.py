"""Shared fixtures: a temporary QUILL_HOME, Environments around a FakeEngine, the CLI
runner, and the embedded default model for the real-model tests."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from quill.engine.base import Message
from quill.engine.fake import FakeEngine
from quill.env import Environment

ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    """CI=true (as GitHub Actions, GitLab and most CI services set it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skip is a failure, with its reason: a missing asset, model or server must
    not leave the run green without the tests that need it."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure here: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """The same for a whole module skipped while it is collected (a module-level
    ``pytest.importorskip``, ``pytest.skip(allow_module_level=True)``)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if in_ci() and report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure here: {reason}"


@pytest.fixture
def quill_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "quill-home"
    monkeypatch.setenv("QUILL_HOME", str(home))
    for var in (
        "QUILL_MODEL",
        "QUILL_CTX",
        "QUILL_GPU_LAYERS",
        "QUILL_THREADS",
        "QUILL_ENGINE",
        "QUILL_DEBUG",
        "NO_COLOR",
        "QUILL_BACKEND",
        "QUILL_BASE_URL",
        "QUILL_API_KEY",
        "QUILL_PARALLEL",
        "QUILL_KV_CACHE",
        "QUILL_CHAT_TEMPLATE",
        "QUILL_THREADS_BATCH",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    env: Environment


class Streams(io.StringIO):
    """A StringIO with a .buffer, like sys.stdin."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.buffer = io.BytesIO(text.encode("utf-8"))


@pytest.fixture
def make_env(quill_home: Path) -> Callable[..., Environment]:
    def make(
        engine: object | None = None,
        *,
        stdin: str | None = None,
        stdout_tty: bool = False,
        stderr_tty: bool = False,
        environ: dict[str, str] | None = None,
    ) -> Environment:
        eng = engine if engine is not None else FakeEngine()
        env = dict(os.environ)
        env.update(environ or {})
        return Environment(
            stdin=Streams(stdin or ""),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            stdin_tty=stdin is None,
            stdout_tty=stdout_tty,
            stderr_tty=stderr_tty,
            environ=env,
            engine_factory=lambda opts, e: eng,  # type: ignore[arg-type,return-value]
        )

    return make


@pytest.fixture
def cli(make_env: Callable[..., Environment]) -> Callable[..., Run]:
    """Run quill's main() in process with an Environment: cli(["draft", "x"],
    engine=FakeEngine()). The exit code is main()'s own (its mapping of errors to codes,
    its one error line on stderr), as a quill process would end."""
    import signal

    from quill.cli import app as app_module
    from quill.cli import context

    def run(args: list[str], *, env: Environment | None = None, **kw: object) -> Run:
        e = env or make_env(**kw)

        class Given(Environment):
            """What main() builds its Environment with: the test's one."""

            def __new__(cls, *a: object, **k: object) -> Environment:  # type: ignore[misc]
                return e

        term = signal.getsignal(signal.SIGTERM)
        log = logging.getLogger("quill")
        handlers, level = list(log.handlers), log.level
        with pytest.MonkeyPatch.context() as m:
            m.setattr(context, "Environment", Given)
            m.setattr(sys, "stdin", e.stdin)
            m.setattr(sys, "stdout", e.stdout)
            m.setattr(sys, "stderr", e.stderr)
            try:
                app_module.main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            finally:
                signal.signal(signal.SIGTERM, term)
                # main() logs to the stderr it was given: no handler outlives the run.
                log.handlers[:] = handlers
                log.setLevel(level)
        return Run(code, e.stdout.getvalue(), e.stderr.getvalue(), e)  # type: ignore[attr-defined]

    return run


# -- subprocess helpers: real pipes, real signals -------------------------------------


def quill_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "quill", *args]


def run_quill(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run(
        quill_cmd(*args),
        input=input,
        capture_output=True,
        text=True,
        env=full,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )


# -- the embedded default model --------------------------------------------------------


@pytest.fixture(scope="session")
def default_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model the real-model tests run on, assembled once per test session: the
    embedded 0.5B (a named choice beside the 1.5B default, and about twice as fast on
    2 CPU cores, so the suite stays well inside CI's time)."""
    from quill.models import catalog

    return catalog.ensure(catalog.QWEN_05B, tmp_path_factory.getbasetemp() / "model-cache")


@pytest.fixture(scope="session")
def llama_engine(default_model: Path) -> Iterator[object]:
    """One in-process LlamaEngine on the default model, shared by the real-model tests."""
    from quill.engine.llama import LlamaEngine

    engine = LlamaEngine(default_model, n_ctx=4096)
    yield engine
    engine.close()


@pytest.fixture
def real_env(quill_home: Path, default_model: Path) -> dict[str, str]:
    """Environment variables for a quill child process on the default model."""
    return {
        "QUILL_HOME": str(quill_home),
        "QUILL_MODEL": str(default_model),
        "PYTHONUNBUFFERED": "1",
    }


def ask(messages: list[Message]) -> str:
    """The last user message of a request: what the step asked (a reply may be begun
    for the model after it)."""
    return next(m.content for m in reversed(messages) if m.role == "user")


@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake engine's replies are stand-ins, not summaries: with this, the check of
    a summary's final step (tests/test_summarycheck.py) passes them, and one summary is
    written where two are by default, so a test sees one try."""
    from quill.writing.retry import PASS

    monkeypatch.setattr("quill.writing.summarize.summary_check", lambda *a, **k: lambda text: PASS)
    monkeypatch.setattr("quill.writing.summarize.BEST_OF", 1)
