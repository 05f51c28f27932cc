"""`quill draft`."""

from __future__ import annotations

from typing import Annotated

import typer

from quill.cli.generate import text_source
from quill.cli.options import WRITER
from quill.cli.run import Run, command
from quill.engine.base import Sampling
from quill.engine.generation import Generation, generate
from quill.writing import draft as drafting
from quill.writing.language import is_cjk
from quill.writing.verbs import with_style


@command(
    "form",
    "tone",
    "words",
    "best_of",
    *WRITER,
    "lang",
    "style",
    helps={
        "tone": "e.g. formal, warm, playful.",
        "words": 'Target length in words (default: a length the brief names, "about 80 words").',
        "lang": "Language to write in (default: the brief's).",
    },
    template="draft",
)
def draft(
    run: Run,
    brief: Annotated[
        str | None,
        typer.Argument(help="What to write. Stdin, if piped, is the material the brief works on."),
    ] = None,
) -> None:
    """Write a first draft from a brief.

    Examples:

      quill draft "a product page for a linen shirt" --form product

      cat notes.md | quill draft "a blog post from these notes" --words 400
    """
    o = run.o
    form, tone, words, lang, style = o.form, o.tone, o.words, o.lang, o.style
    material = run.stdin_text()
    messages = drafting.build_messages(
        brief, material, form=form, tone=tone, words=words, lang=lang, user_dir=run.user_dir
    )
    # a length the brief asks for ("about 80 words") ends, limits and checks the draft
    # as --words does; the brief already says it, so the request does not again
    words = words or drafting.words_in_brief(brief)
    if style:
        messages = with_style(messages, run.style(style, brief or material))
    # A free draft copies little: prompt lookup (docs/speed.md) would draft for nothing.
    # a piece in Chinese or Japanese begins no word in small Latin letters of its own
    native = is_cjk(drafting.piece_language(brief or material or "", lang))
    params = run.sampling(
        drafting.DEFAULT_MAX_TOKENS,
        budget=drafting.max_tokens_for(words),
        lookup=0,
        end_after=words or 0,
        native=native,
        not_first=drafting.TALK_OPENERS,
    )
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
            gen = run.style_checked(style, start, params, o.best_of or 1)
        elif o.best_of:  # checked (written again while it fails), shown whole
            gen = drafting.checked_generation(start, params, check, n=o.best_of)
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
        run.stream(gen, None, kind="draft", request=request)
