"""`quill proofread`: spelling, grammar and punctuation corrected, shown as changes
(the review it shares with `quill rewrite --diff/--review` is :mod:`quill.cli.review`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from quill import prompts
from quill.cli.options import WRITER
from quill.cli.review import finish_reviewed
from quill.cli.run import Run, command
from quill.errors import UsageError
from quill.writing.language import detect_language
from quill.writing.proofread import Proofreading, english_like, harper_checker

if TYPE_CHECKING:
    from quill.writing.proofread import Fix


class CheckerJob:
    """The grammar checker, built and run in a thread while the model works."""

    def __init__(self, text: str) -> None:
        self.fixes: list[Fix] | None = None
        self.error = ""
        self.thread = threading.Thread(target=self._run, args=(text,), daemon=True)
        self.thread.start()

    def _run(self, text: str) -> None:
        try:
            check = harper_checker()
            self.fixes = list(check(text)) if check is not None else None
        except Exception as exc:  # a checker failure must not cost the model's work
            self.error = str(exc) or type(exc).__name__

    def result(self, timeout: float = 60.0) -> list[Fix] | None:
        self.thread.join(timeout)
        return self.fixes


@command(
    "diff",
    "apply_all",
    "in_place",
    "no_checker",
    "file",
    *WRITER,
    leave_out=("plain",),
    helps={
        "diff": "Print the corrections as a unified diff.",
        "max_tokens": "Most tokens per part (default: from its size).",
    },
    template="proofread",
)
def proofread(run: Run) -> None:
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
    diff, apply_all, in_place = run.o.diff, run.o.apply_all, run.o.in_place
    if diff and apply_all:
        raise UsageError("--diff and --apply contradict each other")
    if in_place and run.o.out is not None:
        raise UsageError("--in-place and --out contradict each other")
    with run as v:
        src = v.read(v.o.file)
        if in_place and src.path is None:
            raise UsageError("--in-place needs a FILE", hint="or pass --out FILE")
        lang = detect_language(src.text)
        english = lang == "English" or (lang is None and english_like(src.text))
        checker = CheckerJob(src.text) if english and not v.o.no_checker else None
        engine = v.engine()
        params = v.sampling(1024)
        template = prompts.load("proofread", v.user_dir)
        fixes = checker.result if checker is not None else None
        gen = Proofreading(engine, params, src.text, template, fixes=fixes)
        interactive = not diff and not apply_all and v.env.stdin_tty and v.env.stdout_tty
        finish_reviewed(
            v,
            gen,
            src,
            kind="proofread",
            request={"checker": checker is not None, "language": lang},
            diff=diff,
            interactive=interactive,
            checker=checker,
            in_place=in_place,
            label="Proofreading…",
        )
