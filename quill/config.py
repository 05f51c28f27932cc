"""Where quill keeps things, the settings it reads, and the one table of them.

Paths come from platformdirs; ``QUILL_HOME`` puts all of them under one folder (tests
and portable installs use it). Settings are read from ``config.toml`` in the config
dir (its ``[defaults]`` table, or the top level). Each setting is one row of
:data:`SETTINGS`: flag, environment variable, config key, parser, default. Precedence,
for every row and every command: command-line flag > environment variable > config
file > built-in default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quill.errors import UsageError

APP = "quill"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def models_file(self) -> Path:
        return self.config_dir / "models.toml"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "quill.db"

    @property
    def models_cache(self) -> Path:
        return self.cache_dir / "models"


def resolve_paths(environ: Mapping[str, str] | None = None) -> Paths:
    env = os.environ if environ is None else environ
    home = env.get("QUILL_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root / "config", root / "data", root / "cache")
    import platformdirs

    return Paths(
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_cache_dir(APP)),
    )


# -- parsers: a value from a flag or a variable (text) or the config file (TOML) ------------
# Each raises ValueError with the end of a sentence that starts with the flag's name.


def parse_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {value!r}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def parse_count(least: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"must be a whole number, not {value!r}")
        try:
            n = int(value)
        except ValueError:
            raise ValueError(f"must be a whole number, not `{value}`") from None
        if n < least:
            raise ValueError(f"must be at least {least}")
        return n

    return parse


def parse_ctx(value: Any) -> int | str:
    """``--ctx``: a number of tokens, or ``auto``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        if v == "auto":
            return "auto"
        try:
            return int(v)
        except ValueError:
            pass
    raise ValueError(f"must be a number of tokens or auto, not `{value}`")


def parse_gpu_layers(value: Any) -> str:
    v = str(value).strip().lower() if isinstance(value, int | str) else ""
    if v in ("auto", "all") or (v.isdigit() and not isinstance(value, bool)):
        return v
    raise ValueError(f"must be auto, all or a number of layers, not `{value}`")


def parse_choice(*names: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        v = value.strip().lower() if isinstance(value, str) else value
        if v not in names:
            return _fail(value, names)
        return str(v)

    return parse


def _fail(value: Any, names: tuple[str, ...]) -> str:
    both = " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
    raise ValueError(f"must be {both}, not `{value}`")


@dataclass(frozen=True)
class Setting:
    """One setting: ``--flag``, ``QUILL_VAR``, the config key (``name``), its parser,
    its default, and the help shown by every command that takes it."""

    name: str
    flag: str
    env: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    metavar: str
    short: str | None = None
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "model", "--model", "QUILL_MODEL", parse_text, None,
        "GGUF file or model name (default: the built-in model).", "PATH|NAME", "-m",
    ),
    Setting(
        "ctx", "--ctx", "QUILL_CTX", parse_ctx, None,
        "Context size in tokens, or auto: the largest that fits memory (default: the "
        "model's trained context, at most 8192).", "N|auto",
    ),
    Setting(
        "gpu_layers", "--gpu-layers", "QUILL_GPU_LAYERS", parse_gpu_layers, None,
        "Layers to offload to the GPU (auto: as many as fit in free GPU memory).",
        "auto|all|N",
    ),
    Setting(
        "threads", "--threads", "QUILL_THREADS", parse_count(1), None,
        "CPU threads (default: all usable cores).", "N",
    ),
    Setting(
        "threads_batch", "--threads-batch", "QUILL_THREADS_BATCH", parse_count(1), None,
        "CPU threads for prompt evaluation (default: --threads).", "N",
    ),
    Setting(
        "kv_cache", "--kv-cache", "QUILL_KV_CACHE", parse_choice("f16", "q8_0", "q4_0"), None,
        "KV cache type: q8_0 halves its memory, q4_0 quarters it (default: f16).",
        "f16|q8_0|q4_0",
    ),
    Setting(
        "cpu_repack", "--cpu-repack", "QUILL_CPU_REPACK", parse_choice("auto", "on", "off"),
        None,
        "llama.cpp's repacked CPU weights: faster generation, slower load and, on some "
        "CPUs, slower prompt reading (auto: on, except on CPUs with AMX).", "auto|on|off",
    ),
    Setting(
        "chat_template", "--chat-template", "QUILL_CHAT_TEMPLATE", parse_text, None,
        "Chat template: a llama.cpp built-in name (chatml, llama3…), a Jinja file, or "
        "none for plain completion (default: the model's own).", "NAME|FILE",
    ),
    Setting(
        "backend", "--backend", "QUILL_BACKEND", parse_choice("local", "openai"), "local",
        "local: the model runs in this process (default); openai: an OpenAI-compatible "
        "server at --base-url.", "local|openai",
    ),
    Setting(
        "base_url", "--base-url", "QUILL_BASE_URL", parse_text, None,
        "The server for --backend openai, e.g. http://127.0.0.1:8080.", "URL",
    ),
    Setting(
        "api_key", "--api-key", "QUILL_API_KEY", parse_text, None,
        "API key for the server (the variable is safer than the flag).", "KEY", secret=True,
    ),
    Setting(
        "parallel", "--parallel", "QUILL_PARALLEL", parse_count(1), None,
        "Requests the server serves at once, where it does not say.", "N",
    ),
    Setting(
        "preset", "--preset", "QUILL_PRESET", parse_text,
        None, "Sampling preset (default: the command's template, else balanced).",
        "precise|balanced|creative",
    ),
)  # fmt: skip
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    return BY_NAME[name]


@dataclass
class Settings:
    """The values of config.toml, checked against :data:`SETTINGS`; ``unknown`` lists
    the keys no setting has (warned about by name, never fatal)."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    def get(self, name: str) -> Any:
        return self.values.get(name)


def read_config(path: Path) -> dict[str, Any]:
    """The config file as TOML data ({} when there is none)."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read config file {path}: {exc}", hint="fix or remove the file"
        ) from exc


def config_section(data: dict[str, Any]) -> dict[str, Any]:
    section = data.get("defaults", data)
    return section if isinstance(section, dict) else {}


def load_settings(paths: Paths) -> Settings:
    path = paths.config_file
    s = Settings(path)
    for key, value in config_section(read_config(path)).items():
        row = BY_NAME.get(key)
        if row is None:
            if key != "defaults":
                s.unknown.append(key)
            continue
        s.values[key] = parse_config(row, value, path)
    return s


def parse_config(row: Setting, value: Any, path: Path) -> Any:
    try:
        return row.parse(value)
    except ValueError as exc:
        raise UsageError(
            f"{path}: `{row.name}` {exc}",
            hint=f"fix the config file: quill config set {row.name} …",
        ) from None


# The settings a model added with `quill models add` may keep with it in models.toml, as its
# own defaults: below the config file and the variables, above quill's built-in default.
MODEL_DEFAULTS = ("ctx", "chat_template", "preset", "system")


def model_defaults(paths: Paths, model: str | None) -> dict[str, Any]:
    """What models.toml keeps for the model named ``model`` ({} for a path, an embedded
    model, or a name without defaults); values are checked as their settings rows say."""
    if not model or not paths.models_file.exists():
        return {}
    body = read_config(paths.models_file).get("models", {}).get(model)
    if not isinstance(body, dict):
        return {}
    out: dict[str, Any] = {}
    for key in MODEL_DEFAULTS:
        if key in body:
            row = BY_NAME.get(key)
            out[key] = parse_config(row, body[key], paths.models_file) if row else body[key]
    if not isinstance(out.get("system", ""), str):
        raise UsageError(f"{paths.models_file}: `system` of {model} must be text")
    return out


def unknown_key_warning(key: str, path: Path) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(BY_NAME), n=1)
    also = f" (did you mean `{close[0]}`?)" if close else ""
    return f"{path}: unknown setting `{key}` is ignored{also}"


def resolve(
    row: Setting, flag: Any, environ: Mapping[str, str], settings: Settings
) -> tuple[Any, str]:
    """(value, where it came from: "flag", the variable's name, "config" or "default")."""
    if flag is not None:
        return _parse(row, flag, ""), "flag"
    text = environ.get(row.env, "")
    if text.strip():
        return _parse(row, text, f" (from {row.env})"), row.env
    if settings.get(row.name) is not None:
        return settings.get(row.name), "config"
    return row.default, "default"


def _parse(row: Setting, value: Any, where: str) -> Any:
    try:
        return row.parse(value)
    except ValueError as exc:
        raise UsageError(f"{row.flag} {exc}{where}") from None


# -- writing TOML ------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def toml_escape(value: str) -> str:
    """The inside of a TOML basic string: quotes, backslashes, control characters and
    DEL escaped; a lone surrogate (text that was never valid) is refused."""
    out = []
    for ch in value:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise UsageError(
                "the text holds an invalid character (a lone surrogate)",
                hint="check the name or text for bytes that are not UTF-8",
            )
        else:
            out.append(ch)
    return "".join(out)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return f'"{toml_escape(str(value))}"'


def find_setting(key: str) -> Setting:
    """The row for config key ``key`` (a flag's spelling, --kv-cache or kv-cache, is
    accepted too); an unknown key is refused by name, with the closest known one."""
    name = key.strip().removeprefix("--").replace("-", "_")
    row = BY_NAME.get(name)
    if row is None:
        import difflib

        close = difflib.get_close_matches(name, list(BY_NAME), n=1)
        raise UsageError(
            f"there is no setting `{key}`" + (f" (did you mean `{close[0]}`?)" if close else ""),
            hint="the settings: " + ", ".join(BY_NAME),
        )
    return row


def edit_config_text(text: str, key: str, value: Any | None) -> str:
    """config.toml's text with ``key`` set to ``value``, or removed when ``value`` is
    None; the writer's comments, order and other tables are kept (tomlkit). The key
    goes in the ``[defaults]`` table, or at the top level where the file keeps its
    settings there."""
    import tomlkit  # ~55 ms: only when the file is written, never for `quill --help`

    if isinstance(value, str):
        toml_escape(value)  # a lone surrogate is refused by name
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise UsageError(f"cannot read the config file: {exc}", hint="fix or remove it") from None
    top_keys = any(not isinstance(v, dict) for v in doc.values())
    if isinstance(doc.get("defaults"), dict):
        table: Any = doc["defaults"]
    elif top_keys or value is None:
        table = doc
    else:
        table = doc["defaults"] = tomlkit.table()
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value
    return tomlkit.dumps(doc)


def write_config(path: Path, key: str, value: Any | None) -> bool:
    """Set (or with None remove) ``key`` in the config file at ``path``, atomically;
    False when nothing changed. A file that does not parse is refused unchanged."""
    from quill.store.files import atomic_write_text  # a leaf module: files and errors only

    read_config(path)
    text = path.read_text("utf-8") if path.exists() else ""
    new = edit_config_text(text, key, value)
    if new == text:
        return False
    atomic_write_text(path, new, force=True)
    return True
