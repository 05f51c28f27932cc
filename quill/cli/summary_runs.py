"""What `quill summarize` runs on: the draft each summary starts, the --out file and
the closing report its runners share, and the parallel runner.

`quill summarize FILE… --jobs N` on a backend that serves parallel requests: the
files are summarized N at a time (each file's own steps in turn), under one progress
display, and the summaries are printed in input order once all are done.

Every file's draft is written (request and parameters) before any work starts; the
store is used from this thread only, the workers just generate. Ctrl-C / SIGTERM stop
every file at a clean point and keep what each had: a finished summary, the notes read
so far, or the partial summary."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quill.cli.generate import start_draft, text_source
from quill.cli.inputs import Source
from quill.cli.report import left_out, report_line
from quill.cli.run import Run
from quill.engine.base import Result
from quill.engine.generation import Generation
from quill.errors import Terminated
from quill.render.live import report
from quill.render.progress import StepProgress
from quill.signals import SignalFlag
from quill.store.files import atomic_write_text
from quill.writing.summarize import Summarizer
from quill.writing.summary_job import total_stats

if TYPE_CHECKING:
    from quill.store.journal import DraftJournal
    from quill.writing.summary_job import Job


@dataclass
class _File:
    src: Source
    job: Job
    journal: DraftJournal | None
    listeners: list[Any] = field(default_factory=list)
    text: str = ""
    finish: str = ""
    note: str = ""
    error: BaseException | None = None


def start_summary(
    run: Run, summarizer: Summarizer, src: Source, job: Job
) -> tuple[DraftJournal | None, list[Any]]:
    """The summary's draft (request and parameters), written before it is generated."""
    request = {
        "source": text_source(src.name, src.text, src.data),
        "template": "summarize",
        "options": asdict(summarizer.opts),
        "chunks": len(job.plan.chunks),
        "document_tokens": job.plan.tokens,
    }
    engine, base = summarizer.engine, summarizer.base
    return start_draft(run.env, run.store, run.keep, engine, base, kind="summary", request=request)


def write_out(run: Run, texts: list[str]) -> Path | None:
    """--out, written with every summary (or what was read of it)."""
    if run.out_path is None or not texts:
        return None
    atomic_write_text(run.out_path, "\n".join(texts), force=run.o.force)
    return run.out_path


def saved_where(saved: Path | None, drafts: list[str]) -> str:
    msg = f"; what was written is saved to {saved}" if saved is not None else ""
    return msg + ("; saved as " + ", ".join(drafts) if drafts else "")


def finish_report(
    run: Run,
    done: list[Job],
    t0: float,
    skipped: list[Source],
    saved: Path | None,
    drafts: list[str],
    warnings: list[str],
) -> None:
    """The one closing line: what was summarized, left out and saved."""
    ui = run.env.ui
    if skipped and ui.quiet:
        warnings.append(left_out(skipped))
    line = report_line(done, time.perf_counter() - t0, skipped, saved, drafts)
    total = total_stats([s for j in done for s in j.stats])
    report(ui, warnings=warnings, saved=[line], stats=total, show_stats=run.o.stats)


def run_parallel(
    run: Run, summarizer: Summarizer, usable: list[Source], skipped: list[Source]
) -> int:
    """Files side by side, ``summarizer.jobs`` at a time (see the module's docstring)."""
    ui = run.env.ui
    t0 = time.perf_counter()
    files: list[_File] = []
    for src in usable:  # plan and record every request before any generation
        job = summarizer.start(summarizer.plan(src.text, src.title))
        journal, listeners = start_summary(run, summarizer, src, job)
        files.append(_File(src, job, journal, listeners))

    stop = threading.Event()
    signum = 0
    total_tokens = sum(f.job.plan.tokens for f in files)
    with SignalFlag() as flag, StepProgress(ui, "files") as bar:
        bar.start(f"Summarizing {len(files)} files", len(files), total_tokens, "files")
        pool = ThreadPoolExecutor(max_workers=min(summarizer.jobs, len(files)))
        try:
            one = summarizer.one_step_at_a_time()  # files side by side, steps in turn
            pending: set[Future[None]] = {pool.submit(_work, one, f, stop) for f in files}
            while pending:
                _, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                n_done = sum(1 for f in files if f.finish or f.error)
                done_tokens = sum(f.job.plan.tokens for f in files if f.finish or f.error)
                bar.step(n_done, done_tokens)
                if flag.raised or any(f.error for f in files):
                    stop.set()
        except (KeyboardInterrupt, Terminated) as exc:  # a second signal: stop now
            stop.set()
            signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        finally:
            pool.shutdown(wait=True)
        signum = signum or flag.signum

    texts: list[str] = []
    drafts: list[str] = []
    warnings: list[str] = []
    interrupted: list[str] = []
    for f in files:
        head = f"# {f.src.name}\n\n"
        kept = f.text.strip()
        if f.finish == "interrupted" or f.error is not None or not f.finish:
            notes = f.job.partial_notes() if f.job.messages is None else ""
            kept = kept or notes
            if kept:
                what = "partial summary" if f.text.strip() else "notes on the parts read"
                texts.append(f"{head}<!-- quill: interrupted; {what} -->\n\n{kept}\n")
            if f.journal is not None:
                f.journal.finish(kept, status="interrupted", finish="interrupted")
                drafts.append(f"{f.journal.label} (interrupted)")
            interrupted.append(f.src.name)
            continue
        texts.append(head + kept + "\n")
        warnings.extend(f.job.problems())
        if f.note:
            warnings.append(f"{f.src.name}: {f.note}")
        if f.journal is not None:
            f.journal.done_meta["warnings"] = f.job.problems()
            f.journal.done_meta["passes"] = f.job.passes

            result = Result(f.text, f.finish, f.job.total, f.note)  # type: ignore[arg-type]
            for listener in f.listeners:
                listener.on_done(result)
            drafts.append(f.journal.label)
    sink = ui.content_sink(run.o.plain)
    sink.feed("\n".join(texts))
    sink.close()
    saved = write_out(run, texts)
    errors = [f.error for f in files if f.error is not None]
    if errors or signum:
        names = ", ".join(interrupted) or "none"
        report(ui, warnings=warnings, saved=[f"not finished: {names}" + saved_where(saved, drafts)])
        if not signum:
            raise errors[0]
        return 128 + int(signum)
    finish_report(run, [f.job for f in files], t0, skipped, saved, drafts, warnings)
    return 0


def _work(summarizer: Summarizer, f: _File, stop: threading.Event) -> None:
    """One file in a worker thread: its notes, then its summary (not streamed)."""
    gen: Generation | None = None
    try:
        for _ in summarizer.run(f.job, stop=stop.is_set):
            pass
        job = f.job
        if stop.is_set() or job.messages is None or job.params is None:
            f.finish = "interrupted"
            return
        gen = summarizer.final_generation(job)
        for _ in gen:
            if stop.is_set():
                gen.stop("interrupted")
                break
        result = gen.close()
        job.record(result.stats)
        f.text, f.note, f.finish = result.text, result.note, result.finish
    except BaseException as exc:  # reported by the main thread, after the others stop
        f.error = exc
        if gen is not None:
            f.text = "".join(gen.parts)  # what came before a broken stream is kept
