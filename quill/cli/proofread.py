"""`quill proofread`, and the review of a generated text against its source that
`quill rewrite --diff/--review` shares with it."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quill.cli import options as o
from quill.cli.verbs import FileArg, Flags, Verb, chain_parts

if TYPE_CHECKING:
    from quill.cli.inputs import Source
    from quill.engine.base import Engine, Result, Sampling
    from quill.env import Environment
    from quill.render.live import Streamable
    from quill.writing.proofread import Edit, Fix


class CheckerJob:
    """The grammar checker, built and run in a thread while the model works."""

    def __init__(self, text: str) -> None:
        self.fixes: list[Fix] | None = None
        self.error = ""
        self.thread = threading.Thread(target=self._run, args=(text,), daemon=True)
        self.thread.start()

    def _run(self, text: str) -> None:
        from quill.writing.proofread import harper_checker

        try:
            check = harper_checker()
            self.fixes = list(check(text)) if check is not None else None
        except Exception as exc:  # a checker failure must not cost the model's work
            self.error = str(exc) or type(exc).__name__

    def result(self, timeout: float = 60.0) -> list[Fix] | None:
        self.thread.join(timeout)
        return self.fixes


def generate_quietly(env: Environment, gen: Streamable, label: str) -> Result:
    """Run a generation through the one terminal loop without showing its text (it is
    shown afterwards, as changes): a spinner on a terminal, Ctrl-C stops it cleanly."""
    import io

    from quill.render.live import stream_live
    from quill.render.ui import UI

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


def review_edits(env: Environment, original: str, items: list[Edit]) -> list[Edit]:
    """Ask about each edit in turn (y/n/a/q); returns the accepted ones."""
    from quill.render.review import Reviewer
    from quill.writing.proofread import context

    reviewer = Reviewer(env.ui, env.stdin)
    chosen: list[Edit] = []
    for k, e in enumerate(items, 1):
        reviewer.show(k, len(items), context(original, e), e.by, e.why)
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
    v: Verb,
    gen: Streamable,
    engine: Engine,
    params: Sampling,
    src: Source,
    *,
    kind: str,
    request: dict[str, Any],
    diff: bool,
    interactive: bool,
    checker: CheckerJob | None = None,
    in_place: bool = False,
    label: str = "Rewriting…",
) -> None:
    """Generate a new version of ``src`` quietly, then: print it as a unified diff
    (``diff``), or review it change by change (``interactive``), or take it whole; write
    the result (stdout, --out, the source with a backup, the draft) and report."""
    from quill.cli.generate import saved_line
    from quill.errors import UsageError
    from quill.render.live import report
    from quill.render.sanitize import sanitize
    from quill.store.files import atomic_write_text
    from quill.writing import proofread as pr
    from quill.writing.diffing import unified

    env, ui = v.env, v.env.ui
    if interactive and not (env.stdin_tty and env.stdout_tty):
        raise UsageError(
            "reviewing changes needs a terminal",
            hint="pass --diff to see them, or --out FILE to keep the new version",
        )
    journal, listeners = v.start(engine, params, src, kind, request)
    result = generate_quietly(env, gen, label)
    if result.finish == "interrupted" or result.exit_code:
        for listener in listeners:
            listener.on_done(result)
        where = [saved_line(journal, result)] if journal is not None else []
        report(ui, result, saved=where, show_stats=v.flags.stats)
        raise typer.Exit(result.exit_code or 130)
    original, model_text = src.text, result.text
    fixes = checker.result() if checker is not None else None
    final = pr.merge(original, model_text, fixes)[0] if fixes else model_text
    items = pr.edits(original, final, model_text, fixes or ())
    notes = [pr.summary(items)]
    if checker is not None and checker.error:
        notes.append(f"the grammar checker failed: {checker.error}")
    if diff:
        name = src.name if src.path is not None else src.name.replace(" ", "-")
        text = unified(original, final, name, name)
        env.stdout.write(sanitize(text) if env.stdout_tty else text)
        env.stdout.flush()
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
        atomic_write_text(v.out_path, text, force=v.flags.force)
        saved.append(f"saved to {v.out_path}")
    if not diff and not interactive and not in_place:
        out = text if text.endswith("\n") or not text else text + "\n"
        env.stdout.write(sanitize(out) if env.stdout_tty else out)
        env.stdout.flush()
    kept = replace(result, text=text)
    for listener in listeners:
        listener.on_done(kept)
    if journal is not None:
        saved.append(saved_line(journal, kept))
    for line in notes:
        ui.note(line)
    report(ui, kept, saved=saved, show_stats=v.flags.stats)


def proofread(
    ctx: typer.Context,
    file: FileArg = None,
    diff: Annotated[
        bool, typer.Option("--diff", help="Print the corrections as a unified diff.")
    ] = False,
    apply_all: Annotated[
        bool, typer.Option("--apply", help="Take every correction without asking.")
    ] = False,
    in_place: Annotated[
        bool,
        typer.Option("--in-place", help="Write the result over FILE (the old one kept as FILE~)."),
    ] = False,
    no_checker: Annotated[
        bool,
        typer.Option("--no-checker", help="Only the model: no grammar checker for English."),
    ] = False,
    out: o.OutOpt = None,
    force: o.ForceOpt = False,
    draft_id: o.DraftOpt = None,
    title: o.TitleOpt = None,
    no_save: o.NoSaveOpt = False,
    temperature: o.TemperatureOpt = None,
    seed: o.SeedOpt = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", help="Most tokens per part (default: from its size)."),
    ] = None,
    stats: o.StatsOpt = False,
    model: o.ModelOpt = None,
    n_ctx: o.CtxOpt = None,
    gpu_layers: o.GpuOpt = None,
    threads: o.ThreadsOpt = None,
    verbose: o.VerboseOpt = False,
    encoding: o.EncodingOpt = None,
) -> None:
    """Correct spelling, grammar and punctuation, and nothing else.

    On a terminal each correction is shown as a word diff and you accept or reject it
    in turn (y/n/a/q, like `git add -p`); the result is saved as a draft (and to --out,
    or over FILE with --in-place, which keeps the old file as FILE~). Piped, the
    corrected text goes to stdout. For English, a grammar checker (Harper, when the
    harper-py package is installed) adds what the model missed; each change says who
    found it. The source is never overwritten without --in-place.

    Examples:

      quill proofread post.md

      quill proofread post.md --diff

      cat note.txt | quill proofread > fixed.txt

      quill proofread post.md --apply --in-place
    """
    from quill.errors import UsageError
    from quill.writing.language import detect_language
    from quill.writing.proofread import english_like

    flags = Flags.take(locals())
    if diff and apply_all:
        raise UsageError("--diff and --apply contradict each other")
    if in_place and out is not None:
        raise UsageError("--in-place and --out contradict each other")
    with Verb(ctx, flags, "proofread", "proofread") as v:
        src = v.read(file)
        if in_place and src.path is None:
            raise UsageError("--in-place needs a FILE", hint="or pass --out FILE")
        lang = detect_language(src.text)
        english = lang == "English" or (lang is None and english_like(src.text))
        checker = CheckerJob(src.text) if english and not no_checker else None
        engine = v.engine()
        params = v.params(1024)
        gen = chain_parts(
            engine,
            params,
            src.text,
            lambda text: _messages(text, v),
            expansion=1.3,
            keep_code=True,
            what="proofread text",
            user_max=flags.max_tokens,
            commentary=False,
        )
        interactive = not diff and not apply_all and v.env.stdin_tty and v.env.stdout_tty
        finish_reviewed(
            v,
            gen,
            engine,
            params,
            src,
            kind="proofread",
            request={"checker": checker is not None, "language": lang},
            diff=diff,
            interactive=interactive,
            checker=checker,
            in_place=in_place,
            label="Proofreading…",
        )


def _messages(text: str, v: Verb) -> Any:
    from quill import prompts
    from quill.writing.verbs import messages

    p = prompts.load("proofread", v.user_dir)
    return messages(p["system"], prompts.render(p["user"], text=text))


def register(app: typer.Typer) -> None:
    app.command()(proofread)
