"""The Environment: streams, terminals, colour, paths, settings, and the engine.

Built once per process by the CLI and passed down; tests build their own (with a
FakeEngine factory, StringIO streams and a temporary QUILL_HOME) instead of patching
globals.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from quill.config import Paths, Settings, load_settings, resolve_paths
from quill.errors import InputError, UsageError

if TYPE_CHECKING:
    from quill.engine.base import Engine
    from quill.render.ui import UI


@dataclass(frozen=True)
class EngineOptions:
    model: str | None = None
    ctx: int | str | None = None  # tokens, or "auto": the largest that fits memory
    gpu_layers: str | None = None  # auto | all | N
    threads: int | None = None
    threads_batch: int | None = None  # prompt evaluation (default: as threads)
    kv_cache: str | None = None  # f16 | q8_0 | q4_0
    chat_template: str | None = None  # a llama.cpp built-in name, a Jinja file, or none
    backend: str | None = None  # local (in process) | openai (an OpenAI-compatible server)
    base_url: str | None = None  # the server, for backend openai
    api_key: str | None = field(default=None, repr=False)  # never shown
    parallel: int | None = None  # requests the server serves at once, where it does not say


BACKENDS = ("local", "openai")


EngineFactory = Callable[["EngineOptions", "Environment"], "Engine"]


def parse_ctx(value: int | str) -> int | str:
    """``--ctx``: a number of tokens, or ``auto``."""
    if isinstance(value, int):
        return value
    v = value.strip().lower()
    if v == "auto":
        return "auto"
    try:
        return int(v)
    except ValueError:
        raise UsageError(f"--ctx must be a number of tokens or auto, not `{value}`") from None


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


class Environment:
    def __init__(
        self,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        stdin_tty: bool | None = None,
        stdout_tty: bool | None = None,
        stderr_tty: bool | None = None,
        environ: Mapping[str, str] | None = None,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.stdin_tty = _isatty(self.stdin) if stdin_tty is None else stdin_tty
        self.stdout_tty = _isatty(self.stdout) if stdout_tty is None else stdout_tty
        self.stderr_tty = _isatty(self.stderr) if stderr_tty is None else stderr_tty
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.engine_factory = engine_factory
        self.paths: Paths = resolve_paths(dict(self.environ))
        self.verbose = False
        self.quiet = False
        self._settings: Settings | None = None
        self._ui: UI | None = None
        self._engines: dict[EngineOptions, Engine] = {}
        # --backend, --base-url, --api-key, --parallel given before the command
        self.backend_flags = EngineOptions()

    # -- settings -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.paths)
        return self._settings

    @property
    def color(self) -> bool:
        if "NO_COLOR" in self.environ:
            return False
        return self.environ.get("TERM") != "dumb"

    @property
    def ui(self) -> UI:
        if self._ui is None:
            from quill.render.ui import UI

            self._ui = UI(
                self.stdout,
                self.stderr,
                stdout_tty=self.stdout_tty,
                stderr_tty=self.stderr_tty,
                color=self.color,
                quiet=self.quiet,
            )
        return self._ui

    def resolve_options(self, opts: EngineOptions) -> EngineOptions:
        """Fill unset options: flag > environment variable > config file > default."""
        env, s = self.environ, self.settings

        def pick_int(flag: int | None, var: str, conf: int | None) -> int | None:
            if flag is not None:
                return flag
            if env.get(var):
                try:
                    return int(env[var])
                except ValueError:
                    raise UsageError(f"{var} must be a whole number, not `{env[var]}`") from None
            return conf

        section = s.extra.get("defaults", s.extra) if isinstance(s.extra, dict) else {}

        def conf(key: str, kind: type) -> Any:
            value = section.get(key) if isinstance(section, dict) else None
            if value is not None and not isinstance(value, kind):
                raise UsageError(
                    f"{self.paths.config_file}: `{key}` must be a {kind.__name__}",
                    hint="fix the config file",
                )
            return value

        def pick_str(flag: str | None, var: str, key: str) -> str | None:
            return flag or env.get(var) or conf(key, str)

        ctx: int | str | None = opts.ctx
        if ctx is None and env.get("QUILL_CTX", "").strip().lower() == "auto":
            ctx = "auto"
        ctx = parse_ctx(ctx) if ctx is not None else pick_int(None, "QUILL_CTX", s.ctx)
        root = self.backend_flags
        backend = pick_str(opts.backend or root.backend, "QUILL_BACKEND", "backend") or "local"
        if backend not in BACKENDS:
            raise UsageError(
                f"--backend must be local or openai, not `{backend}`",
                hint="local runs the model in process; openai talks to a model server",
            )
        parallel = pick_int(opts.parallel or root.parallel, "QUILL_PARALLEL", conf("parallel", int))
        if parallel is not None and parallel < 1:
            raise UsageError("--parallel must be at least 1")
        return EngineOptions(
            model=opts.model or env.get("QUILL_MODEL") or s.model,
            ctx=ctx,
            gpu_layers=opts.gpu_layers or env.get("QUILL_GPU_LAYERS") or s.gpu_layers,
            threads=pick_int(opts.threads, "QUILL_THREADS", s.threads),
            threads_batch=pick_int(
                opts.threads_batch or root.threads_batch,
                "QUILL_THREADS_BATCH",
                conf("threads_batch", int),
            ),
            kv_cache=pick_str(opts.kv_cache or root.kv_cache, "QUILL_KV_CACHE", "kv_cache"),
            chat_template=pick_str(
                opts.chat_template or root.chat_template, "QUILL_CHAT_TEMPLATE", "chat_template"
            ),
            backend=backend,
            base_url=pick_str(opts.base_url or root.base_url, "QUILL_BASE_URL", "base_url"),
            api_key=pick_str(opts.api_key or root.api_key, "QUILL_API_KEY", "api_key"),
            parallel=parallel,
        )

    # -- input ----------------------------------------------------------------

    def read_stdin(self) -> str | None:
        """All of stdin as text, or None when stdin is a terminal (nothing piped)."""
        if self.stdin_tty:
            return None
        buf = getattr(self.stdin, "buffer", None)
        if buf is None:
            return self.stdin.read()
        data = buf.read()
        try:
            if data.startswith((b"\xff\xfe", b"\xfe\xff")):
                return data.decode("utf-16")
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(
                "stdin is not UTF-8 text", hint="convert it first, e.g. iconv -t utf-8"
            ) from None

    # -- engine ---------------------------------------------------------------

    def engine(self, opts: EngineOptions | None = None) -> Engine:
        """The engine for these options; loaded once per process and then reused."""
        o = self.resolve_options(opts or EngineOptions())
        if o not in self._engines:
            if self.engine_factory is not None:
                self._engines[o] = self.engine_factory(o, self)
            else:
                from quill.engine.factory import make_engine

                self._engines[o] = make_engine(o, self)
        return self._engines[o]

    def close(self) -> None:
        for e in self._engines.values():
            e.close()
        self._engines.clear()
