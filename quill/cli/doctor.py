"""`quill doctor`."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable

import typer

from quill import __version__
from quill.cli.report import print_json
from quill.cli.run import Run, command
from quill.engine import memory
from quill.engine.describe import describe
from quill.engine.hardware import default_threads, use_extra_buffers
from quill.engine.llama import import_llama_cpp
from quill.engine.openai import OpenAIEngine
from quill.env import EngineOptions, Environment
from quill.errors import QuillError
from quill.models import default, registry


@command("as_json", "quiet")
def doctor(run: Run) -> None:
    """Check the installation: versions, GPU offload, the default model, folders.

    Exits with 1 when something needs fixing; --json gives every check and problem."""
    env, as_json = run.env, run.o.as_json
    out = env.stdout
    problems: list[tuple[str, str]] = []
    checks: list[tuple[str, str]] = []

    def row(key: str, value: str) -> None:
        checks.append((key, value))
        if not as_json:
            out.write(f"{key:<16} {value}\n")

    row("quill", __version__)
    row("python", f"{platform.python_version()} ({sys.executable})")
    try:
        lc = import_llama_cpp()
        row("llama-cpp-python", getattr(lc, "__version__", "?"))
        gpu = bool(lc.llama_supports_gpu_offload())
        backends = _backends(lc)
        row("gpu offload", ("yes" if gpu else "no") + (f" ({backends})" if backends else ""))
        if not gpu:
            row(
                "",
                'CPU only: rebuild llama-cpp-python with CMAKE_ARGS="-DGGML_CUDA=on" for an '
                "NVIDIA GPU (see README)",
            )
    except Exception as exc:  # a broken native library must be reported, not crash
        row("llama-cpp-python", f"BROKEN: {exc}")
        problems.append(
            (
                "llama-cpp-python does not import",
                "reinstall it: pip install --force-reinstall llama-cpp-python (from a clone: "
                "python3 -m uv sync --frozen --reinstall-package llama-cpp-python)",
            )
        )
    opts = env.resolve_options(EngineOptions())
    row(
        "threads",
        f"{default_threads()} of {os.cpu_count()} CPUs"
        + ("" if use_extra_buffers(opts.cpu_repack) else " (AMX/repack buffers off)"),
    )
    state = default.state(env.paths.models_cache)
    row("default model", f"{default.NAME} ({state})")
    if state.startswith("broken"):
        try:
            default.locate_parts()
        except Exception as exc:
            problems.append((state, getattr(exc, "hint", "")))
    row("model file", str(default.model_path(env.paths.models_cache)))
    if opts.backend == "openai":
        _server_rows(opts, row, problems)
    else:
        row("selected model", opts.model or f"{default.NAME} (default)")
        _model_rows(env, opts, row, problems)
    row(
        "config",
        f"{env.paths.config_file}" + ("" if env.paths.config_file.exists() else " (not created)"),
    )
    row("data", str(env.paths.data_dir))
    row("cache", str(env.paths.cache_dir))
    for path in (env.paths.data_dir, env.paths.cache_dir):
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".quill-write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            problems.append(
                (
                    f"{path} is not writable ({exc.strerror})",
                    "fix its permissions or set QUILL_HOME",
                )
            )
    if as_json:
        print_json(env, {
            "ok": not problems,
            "checks": [{"name": k, "value": v} for k, v in checks],
            "problems": [{"message": m, "hint": h} for m, h in problems],
        })  # fmt: skip
    elif problems:
        for message, hint in problems:
            env.ui.error(message, hint)
    else:
        env.ui.note("everything looks fine")
    if problems:
        raise typer.Exit(1)


def _model_rows(
    env: Environment,
    opts: EngineOptions,
    row: Callable[[str, str], None],
    problems: list[tuple[str, str]],
) -> None:
    """The selected model's chat template (and how it was chosen), and what fits in
    memory: context size and GPU layers as the engine would choose them."""
    try:
        entry = registry.resolve(env.paths, opts.model)
        if not entry.path.exists():
            return  # the embedded model, not assembled yet
        d = describe(entry.path, override=opts.chat_template)
    except QuillError as exc:
        problems.append((exc.message, exc.hint))
        return
    if d.template is not None:
        row("chat template", d.template.how)
    else:
        problems.append((f"chat template: {d.template_error}", "set one with --chat-template"))
    try:
        lc = import_llama_cpp()
        gpu_build = bool(lc.llama_supports_gpu_offload())
        mem = memory.probe(lc, gpu_build)
        kv = opts.kv_cache or "f16"
        shape = memory.shape_of(d.info, kv if kv in memory.KV_TYPES else "f16")
        free = f"{memory.gib(mem.ram_free)} RAM free" + (
            f", {memory.gib(mem.gpu_free)} free on {mem.gpu_name}" if mem.gpu_free else ""
        )
        row("memory", free)
        p = memory.plan(
            shape, mem, ctx=opts.ctx, gpu=opts.gpu_layers, gpu_build=gpu_build, kv_cache=kv
        )
        row(
            "context",
            f"{p.ctx:,} tokens (KV cache {memory.gib(p.kv_bytes)}, {kv}), "
            f"{p.gpu_layers} of {p.n_layers} layers on the GPU",
        )
        for note in p.notes:
            row("", note)
    except QuillError as exc:
        problems.append((exc.message, exc.hint))
    except Exception as exc:  # a broken native library is reported above
        row("context", f"unknown ({exc})")


def _server_rows(
    opts: EngineOptions, row: Callable[[str, str], None], problems: list[tuple[str, str]]
) -> None:
    """--backend openai: the server reachable, the model present, its context size and
    parallel slots where it reports them, and how tokens are counted."""
    row("backend", f"openai, {opts.base_url or '(no --base-url)'}")
    if not opts.base_url:
        problems.append(("--backend openai needs --base-url", "or set QUILL_BASE_URL"))
        return
    ctx = opts.ctx if isinstance(opts.ctx, int) else None
    try:
        engine = OpenAIEngine(
            opts.base_url,
            api_key=opts.api_key,
            model=opts.model,
            n_ctx=ctx,
            parallel=opts.parallel,
            retries=0,
        )
    except QuillError as exc:
        row("server", "NOT USABLE")
        problems.append((exc.message, exc.hint))
        return
    try:
        f = engine.facts
        row("server", f"reachable ({f.kind})" + (", API key set" if opts.api_key else ""))
        row("models", ", ".join(f.models[:8]) or "(none listed)")
        row("selected model", engine.info.name)
        row("context", f"{engine.info.n_ctx:,} tokens ({f.ctx_source})")
        slots = "from the server" if f.parallel else "--parallel" if opts.parallel else "default"
        row("parallel", f"{engine.info.parallel} ({slots})")
        try:
            engine.count("quill doctor counts these words")
            how = f.tokenizer if f.tokenizer != "approx" else "estimated (no tokenize endpoint)"
        except QuillError as exc:
            how = f"failed: {exc.message}"
        row("token count", how)
        for message in engine.warnings + engine.notes:
            row("", message)
    finally:
        engine.close()


def _backends(lc: object) -> str:
    """Names of the ggml devices (CPU, CUDA0…), where the build exposes them."""
    try:
        n = lc.ggml_backend_dev_count()  # type: ignore[attr-defined]
        names = []
        for i in range(n):
            dev = lc.ggml_backend_dev_get(i)  # type: ignore[attr-defined]
            names.append(lc.ggml_backend_dev_name(dev).decode())  # type: ignore[attr-defined]
        return ", ".join(names)
    except Exception:
        return ""
