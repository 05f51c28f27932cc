"""Build the engine the options ask for (the CLI's default engine factory)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from quill.engine.base import Engine
from quill.errors import UsageError

if TYPE_CHECKING:
    from quill.env import EngineOptions, Environment


def _validate_gpu_layers(spec: str | None) -> str | int | None:
    if spec is None or spec in ("auto", "all"):
        return spec
    try:
        n = int(spec)
    except ValueError:
        raise UsageError(f"--gpu-layers must be auto, all or a number, not `{spec}`") from None
    if n < 0:
        raise UsageError("--gpu-layers must be 0 or more")
    return n


def prefix_dir(env: Environment) -> Path | None:
    """Where evaluated system prompts are kept (quill.engine.prefix): the cache folder's
    ``prefixes``; None where QUILL_PREFIX_CACHE is 0 or off."""
    if env.environ.get("QUILL_PREFIX_CACHE", "").lower() in ("0", "off", "false", "no"):
        return None
    return env.paths.cache_dir / "prefixes"


def make_engine(opts: EngineOptions, env: Environment) -> Engine:
    kind = env.environ.get("QUILL_ENGINE", "llama")
    if kind == "fake":
        return fake_from_env(env)
    if kind != "llama":
        raise UsageError(f"unknown QUILL_ENGINE `{kind}`", hint="use llama (the default)")
    if opts.backend == "openai":
        return open_server(opts, env)
    gpu = _validate_gpu_layers(opts.gpu_layers)
    validate(opts)

    from quill.models import catalog, registry

    entry = registry.resolve(env.paths, opts.model)
    path = entry.path
    if entry.embedded is not None:
        model, cache = entry.embedded, env.paths.models_cache
        if not catalog.is_ready(model, cache):
            what = "the default model" if model.name == catalog.DEFAULT.name else model.name
            with env.ui.byte_progress(f"Preparing {what} (first run only)") as cb:
                path = catalog.ensure(model, cache, cb)
    else:  # a file quill has not seen is read by llama.cpp in a child process first
        from quill.models.probe import ensure_loadable

        ensure_loadable(path, env.paths.cache_dir)
    from quill.engine.llama import LlamaEngine

    with env.ui.spinner(f"Loading {entry.name}…"):
        engine = LlamaEngine(
            path,
            n_ctx=opts.ctx,
            gpu_layers=gpu,
            threads=opts.threads,
            threads_batch=opts.threads_batch,
            kv_cache=opts.kv_cache,
            cpu_repack=opts.cpu_repack,
            chat_template=opts.chat_template,
            name=entry.name,
            prefix_dir=prefix_dir(env),
        )
    for warning in engine.warnings:
        env.ui.warn(warning)
    for note in engine.notes:
        env.ui.note(note)
    return engine


def validate(opts: EngineOptions) -> None:
    """Refuse option values llama.cpp cannot use, before anything loads."""
    from quill.engine.memory import KV_TYPES

    if isinstance(opts.ctx, int) and opts.ctx < 64:
        raise UsageError("--ctx must be at least 64 tokens")
    if isinstance(opts.ctx, str) and opts.ctx != "auto":
        raise UsageError(f"--ctx must be a number of tokens or auto, not `{opts.ctx}`")
    if opts.threads is not None and opts.threads < 1:
        raise UsageError("--threads must be at least 1")
    if opts.threads_batch is not None and opts.threads_batch < 1:
        raise UsageError("--threads-batch must be at least 1")
    if opts.kv_cache is not None and opts.kv_cache not in KV_TYPES:
        raise UsageError(
            f"--kv-cache must be one of {', '.join(KV_TYPES)}, not `{opts.kv_cache}`",
            hint="q8_0 halves the KV cache's memory, q4_0 quarters it",
        )


def fake_from_env(env: Environment) -> Engine:
    """A FakeEngine configured by QUILL_FAKE_* variables, for tests that run quill as a
    child process (pty, pipes, signals) where no Python object can be handed in."""
    from quill.engine.fake import FakeEngine

    e = env.environ
    return FakeEngine(
        e.get("QUILL_FAKE_REPLY") or None,
        loop=e.get("QUILL_FAKE_LOOP") == "1",
        delay=float(e.get("QUILL_FAKE_DELAY", "0") or 0),
        n_ctx=int(e.get("QUILL_FAKE_CTX", "4096")),
    )


def open_server(opts: EngineOptions, env: Environment) -> Engine:
    """The OpenAI-compatible server backend: only the configured URL is contacted."""
    if not opts.base_url:
        raise UsageError(
            "--backend openai needs the server's URL",
            hint="pass --base-url http://HOST:PORT (or set QUILL_BASE_URL); see docs/server.md",
        )
    if isinstance(opts.ctx, int) and opts.ctx < 64:
        raise UsageError("--ctx must be at least 64 tokens")
    from quill.engine.openai import OpenAIEngine

    ctx = opts.ctx if isinstance(opts.ctx, int) else None
    with env.ui.spinner("Connecting to the model server…"):
        engine = OpenAIEngine(
            opts.base_url, api_key=opts.api_key, model=opts.model, n_ctx=ctx, parallel=opts.parallel
        )
    for warning in engine.warnings:
        env.ui.warn(warning)
    for note in engine.notes:
        env.ui.note(note)
    return engine
