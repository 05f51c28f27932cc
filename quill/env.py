"""The Environment: streams, terminals, colour, paths, settings, and the engine.

Built once per process by the CLI and passed down; tests build their own (with a
FakeEngine factory, StringIO streams and a temporary QUILL_HOME) instead of patching
globals.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, TextIO

from quill.config import (
    BY_NAME,
    Paths,
    Settings,
    load_settings,
    model_defaults,
    resolve,
    resolve_paths,
    unknown_key_warning,
)
from quill.errors import InputError

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
    cpu_repack: str | None = None  # auto | on | off: llama.cpp's repacked CPU weights
    chat_template: str | None = None  # a llama.cpp built-in name, a Jinja file, or none
    backend: str | None = None  # local (in process) | openai (an OpenAI-compatible server)
    base_url: str | None = None  # the server, for backend openai
    api_key: str | None = field(default=None, repr=False)  # never shown
    parallel: int | None = None  # requests the server serves at once, where it does not say


BACKENDS = ("local", "openai")


EngineFactory = Callable[["EngineOptions", "Environment"], "Engine"]


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
        # the engine options given before the command (those after it win)
        self.backend_flags = EngineOptions()

    # -- settings -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.paths)
            for key in self._settings.unknown:
                self.ui.warn(unknown_key_warning(key, self._settings.path))
        return self._settings

    @property
    def color(self) -> bool:
        """NO_COLOR (set and not empty) turns colour off; FORCE_COLOR (set, not empty and
        not 0) turns it on even where TERM is dumb (no-color.org, force-color.org)."""
        if self.environ.get("NO_COLOR", ""):
            return False
        if self.environ.get("FORCE_COLOR", "") not in ("", "0"):
            return True
        return self.environ.get("TERM") != "dumb"

    @property
    def force_color(self) -> bool:
        return self.color and self.environ.get("FORCE_COLOR", "") not in ("", "0")

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
                force_color=self.force_color,
            )
        return self._ui

    def setting(self, name: str, flag: Any = None) -> Any:
        """One row of :data:`quill.config.SETTINGS`: flag > variable > config > default."""
        return resolve(BY_NAME[name], flag, self.environ, self.settings)[0]

    def resolve_options(self, opts: EngineOptions) -> EngineOptions:
        """Fill unset options, each as its settings row says: the flag after the command,
        else the one before it, else the environment variable, the config file, the
        model's own default (models.toml), the built-in default."""
        root = self.backend_flags
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for f in fields(EngineOptions):
            flag = getattr(opts, f.name)
            if flag is None:
                flag = getattr(root, f.name)
            row = BY_NAME[f.name]
            values[f.name], sources[f.name] = resolve(row, flag, self.environ, self.settings)
        if values["backend"] == "local":  # a model's own defaults, below the config file
            for key, value in model_defaults(self.paths, values["model"]).items():
                if sources.get(key) == "default":
                    values[key] = value
        return EngineOptions(**values)

    def model_default(self, key: str, opts: EngineOptions | None = None) -> Any:
        """What the model these options run keeps for ``key`` (models.toml), or None."""
        model = self.resolve_options(opts or EngineOptions()).model
        return model_defaults(self.paths, model).get(key)

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
