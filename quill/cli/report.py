"""Report lines and listings: the closing line of commands that work on several files
(`quill summarize` and its parallel runner), listings as columns or JSON, and a text
printed (or exported) whole."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quill.env import Environment
from quill.render.sanitize import sanitize
from quill.store.export import safe_json
from quill.store.files import atomic_write_text

if TYPE_CHECKING:
    from quill.cli.inputs import Source
    from quill.writing.summary_job import Job


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}{'es' if word.endswith('s') else 's'}"


def report_line(
    jobs: list[Job],
    elapsed: float,
    skipped: list[Source],
    saved: Path | None,
    drafts: list[str] | None = None,
) -> str:
    tokens = sum(j.plan.tokens for j in jobs)
    chunks = sum(len(j.plan.chunks) for j in jobs)
    passes = sorted({j.passes for j in jobs})
    if not passes:
        pass_text = "0 passes"
    elif len(passes) == 1:
        pass_text = _plural(passes[0], "pass")
    else:
        pass_text = f"{passes[0]}-{passes[-1]} passes"
    head = "summarized "
    if len(jobs) > 1:
        head += f"{len(jobs)} files, "
    line = (
        f"{head}{_plural(tokens, 'token')} in {_plural(chunks, 'chunk')}, "
        f"{pass_text}, {elapsed:.1f} s"
    )
    selected = [j.plan.selection for j in jobs if j.plan.selection is not None]
    if len(jobs) == 1 and selected:
        line += "; " + selected[0].describe()
    elif selected:
        line += f"; {len(selected)} written from a selection of their passages (--method)"
    if skipped:
        line += "; " + left_out(skipped)
    if saved is not None:
        line += f"; saved to {saved}"
    if drafts:
        line += "; saved as " + ", ".join(drafts)
    return line


def left_out(skipped: list[Source]) -> str:
    return "left out: " + ", ".join(f"{s.name} ({s.problem})" for s in skipped)


def print_rows(env: Environment, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """A listing: aligned columns under a header on a terminal; plain tab-separated
    columns, no header, when piped (for cut, awk and sort)."""
    out = env.stdout
    if not env.stdout_tty:
        for r in rows:
            out.write(sanitize("\t".join(" ".join(c.split()) for c in r)) + "\n")
        out.flush()
        return
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    for r in table:
        cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)]
        out.write(sanitize("  ".join([*cells, r[-1]]).rstrip()) + "\n")
    out.flush()


def emit(env: Environment, text: str, *, exact: bool = False) -> None:
    """Text on stdout, sanitized on a terminal, with a final newline (``exact``: only on
    a terminal; piped, the bytes as they are)."""
    if not text.endswith("\n") and (env.stdout_tty or not exact):
        text += "\n"
    env.stdout.write(sanitize(text) if env.stdout_tty else text)
    env.stdout.flush()


def emit_or_save(env: Environment, text: str, out_path: Path | None) -> None:
    """A text exported: on stdout (see :func:`emit`), or atomically to --out FILE."""
    if out_path is None:
        emit(env, text, exact=True)
        return
    atomic_write_text(out_path, text)
    env.ui.note(f"saved to {out_path}")


def print_json(env: Environment, value: Any) -> None:
    """JSON on stdout: non-ASCII text kept readable, control characters escaped."""
    env.stdout.write(safe_json(value, indent=2, sort_keys=False) + "\n")
    env.stdout.flush()
