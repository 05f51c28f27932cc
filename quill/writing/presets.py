"""Sampling presets. Each one carries repetition control: small models loop without it."""

from __future__ import annotations

from quill.engine.base import Sampling
from quill.errors import UsageError

PRESETS: dict[str, Sampling] = {
    # Factual, steady text: low temperature, firm repetition penalty.
    "precise": Sampling(temperature=0.2, top_p=0.9, top_k=40, min_p=0.05, repeat_penalty=1.12),
    # The default: readable variety without wandering.
    "balanced": Sampling(temperature=0.7, top_p=0.9, top_k=40, min_p=0.05, repeat_penalty=1.1),
    # Stories and poems: more surprise, min-p keeps it coherent.
    "creative": Sampling(temperature=1.0, top_p=0.95, top_k=80, min_p=0.08, repeat_penalty=1.15),
}


def sampling(preset: str | None, max_tokens: int, **overrides: object) -> Sampling:
    name = preset or "balanced"
    base = PRESETS.get(name)
    if base is None:
        raise UsageError(f"unknown preset `{name}`", hint="choose one of: " + ", ".join(PRESETS))
    out = base.with_(max_tokens=max_tokens, **overrides)
    validate(out)
    return out


def validate(p: Sampling) -> None:
    """Refuse settings llama.cpp would misbehave on (shared by flags and /commands)."""
    if p.temperature < 0:
        raise UsageError("temperature must be 0 or more")
    if not 0 < p.top_p <= 1:
        raise UsageError("top-p must be in (0, 1]")
    if p.top_k < 0:
        raise UsageError("top-k must be 0 or more")
    if not 0 <= p.min_p < 1:
        raise UsageError("min-p must be in [0, 1)")
    if p.repeat_penalty <= 0:
        raise UsageError("repeat-penalty must be above 0")
    if p.max_tokens < 1:
        raise UsageError("max-tokens must be at least 1")
