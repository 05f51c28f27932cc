"""A generated text shown as changes to its source (`quill rewrite --diff/--review`,
`quill proofread`), and answers generated quietly (`quill analyze`, `classify`,
`moderate`)."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import typer

from quill.cli.generate import saved_line
from quill.cli.inputs import Source
from quill.cli.report import emit
from quill.cli.run import Run
from quill.engine.base import Message, Result, Sampling
from quill.engine.generation import generate
from quill.env import Environment
from quill.errors import UsageError
from quill.render.live import report, stream_live
from quill.render.review import Reviewer
from quill.render.ui import UI
from quill.store.files import atomic_write_text
from quill.writing import proofread as pr
from quill.writing.diffing import unified

if TYPE_CHECKING:
    from quill.render.live import Streamable
    from quill.writing.proofread import Edit, Fix


class Checker(Protocol):
    """A second opinion on the text (the grammar checker), run while the model works."""

    error: str

    def result(self, timeout: float = 60.0) -> list[Fix] | None: ...


def generate_quietly(env: Environment, gen: Streamable, label: str) -> Result:
    """Run a generation through the one terminal loop without showing its text (it is
    shown afterwards, as changes or an answer): a spinner on a terminal, Ctrl-C stops
    it cleanly."""
    hidden = UI(
        io.StringIO(),
        env.stderr,
        stdout_tty=False,
        stderr_tty=False,
        color=False,
        quiet=True,
    )
    with env.ui.spinner(label):
        return stream_live(hidden, gen, plain=True, spinner=False)


def ask(run: Run, messages: list[Message], params: Sampling, label: str) -> Result:
    """One quiet generation for an answer; Ctrl-C ends the command with 130."""
    result = generate_quietly(run.env, generate(run.engine(), messages, params), label)
    if result.finish == "interrupted" or result.exit_code:
        report(run.env.ui, result, show_stats=run.o.stats)
        raise typer.Exit(result.exit_code or 130)
    return result


def review_edits(env: Environment, original: str, items: list[Edit]) -> list[Edit]:
    """Ask about each edit in turn (y/n/a/q); returns the accepted ones."""
    reviewer = Reviewer(env.ui, env.stdin)
    chosen: list[Edit] = []
    for k, e in enumerate(items, 1):
        reviewer.show(k, len(items), pr.context(original, e), e.by, e.why)
        answer = reviewer.ask()
        if answer == "yes":
            chosen.append(e)
        elif answer == "all":
            chosen += items[k - 1 :]
            break
        elif answer == "quit":
            break
    return chosen


def finish_reviewed(
    v: Run,
    gen: Streamable,
    src: Source,
    *,
    kind: str,
    request: dict[str, Any],
    diff: bool,
    interactive: bool,
    checker: Checker | None = None,
    in_place: bool = False,
    label: str = "Rewriting…",
) -> None:
    """Generate a new version of ``src`` quietly, then: print it as a unified diff
    (``diff``), or review it change by change (``interactive``), or take it whole; write
    the result (stdout, --out, the source with a backup, the draft) and report."""
    env, ui = v.env, v.env.ui
    if interactive and not (env.stdin_tty and env.stdout_tty):
        raise UsageError(
            "reviewing changes needs a terminal",
            hint="pass --diff to see them, or --out FILE to keep the new version",
        )
    journal, listeners = v.start(src, kind, request)
    result = generate_quietly(env, gen, label)
    if result.finish == "interrupted" or result.exit_code:
        for listener in listeners:
            listener.on_done(result)
        where = [saved_line(journal, result)] if journal is not None else []
        report(ui, result, saved=where, show_stats=v.o.stats)
        raise typer.Exit(result.exit_code or 130)
    original, model_text = src.text, result.text
    fixes = checker.result() if checker is not None else None
    own = getattr(gen, "edits", None)  # a proofreading run credits its own changes
    if callable(own):
        items = own()
        final = pr.apply(original, items)
    else:
        final = pr.merge(original, model_text, fixes)[0] if fixes else model_text
        items = pr.edits(original, final, model_text, fixes or ())
    notes = [pr.summary(items)]
    if checker is not None and checker.error:
        notes.append(f"the grammar checker failed: {checker.error}")
    if diff:
        name = src.name if src.path is not None else src.name.replace(" ", "-")
        emit(env, unified(original, final, name, name), exact=True)
        chosen = items
    elif interactive and items:
        chosen = review_edits(env, original, items)
        notes[0] = f"applied {len(chosen)} of {len(items)} changes"
    else:
        chosen = items
    text = pr.apply(original, chosen)
    saved: list[str] = []
    if in_place and src.path is not None and chosen:
        atomic_write_text(src.path, text, backup=True)
        saved.append(f"saved to {src.path} (the previous text is in {src.path.name}~)")
    if v.out_path is not None:
        atomic_write_text(v.out_path, text, force=v.o.force)
        saved.append(f"saved to {v.out_path}")
    if not diff and not interactive and not in_place and text:
        emit(env, text)
    kept = replace(result, text=text)
    for listener in listeners:
        listener.on_done(kept)
    if journal is not None:
        saved.append(saved_line(journal, kept))
    for line in notes:
        ui.note(line)
    report(ui, kept, saved=saved, show_stats=v.o.stats)
