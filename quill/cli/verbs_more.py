"""`quill translate`, `quill outline`, `quill titles`, `quill continue`: the text verbs
that write something new from a text (see :mod:`quill.cli.run` for what every one of
them shares)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quill.cli.options import BEST_OF, WRITER
from quill.cli.run import Run, command
from quill.engine.base import Engine, Sampling
from quill.engine.generation import generate
from quill.writing.cleanup import strip_commentary, unwrap_fence
from quill.writing.draft import max_tokens_for
from quill.writing.language import detect_language, is_cjk, language_name
from quill.writing.translate import translation
from quill.writing.verbruns import titles_generation
from quill.writing.verbs import (
    Chain,
    chained,
    continue_messages,
    outline_messages,
    part_budget,
    plan_parts,
    titles_grammar,
    titles_messages,
    trim,
    untag,
    with_style,
)

GROUPS = ("file", *WRITER)
PER_PART = "Most tokens per part (default: from its size)."

CONTEXT_TOKENS = 1500  # of a long draft shown to the model for titles or a continuation


@command(
    "to",
    "from_lang",
    "best_of",
    *GROUPS,
    helps={"max_tokens": PER_PART, **BEST_OF},
    template="translate",
)
def translate(run: Run) -> None:
    """Translate a text, keeping its Markdown structure.

    Headings, lists and links keep their shape; code blocks are passed through
    untouched (never sent to the model). A long text is translated part by part, never
    cut.

    Examples:

      quill translate README.md --to zh --out README.zh.md

      echo "Bonjour tout le monde" | quill translate --to English
    """
    target = language_name(run.o.to)
    with run as v:
        src = v.read(v.o.file)
        origin = language_name(v.o.from_lang) if v.o.from_lang else detect_language(src.text)
        if origin is not None and origin == target:
            v.env.ui.note(f"the text already looks like {target}")
        engine = v.engine()
        params = v.sampling(1024)
        gen = translation(
            engine,
            params,
            src.text,
            target,
            origin,
            user_dir=v.user_dir,
            max_tokens=v.o.max_tokens,
            n=v.o.best_of or 1,
        )
        request = {"to": target, "from": origin, "parts": gen.generations}
        v.stream(gen, src, kind="translation", request=request)


def chain_parts(
    engine: Engine,
    params: Sampling,
    text: str,
    build: Callable[[str], Any],
    *,
    expansion: float,
    keep_code: bool,
    what: str,
    user_max: int | None,
    cap: Callable[[int], int] | None = None,
    commentary: bool = True,
) -> Any:
    """A Chain over the parts of ``text``: ``build(part_text)`` gives a part's messages;
    each part's budget is ``cap(part_tokens)`` unless --max-tokens was given. With
    ``commentary``, a preamble or closing remark of the model's is dropped."""

    overhead = engine.count_messages(build(""))
    parts = plan_parts(
        text, engine.count, part_budget(engine, overhead, expansion), keep_code=keep_code
    )

    def start(part: Any) -> Any:
        limit = user_max or (cap(part.tokens) if cap else int(part.tokens * expansion) + 64)
        p = params.with_(max_tokens=max(limit, 16))
        tidy = [unwrap_fence, untag("text", part.core), trim]
        if commentary:
            tidy.insert(2, strip_commentary)
        return generate(engine, build(part.core), p, transforms=tidy)

    return Chain(chained(parts, start), params, what=what)


@command(*GROUPS, "lang", template="outline")
def outline(run: Run) -> None:
    """Outline a text as Markdown headings and bullets.

    From a short brief, the outline of a piece to write. A long text is outlined part
    by part, in order.

    Examples:

      quill outline chapter.md

      echo "a guide to brewing green tea" | quill outline
    """
    with run as v:
        src = v.read(v.o.file)
        engine = v.engine()
        params = v.sampling(700)

        def build(text: str) -> Any:
            return outline_messages(text, v.o.lang, v.user_dir)

        gen = chain_parts(
            engine,
            params,
            src.text,
            build,
            expansion=0.6,
            keep_code=False,
            what="outline",
            user_max=v.o.max_tokens,
            cap=lambda _tokens: params.max_tokens,
        )
        v.stream(gen, src, kind="outline", request={"lang": v.o.lang})


@command("count", *GROUPS, "lang", leave_out=("plain",), verb="title", template="titles")
def titles(run: Run) -> None:
    """Title ideas for a text, one per line.

    Exactly N titles, no numbering: a grammar holds the model to that.

    Examples:

      quill titles post.md

      quill titles -n 10 chapter.md > ideas.txt
    """
    n = run.o.count
    with run as v:
        src = v.read(v.o.file)
        engine = v.engine()
        params = v.sampling(400, budget=40 * n + 40, grammar=titles_grammar(n))
        text, part = v.within(src.text, _shown(engine))
        if part:
            v.env.ui.note(f"titles: the model reads the {part}")
        gen = titles_generation(engine, titles_messages(text, n, v.o.lang, v.user_dir), params, n)
        v.stream(gen, src, kind="titles", request={"n": n}, plain=True)


def _shown(engine: Any) -> int:
    """Tokens of a long draft shown to the model for titles or a continuation."""
    return min(CONTEXT_TOKENS, max(64, engine.info.n_ctx // 3))


@command(
    "add_words",
    *GROUPS,
    "lang",
    "style",
    helps={"out": "Also write the whole text to FILE."},
    verb="continue",
    template="continue",
)
def continue_(run: Run) -> None:
    """Write the next part of a draft in its own voice. Prints only the continuation;
    the draft kept (and --out) is the whole text.

    Examples:

      quill continue story.md --words 200

      quill continue --draft 12
    """
    words = run.o.add_words
    with run as v:
        src = v.read(v.o.file)
        voice = v.style(v.o.style, src.text)
        engine = v.engine()
        # a Chinese or Japanese draft goes on without words in small Latin letters of
        # its own (Sampling.native), as `quill draft` writes one
        native = is_cjk(v.o.lang or detect_language(src.text))
        params = v.sampling(
            max_tokens_for(None),
            budget=max_tokens_for(words),
            end_after=words or 0,
            native=native,
        )
        text, part = v.within(src.text, _shown(engine), head=False)
        if part:
            v.env.ui.note(f"continue: the model reads the {part}")
        msgs = with_style(continue_messages(text, words, v.o.lang, v.user_dir), voice)
        # the draft is shown in <draft> tags, and the 1.5B once closed its part with one
        tidy = [unwrap_fence, untag("draft", text), strip_commentary, trim]
        gen = generate(engine, msgs, params, transforms=tidy)
        prefix = src.text.rstrip() + "\n\n"
        request = {"words": words, "style": v.o.style}
        v.stream(gen, src, kind="continuation", request=request, prefix=prefix)
