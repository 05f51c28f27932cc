"""`quill rewrite`, `expand`, `shorten`: a text in another tone, length or for another
audience.

Each reads its text from FILE, stdin, or (with ``--draft ID`` and nothing else) that
draft's latest version, and goes the way `quill draft` goes (:class:`~quill.cli.run.Run`):
one generation path over the parts of a long text, the one terminal loop, saved as a
draft with provenance (``--draft ID`` adds a version), ``--out`` written atomically, the
one closing report.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from quill.cli.review import finish_reviewed
from quill.cli.run import Run, command
from quill.errors import UsageError
from quill.writing.verbruns import rewrite_chain
from quill.writing.verbs import RewriteOptions, rewrite_messages, with_style

ToneOpt = Annotated[
    str | None,
    typer.Option(
        "--tone",
        metavar="TONE",
        help="formal, casual, friendly, persuasive, confident, academic, playful, "
        "empathetic, neutral, simple, or your own word.",
    ),
]
AudienceOpt = Annotated[
    str | None, typer.Option("--audience", help='Who it is for, e.g. "new customers".')
]
InstructionOpt = Annotated[
    str | None, typer.Option("--instruction", "-i", help="Any other instruction.")
]
DiffOpt = Annotated[
    bool, typer.Option("--diff", help="Print the rewrite as a unified diff against its source.")
]
ReviewOpt = Annotated[
    bool, typer.Option("--review", help="Accept or reject each change in turn (y/n/a/q).")
]
GROUPS = ("file", "engine", "sampling", "keep", "show", "lang", "style")


def _rewrite(run: Run, opts: RewriteOptions, *, diff: bool, review: bool) -> None:
    with run:
        src = run.read(run.o.file)
        voice = run.style(run.o.style, src.text)
        engine = run.engine()
        params = run.sampling(1024)

        def build(text: str) -> Any:
            return with_style(rewrite_messages(text, opts, run.user_dir), voice)

        gen = rewrite_chain(engine, params, src.text, build, opts, max_tokens=run.o.max_tokens)
        options = {k: val for k, val in vars(opts).items() if val}
        request = {"options": options, "style": run.o.style}
        if diff or review:
            finish_reviewed(
                run,
                gen,
                engine,
                params,
                src,
                kind="rewrite",
                request=request,
                diff=diff,
                interactive=review,
            )
            return
        run.stream(gen, engine, params, src, kind="rewrite", request=request)


@command(*GROUPS, template="rewrite")
def rewrite(
    run: Run,
    tone: ToneOpt = None,
    shorter: Annotated[bool, typer.Option("--shorter", help="About half as long.")] = False,
    longer: Annotated[bool, typer.Option("--longer", help="About twice as long.")] = False,
    audience: AudienceOpt = None,
    instruction: InstructionOpt = None,
    diff: DiffOpt = False,
    review: ReviewOpt = False,
) -> None:
    """Rewrite a text in another tone, length or for another audience.

    Examples:

      quill rewrite notes.md --tone formal

      cat email.txt | quill rewrite --shorter --audience "busy executives"

      quill rewrite post.md --tone friendly --review --out post2.md
    """
    if shorter and longer:
        raise UsageError("--shorter and --longer contradict each other")
    length = "shorter" if shorter else ("longer" if longer else None)
    opts = RewriteOptions(tone, length, audience, instruction, run.o.lang)
    _rewrite(run, opts, diff=diff, review=review)


def _sized(verb: str, length: str, doc: str) -> Callable[..., None]:
    """`quill expand` and `quill shorten`: `quill rewrite --longer/--shorter`, with
    rewrite's own options but --shorter and --longer (its signature, less those two)."""

    def sized(run: Run, **own: Any) -> None:
        tone, audience, instruction = own["tone"], own["audience"], own["instruction"]
        opts = RewriteOptions(tone, length, audience, instruction, run.o.lang)
        _rewrite(run, opts, diff=own["diff"], review=own["review"])

    base = inspect.signature(rewrite.__wrapped__, eval_str=True)  # type: ignore[attr-defined]
    kept = [p for p in base.parameters.values() if p.name not in ("shorter", "longer")]
    sized.__signature__ = base.replace(parameters=kept)  # type: ignore[attr-defined]
    sized.__name__ = sized.__qualname__ = verb
    sized.__doc__ = doc
    return command(*GROUPS, verb=verb, template="rewrite")(sized)


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
