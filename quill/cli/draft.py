"""`quill draft`."""

from __future__ import annotations

from typing import Annotated

import typer

from quill.cli.generate import text_source
from quill.cli.run import Run, command
from quill.engine.base import Sampling
from quill.engine.generation import Generation, generate
from quill.writing import draft as drafting
from quill.writing.verbs import with_style


@command(
    "engine",
    "sampling",
    "keep",
    "show",
    "lang",
    "style",
    helps={"lang": "Language to write in (default: the brief's)."},
    template="draft",
)
def draft(
    run: Run,
    brief: Annotated[
        str | None,
        typer.Argument(help="What to write. Stdin, if piped, is the material the brief works on."),
    ] = None,
    form: Annotated[
        str | None,
        typer.Option(
            "--form",
            metavar="FORM",
            help="article, blog, product, marketing, news, email, poem, story or script "
            "(default: the form the brief names, if any).",
        ),
    ] = None,
    tone: Annotated[str | None, typer.Option("--tone", help="e.g. formal, warm, playful.")] = None,
    words: Annotated[int | None, typer.Option("--words", help="Target length in words.")] = None,
    best_of: Annotated[
        int,
        typer.Option(
            "--best-of",
            metavar="N",
            min=0,
            help="Check the draft before showing it: write N, keep the best, and write a "
            "failing one again (at most twice). 0 (default): stream it as it is written.",
        ),
    ] = 0,
) -> None:
    """Write a first draft from a brief.

    Examples:

      quill draft "a product page for a linen shirt" --form product

      cat notes.md | quill draft "a blog post from these notes" --words 400
    """
    lang, style = run.o.lang, run.o.style
    material = run.stdin_text()
    messages = drafting.build_messages(
        brief, material, form=form, tone=tone, words=words, lang=lang, user_dir=run.user_dir
    )
    if style:
        messages = with_style(messages, run.style(style, brief or material))
    params = run.sampling(drafting.DEFAULT_MAX_TOKENS, budget=drafting.max_tokens_for(words))
    with run:
        engine = run.engine()

        check = drafting.piece_check(
            brief or material or "", form=form, lang=lang, words=words, user_dir=run.user_dir
        )

        def start(p: Sampling) -> Generation:
            tidy = drafting.filters(messages, p.max_tokens, check)
            return generate(engine, messages, p, transforms=tidy)

        # --style: the draft is measured against the voice before it is shown
        if style:
            gen = run.style_checked(style, start, params, best_of)
        elif best_of:  # checked (written again while it fails), shown whole
            gen = drafting.checked_generation(start, params, check, n=best_of)
        else:  # streamed as it is written; the check's findings go in the report
            gen = start(params)
        request: dict[str, object] = {
            "brief": brief if brief is not None else (material or ""),
            "form": form,
            "tone": tone,
            "words": words,
            "lang": lang,
        }
        if style:
            request["style"] = style
        if brief is not None and material:
            request["material"] = text_source("stdin", material)
        run.stream(gen, engine, params, None, kind="draft", request=request)
