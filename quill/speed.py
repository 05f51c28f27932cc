"""`quill bench --speed`: how fast a model runs here, and with which settings.

Figures, each measured through the engine the commands use (so they are what a writer
gets, not a kernel's peak):

- load: seconds to build the engine (model load and context creation), when the
  caller times it;
- prompt evaluation (pp): tokens/s evaluating a prompt of about ``pp`` tokens with
  nothing cached (llama-bench's pp512 at the default size);
- generation (tg): tokens/s generating ``tg`` tokens at temperature 0 with plain
  decoding (prompt lookup off; llama-bench's tg128), the first token's time excluded;
- time to first token of a short prompt, nothing cached;
- the resident set while generating (RSS, read right after the tg run), against the
  bound of the model file + the KV cache + 200 MB, and the peak of this process
  (loading included).

The settings come from the engine (``settings()`` where it has one: threads, batch
sizes, GPU layers, flash attention, KV cache type, backend), else from its ModelInfo.
Nothing here prints: :mod:`quill.cli.bench` shows the report.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from quill.engine.base import Engine, Message, Sampling, Stats, join
from quill.engine.memory import resident_bytes

SCHEMA = "quill.bench.speed/1"
RSS_ROOM = 200 * 10**6  # bytes beyond the model file and the KV cache (compute, Python)

# A plain English passage; repeated to fill the pp prompt (what users send is text).
FILLER = (
    "The harbour town wakes before the sun. Fishing boats slip out past the breakwater, "
    "gulls circle the market, and the baker on the corner pulls the first loaves from "
    "an oven older than anyone who works there. By nine the ferry from the islands has "
    "docked, and the square fills with visitors who have read about the cliffs. "
)
TG_REQUEST = (
    "Write a long, detailed essay about the history of lighthouses, their keepers, and "
    "how the technology changed from open fires to lenses to automation."
)
TTFT_REQUEST = "Say hello."


@dataclass(frozen=True)
class SpeedOptions:
    pp: int = 512  # prompt tokens to evaluate
    tg: int = 128  # tokens to generate


@dataclass
class SpeedReport:
    model: dict[str, Any]
    settings: dict[str, Any]
    options: SpeedOptions
    load_s: float | None = None
    pp_tokens: int = 0
    pp_tokens_per_s: float = 0.0
    tg_tokens: int = 0
    tg_tokens_per_s: float = 0.0
    ttft_s: float = 0.0
    peak_rss_bytes: int = 0
    rss_bytes: int = 0  # the resident set right after generating
    rss_bound_bytes: int = 0  # model file + KV cache + RSS_ROOM (0: not known)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "settings": self.settings,
            "options": asdict(self.options),
            "figures": {
                "load_s": self.load_s,
                "pp": {"tokens": self.pp_tokens, "tokens_per_s": self.pp_tokens_per_s},
                "tg": {"tokens": self.tg_tokens, "tokens_per_s": self.tg_tokens_per_s},
                "ttft_s": self.ttft_s,
                "peak_rss_bytes": self.peak_rss_bytes,
                "rss_bytes": self.rss_bytes,
                "rss_bound_bytes": self.rss_bound_bytes,
            },
            "notes": self.notes,
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """(figure, value, what it is) for the table."""
        o = self.options
        load = f"{self.load_s:.2f} s" if self.load_s is not None else "-"
        rows = [
            ("load", load, "model load and context creation"),
            (
                f"pp{o.pp}",
                f"{self.pp_tokens_per_s:.1f} tok/s",
                f"prompt evaluation, {self.pp_tokens} tokens, nothing cached",
            ),
            (
                f"tg{o.tg}",
                f"{self.tg_tokens_per_s:.1f} tok/s",
                f"generation, {self.tg_tokens} tokens, temperature 0, plain decoding",
            ),
            ("first token", f"{self.ttft_s * 1000:.0f} ms", "a short prompt, nothing cached"),
            ("peak RSS", f"{self.peak_rss_bytes / 2**20:.0f} MiB", "loading included"),
        ]
        if self.rss_bytes:  # where it could be read
            rows.insert(-1, ("RSS", f"{self.rss_bytes / 2**20:.0f} MiB", self._bound()))
        rows += [(k.replace("_", " "), _show(v), "setting") for k, v in self.settings.items()]
        return rows

    def _bound(self) -> str:
        if not self.rss_bound_bytes:
            return "while generating"
        within = "within" if self.rss_bytes <= self.rss_bound_bytes else "over"
        bound = self.rss_bound_bytes / 2**20
        return f"while generating; {within} model file + KV cache + 200 MB ({bound:.0f} MiB)"


def _show(v: object) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    return str(v)


def peak_rss() -> int:
    """The process's peak resident set size in bytes (ru_maxrss: KiB on Linux, bytes on
    macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def rss_bound(engine: Engine) -> int:
    """The model file + the KV cache + RSS_ROOM, in bytes; 0 where the engine has no
    local model file (a server) or does not say its KV cache's size."""
    plan = getattr(engine, "plan", None)
    kv = getattr(plan, "kv_bytes", None)
    path = engine.info.path
    if not isinstance(kv, int) or not path or not os.path.isfile(path):
        return 0
    return os.path.getsize(path) + kv + RSS_ROOM


def settings_of(engine: Engine) -> dict[str, Any]:
    get = getattr(engine, "settings", None)
    if callable(get):
        found = get()
        if isinstance(found, dict):
            return found
    i = engine.info
    return {
        "backend": i.backend,
        "threads": i.threads,
        "gpu_layers": f"{i.gpu_layers} of {i.n_layers + 1}" if i.n_layers else i.gpu_layers,
        "flash_attn": i.flash_attn,
        "n_ctx": i.n_ctx,
    }


def filler_text(engine: Engine, tokens: int) -> str:
    """English text of about ``tokens`` tokens (by the engine's tokenizer)."""
    per = max(1, engine.count(FILLER))
    text = FILLER * (tokens // per + 1)
    words = text.split(" ")
    lo, hi = 1, len(words)  # the most words that stay within ``tokens``
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if engine.count(" ".join(words[:mid])) <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def _fresh(engine: Engine) -> None:
    reset = getattr(engine, "reset", None)
    if callable(reset):
        reset()  # nothing cached: the whole prompt is evaluated


def _run(engine: Engine, messages: list[Message], params: Sampling) -> tuple[Stats, float]:
    _fresh(engine)
    t0 = time.perf_counter()
    first = 0.0
    pieces = []
    for piece in engine.stream(messages, params):
        if not first and piece.text:
            first = time.perf_counter() - t0
        pieces.append(piece)
    stats = join(iter(pieces)).stats
    return stats, first or stats.ttft_s


def measure(
    engine: Engine,
    opts: SpeedOptions | None = None,
    *,
    load_s: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> SpeedReport:
    """The speed figures of ``engine`` (its cache is cleared between measures)."""
    opts = opts or SpeedOptions()
    say = progress or (lambda _msg: None)
    greedy = Sampling(temperature=0.0, repeat_penalty=1.0, seed=0, lookup=0)
    i = engine.info
    report = SpeedReport(
        model={"name": i.name, "path": i.path, "n_ctx": i.n_ctx, "backend": i.backend},
        settings=settings_of(engine),
        options=opts,
        load_s=load_s,
    )
    # warm-up: the first decode pays one-off costs (buffers, page faults of the weights)
    _run(engine, [Message("user", TTFT_REQUEST)], greedy.with_(max_tokens=2))

    say(f"prompt evaluation ({opts.pp} tokens)…")
    room = max(16, i.n_ctx - 64)
    text = filler_text(engine, min(opts.pp, room))
    stats, _ = _run(engine, [Message("user", text)], greedy.with_(max_tokens=1))
    report.pp_tokens = stats.evaluated_tokens
    report.pp_tokens_per_s = stats.prompt_tokens_per_s

    say(f"generation ({opts.tg} tokens)…")
    tg = max(2, min(opts.tg, i.n_ctx - 128))
    stats, _ = _run(engine, [Message("user", TG_REQUEST)], greedy.with_(max_tokens=tg))
    report.tg_tokens = stats.generated_tokens
    report.tg_tokens_per_s = stats.tokens_per_s
    if stats.generated_tokens < tg:
        report.notes.append(
            f"the model ended its reply after {stats.generated_tokens} of {tg} tokens"
        )

    say("first token…")
    _, first = _run(engine, [Message("user", TTFT_REQUEST)], greedy.with_(max_tokens=1))
    report.ttft_s = first
    report.peak_rss_bytes = peak_rss()
    report.rss_bytes = resident_bytes()
    report.rss_bound_bytes = rss_bound(engine)
    return report
