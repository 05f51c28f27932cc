"""`quill summarize`."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

import typer

from quill.cli.inputs import Source, refused
from quill.cli.options import WRITER
from quill.cli.report import left_out
from quill.cli.run import Run, command
from quill.cli.summary_runs import (
    finish_report,
    run_parallel,
    saved_where,
    start_summary,
    write_out,
)
from quill.errors import InputError, Terminated, UsageError
from quill.render.live import report, stream_live
from quill.render.progress import StepProgress
from quill.signals import SignalFlag
from quill.writing.summarize import Summarizer, SummaryOptions
from quill.writing.summary_job import PassStarted

if TYPE_CHECKING:
    from quill.writing.summary_job import Job

TEXT_HINT = "quill summarizes Markdown and plain text (UTF-8 or UTF-16 with a BOM)"


# What the progress bar says of each pass, and what it counts.
PASS_LABELS = {
    "map": ("Reading parts", "chunks"),
    "combine": ("Combining notes", "groups"),
    "refine": ("Refining the summary", "parts"),
}


# its own options (declared in cli/options.py), then the groups of a writer
OWN = ("files", "length", "words", "fmt", "focus", "lang", "method", "jobs", "best_of")


@command(
    *OWN,
    *WRITER,
    helps={
        "words": "Target length in words (overrides --length).",
        "lang": "Language of the summary (default: the document's).",
        "preset": "Sampling preset (default: precise).",
        "max_tokens": "Most tokens in the summary (default: from the length).",
        "best_of": "Write N summaries and keep the best by quill's check: of those that "
        "pass, the one that carries most of the document's figures and invents fewest "
        "figures and names (default: 3, three tries in all; with N, one that copies, lists, "
        "misses the length or loops is written again, at most twice).",
    },
    template="summarize",
)
def summarize(run: Run) -> None:
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
    ui, o = run.env.ui, run.o
    opts = SummaryOptions(
        length=o.length,
        words=o.words,
        format=o.fmt,
        focus=o.focus,
        lang=o.lang,
        max_tokens=o.max_tokens,
        method=o.method,
        best_of=o.best_of,
    )
    opts.validate()
    sources = run.read_all(o.files or [])
    usable = [s for s in sources if not s.problem]
    skipped = [s for s in sources if s.problem]
    if len(sources) == 1 and skipped:
        raise refused(skipped[0], "summarize")
    if not usable:
        raise InputError("nothing to summarize: " + left_out(skipped), hint=TEXT_HINT)
    if o.draft_id is not None and len(usable) > 1:
        raise UsageError("--draft takes one file: each file's summary is a draft of its own")
    with run:
        base = run.sampling(1, default_preset="precise", fixed_seed=False)
        engine = run.engine()
        summarizer = Summarizer(engine, opts, base, jobs=o.jobs, user_dir=run.user_dir)
        if o.jobs > summarizer.jobs and ui.stderr_tty:
            ui.note(
                f"this backend serves {engine.info.parallel} request at a time; parts run in turn"
            )
        if len(usable) > 1 and summarizer.jobs > 1:  # files side by side on a server
            code = run_parallel(run, summarizer, usable, skipped)
        else:
            code = _run(run, summarizer, usable, skipped)
    if code:
        raise typer.Exit(code)


def _run(run: Run, summarizer: Summarizer, usable: list[Source], skipped: list[Source]) -> int:
    """Summarize each file in turn: notes (map, combine), then the streamed summary, each
    kept as a draft; one report at the end."""
    ui = run.env.ui
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
            run.show(("\n" if texts else "") + head)
        job: Job | None = None
        journal = None
        signum = 0
        with SignalFlag() as flag:  # Ctrl-C / SIGTERM stop the step in flight cleanly
            try:
                job = summarizer.start(summarizer.plan(src.text, src.title))
                journal, listeners = start_summary(run, summarizer, src, job)
                with StepProgress(ui) as bar:
                    for ev in summarizer.run(job, stop=lambda: flag.raised):
                        if isinstance(ev, PassStarted):
                            label, unit = PASS_LABELS[ev.kind]
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
        assert job is not None
        gen = summarizer.final_generation(job)
        for listener in listeners:
            gen.add_listener(listener)
        if journal is not None:
            journal.done_meta["warnings"] = job.problems()
            journal.done_meta["passes"] = job.passes
        result = stream_live(ui, gen, plain=run.o.plain)
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
    saved = write_out(run, texts)
    if exit_code:
        not_reached = usable[reached:]
        msg = interrupted_note
        if not_reached:
            msg += "; not summarized: " + ", ".join(s.name for s in not_reached)
        report(ui, warnings=warnings, saved=[msg + saved_where(saved, saved_drafts)])
        return exit_code
    finish_report(run, done, t0, skipped, saved, saved_drafts, warnings)
    return 0
