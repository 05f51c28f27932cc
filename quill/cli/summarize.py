"""`quill summarize`."""

from __future__ import annotations

import signal
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quill.cli import options as o
from quill.cli.inputs import Source, decode, hint_for, read_sources

__all__ = ["TEXT_HINT", "Source", "decode", "read_sources", "summarize"]

if TYPE_CHECKING:
    from quill.cli.generate import Keep
    from quill.env import Environment
    from quill.store.db import Store
    from quill.writing.summarize import Summarizer
    from quill.writing.summary_job import Job

TEXT_HINT = "quill summarizes Markdown and plain text (UTF-8 or UTF-16 with a BOM)"


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
    if skipped:
        line += "; " + left_out(skipped)
    if saved is not None:
        line += f"; saved to {saved}"
    if drafts:
        line += "; saved as " + ", ".join(drafts)
    return line


def left_out(skipped: list[Source]) -> str:
    return "left out: " + ", ".join(f"{s.name} ({s.problem})" for s in skipped)


def summarize(
    ctx: typer.Context,
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE",
            help="Markdown or plain-text files; - or nothing reads stdin.",
            show_default=False,
        ),
    ] = None,
    length: Annotated[
        str | None,
        typer.Option(
            "--length",
            "-l",
            metavar="short|medium|long",
            help="Summary length (default: sized to the document).",
        ),
    ] = None,
    words: Annotated[
        int | None, typer.Option("--words", help="Target length in words (overrides --length).")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="paragraph|bullets|tldr|outline",
            help="Shape of the summary.",
        ),
    ] = "paragraph",
    focus: Annotated[
        str | None, typer.Option("--focus", help="What the summary should pay attention to.")
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of the summary (default: the document's)."),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            help="Parts summarized at once, where the backend serves parallel requests.",
        ),
    ] = 1,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no report on stderr.")
    ] = False,
    out: o.OutOpt = None,
    force: o.ForceOpt = False,
    draft_id: o.DraftOpt = None,
    title: o.TitleOpt = None,
    no_save: o.NoSaveOpt = False,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            metavar="precise|balanced|creative",
            help="Sampling preset (default: precise).",
        ),
    ] = None,
    temperature: o.TemperatureOpt = None,
    seed: o.SeedOpt = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", help="Most tokens in the summary (default: from the length)."),
    ] = None,
    stats: o.StatsOpt = False,
    plain: o.PlainOpt = False,
    model: o.ModelOpt = None,
    n_ctx: o.CtxOpt = None,
    gpu_layers: o.GpuOpt = None,
    threads: o.ThreadsOpt = None,
    verbose: o.VerboseOpt = False,
    encoding: o.EncodingOpt = None,
) -> None:
    """Summarize documents of any length.

    Nothing is cut off silently: the text is counted with the model's tokenizer. A
    document that fits the model's context is summarized in one pass. A longer one is
    cut into parts on its headings, paragraphs and sentences; each part is turned into
    notes (map) and the notes into the summary (reduce). Progress shows on a terminal;
    a one-line report on stderr says what was done, and what was left out, if anything.

    Examples:

      quill summarize report.md

      cat notes.txt | quill summarize --format bullets --length short

      quill summarize ch1.md ch2.md --focus "the budget" --out summary.md
    """
    from quill.cli.context import get_env
    from quill.cli.generate import Keep, check_out
    from quill.cli.logs import setup_logging
    from quill.env import EngineOptions
    from quill.errors import InputError, UsageError
    from quill.writing.presets import sampling
    from quill.writing.summarize import Summarizer, SummaryOptions

    env = get_env(ctx)
    setup_logging(verbose)
    if quiet:
        env.quiet = True
        env.ui.quiet = True
    ui = env.ui
    opts = SummaryOptions(
        length=length, words=words, format=fmt, focus=focus, lang=lang, max_tokens=max_tokens
    )
    opts.validate()
    out_path = check_out(out, force)
    sources = read_sources(env, files or [])
    usable = [s for s in sources if not s.problem]
    skipped = [s for s in sources if s.problem]
    if len(sources) == 1 and skipped:
        s = skipped[0]
        if s.problem == "empty":
            raise InputError(f"{s.name} is empty: nothing to summarize")
        raise InputError(f"cannot summarize {s.name}: {s.problem}", hint=hint_for(s.problem))
    if not usable:
        raise InputError("nothing to summarize: " + left_out(skipped), hint=TEXT_HINT)
    if draft_id is not None and len(usable) > 1:
        raise UsageError("--draft takes one file: each file's summary is a draft of its own")
    keep = Keep(not no_save, draft_id, title)
    store = keep.open_store(env)
    try:
        base = sampling(preset or "precise", 1, temperature=temperature, seed=seed)
        engine = env.engine(EngineOptions(model, n_ctx, gpu_layers, threads))
        summarizer = Summarizer(
            engine, opts, base, jobs=jobs, user_dir=env.paths.config_dir / "prompts"
        )
        if jobs > summarizer.jobs and ui.stderr_tty:
            ui.note(
                f"this backend serves {engine.info.parallel} request at a time; parts run in turn"
            )
        if len(usable) > 1 and summarizer.jobs > 1:  # files side by side on a server
            from quill.cli.summarize_many import run_parallel

            code = run_parallel(
                env, summarizer, summarizer.jobs, usable, skipped, keep, store, out_path, force,
                plain, stats,
            )  # fmt: skip
        else:
            code = _run(
                env, summarizer, usable, skipped, keep, store, out_path, force, plain, stats
            )
    finally:
        if store is not None:
            store.close()
    if code:
        raise typer.Exit(code)


def _run(
    env: Environment,
    summarizer: Summarizer,
    usable: list[Source],
    skipped: list[Source],
    keep: Keep,
    store: Store | None,
    out_path: Path | None,
    force: bool,
    plain: bool,
    stats: bool,
) -> int:
    """Summarize each file in turn: notes (map, combine), then the streamed summary, each
    kept as a draft; one report at the end."""
    from quill.cli.generate import start_draft, text_source
    from quill.engine.generation import Generation
    from quill.errors import Terminated
    from quill.render.live import report, stream_live
    from quill.render.progress import StepProgress
    from quill.signals import SignalFlag
    from quill.store.files import atomic_write_text
    from quill.writing.summary_job import PassStarted, total_stats

    ui, engine, opts = env.ui, summarizer.engine, summarizer.opts
    t0 = time.perf_counter()
    done: list[Job] = []
    texts: list[str] = []
    saved_drafts: list[str] = []
    warnings: list[str] = []
    exit_code = 0
    interrupted_note = ""
    several = len(usable) > 1
    reached = 0
    for src in usable:
        reached += 1
        head = f"# {src.name}\n\n" if several else ""
        if several:
            sink = ui.content_sink(plain)
            sink.feed(("\n" if texts else "") + head)
            sink.close()
        job: Job | None = None
        journal = None
        signum = 0
        with SignalFlag() as flag:  # Ctrl-C / SIGTERM stop the step in flight cleanly
            try:
                job = summarizer.start(summarizer.plan(src.text, src.title))
                request = {
                    "source": text_source(src.name, src.text, src.data),
                    "template": "summarize",
                    "options": asdict(opts),
                    "chunks": len(job.plan.chunks),
                    "document_tokens": job.plan.tokens,
                }
                journal, listeners = start_draft(
                    env,
                    store,
                    keep,
                    engine,
                    summarizer.base,
                    kind="summary",
                    request=request,
                )
                with StepProgress(ui) as bar:
                    for ev in summarizer.run(job, stop=lambda: flag.raised):
                        if isinstance(ev, PassStarted):
                            label = "Reading parts" if ev.kind == "map" else "Combining notes"
                            unit = "chunks" if ev.kind == "map" else "groups"
                            bar.start(label, ev.steps, ev.tokens, unit)
                        else:
                            bar.step(ev.done, ev.tokens)
            except (KeyboardInterrupt, Terminated) as exc:  # a second signal: at once
                signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
            signum = signum or flag.signum
        if signum or job is None or job.messages is None:
            exit_code = 128 + int(signum or signal.SIGINT)
            kind, step, of = (job.current if job else None) or ("map", 0, 0)
            where = f"{kind} step {step} of {of}" if of else "planning"
            partial = job.partial_notes() if job is not None else ""
            if partial:
                texts.append(
                    f"{head}<!-- quill: interrupted during the {where}; these are the notes "
                    f"on the parts read so far, not a summary -->\n\n{partial}\n"
                )
            if journal is not None:
                journal.finish(partial, status="interrupted", finish="interrupted")
                saved_drafts.append(f"{journal.label} (the notes so far, interrupted)")
            interrupted_note = f"interrupted during the {where} of {src.name}"
            break
        assert job is not None and job.messages is not None and job.params is not None
        gen = Generation(
            engine.stream(job.messages, job.params),
            job.params,
            transforms=[summarizer.final_transform(job)],
            what="summary",
        )
        for listener in listeners:
            gen.add_listener(listener)
        if journal is not None:
            journal.done_meta["warnings"] = job.problems()
            journal.done_meta["passes"] = job.passes
        result = stream_live(ui, gen, plain=plain)
        job.record(result.stats)
        done.append(job)
        warnings.extend(job.problems())
        if result.text.strip():
            texts.append(head + result.text.strip() + "\n")
        if journal is not None:
            state = " (interrupted)" if result.finish == "interrupted" else ""
            saved_drafts.append(journal.label + state)
        if result.note:
            if result.finish == "interrupted":
                interrupted_note = f"{result.note} ({src.name})" if several else result.note
            else:
                warnings.append(result.note)
        if result.exit_code:
            exit_code = result.exit_code
            break
    elapsed = time.perf_counter() - t0

    saved: Path | None = None
    if out_path is not None and texts:
        atomic_write_text(out_path, "\n".join(texts), force=force)
        saved = out_path
    total = total_stats([s for j in done for s in j.stats])
    if exit_code:
        not_reached = usable[reached:]
        msg = interrupted_note
        if not_reached:
            msg += "; not summarized: " + ", ".join(s.name for s in not_reached)
        if saved is not None:
            msg += f"; what was written is saved to {saved}"
        if saved_drafts:
            msg += "; saved as " + ", ".join(saved_drafts)
        report(ui, warnings=warnings, saved=[msg])
        return exit_code
    if skipped and ui.quiet:
        warnings.append(left_out(skipped))
    line = report_line(done, elapsed, skipped, saved, saved_drafts)
    report(ui, warnings=warnings, saved=[line], stats=total, show_stats=stats)
    return 0


def register(app: typer.Typer) -> None:
    app.command()(summarize)
