"""`quill rewrite`, `expand`, `shorten`: a text in another tone, length or for another
audience.

Each reads its text from FILE, stdin, or (with ``--draft ID`` and nothing else) that
draft's latest version, and goes the way `quill draft` goes (:class:`~quill.cli.run.Run`):
one generation path over the parts of a long text, the one terminal loop, saved as a
draft with provenance (``--draft ID`` adds a version), ``--out`` written atomically, the
one closing report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quill.cli.options import BEST_OF, WRITER
from quill.cli.review import finish_reviewed
from quill.cli.run import Run, command
from quill.errors import UsageError
from quill.writing.verbruns import rewrite_chain
from quill.writing.verbs import RewriteOptions, rewrite_messages, with_style

# the options rewrite, expand and shorten share (declared in cli/options.py)
OWN = ("tone", "audience", "instruction", "diff", "review", "best_of")
GROUPS = ("file", *WRITER, "lang", "style")


def _rewrite(run: Run, length: str | None) -> None:
    o = run.o
    opts = RewriteOptions(o.tone, length, o.audience, o.instruction, o.lang)
    diff, review = o.diff, o.review
    with run:
        src = run.read(run.o.file)
        voice = run.style(run.o.style, src.text)
        engine = run.engine()
        params = run.sampling(1024)

        def build(text: str) -> Any:
            return with_style(rewrite_messages(text, opts, run.user_dir), voice)

        gen = rewrite_chain(
            engine, params, src.text, build, opts, max_tokens=o.max_tokens, n=o.best_of or 1
        )
        options = {k: val for k, val in vars(opts).items() if val}
        request = {"options": options, "style": run.o.style}
        if diff or review:
            finish_reviewed(
                run, gen, src, kind="rewrite", request=request, diff=diff, interactive=review
            )
            return
        run.stream(gen, src, kind="rewrite", request=request)


@command("tone", "shorter", "longer", *OWN[1:], *GROUPS, helps=BEST_OF, template="rewrite")
def rewrite(run: Run) -> None:
    """Rewrite a text in another tone, length or for another audience.

    Examples:

      quill rewrite notes.md --tone formal

      cat email.txt | quill rewrite --shorter --audience "busy executives"

      quill rewrite post.md --tone friendly --review --out post2.md
    """
    shorter, longer = run.o.shorter, run.o.longer
    if shorter and longer:
        raise UsageError("--shorter and --longer contradict each other")
    _rewrite(run, "shorter" if shorter else ("longer" if longer else None))


def _sized(verb: str, length: str, doc: str) -> Callable[..., None]:
    """`quill expand` and `quill shorten`: `quill rewrite --longer/--shorter`, with
    rewrite's own options but --shorter and --longer."""

    def sized(run: Run) -> None:
        _rewrite(run, length)

    sized.__name__ = sized.__qualname__ = verb
    sized.__doc__ = doc
    return command(*OWN, *GROUPS, helps=BEST_OF, verb=verb, template="rewrite")(sized)


expand = _sized(
    "expand",
    "longer",
    """Make a text about twice as long (`quill rewrite --longer`).

    Example:

      quill expand notes.md --audience "first-time visitors"
    """,
)
shorten = _sized(
    "shorten",
    "shorter",
    """Make a text about half as long (`quill rewrite --shorter`).

    Example:

      cat report.md | quill shorten --tone confident
    """,
)
