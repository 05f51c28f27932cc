"""`quill analyze`, `quill classify`, `quill moderate`: answers for a reader or a script.

The model's part is generated under a grammar (see :mod:`quill.writing.analyze`), so
``--json`` always parses; what can be counted is counted. These commands report on a
text rather than write one, so nothing is saved as a draft.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from quill.cli.report import emit
from quill.cli.review import ask
from quill.cli.run import Run, command
from quill.errors import EXIT_FLAGGED, InputError
from quill.writing import analyze as an
from quill.writing.verbs import plan_parts

if TYPE_CHECKING:
    from quill.engine.base import Result


def _answers(template: str, json_help: str = "Answer in JSON (a fixed schema).", *own: str) -> Any:
    """The options of a command that answers about a text: it writes none, so nothing is
    kept as a draft (no keep group), and the answer's length is its own (no
    --max-tokens)."""
    return command(
        *own,
        "file",
        "as_json",
        "engine",
        "sampling",
        "show",
        leave_out=("plain", "max_tokens"),
        helps={"as_json": json_help},
        template=template,
    )


def _emit(v: Run, text: str, result: Result | None = None) -> None:
    emit(v.env, text)
    if result is not None and v.o.stats:
        v.env.ui.stats(result.stats)


@_answers("analyze")
def analyze(run: Run) -> None:
    """Analyze a text: sentiment, tone, reading level, weakest sentences.

    Gives the sentiment (label and score), tone words, the reading level, word and
    sentence counts, and the three weakest sentences with why.

    Counts and the reading level (Flesch reading ease and grade, for English) are
    computed; sentiment, tone and the weakest sentences come from the model.

    Examples:

      quill analyze post.md

      quill analyze post.md --json | jq .sentiment
    """
    with run as v:
        src = v.read(v.o.file)
        parts = an.sentences(src.text)
        if not parts:
            raise InputError(f"{src.name} has no sentences to analyze")
        counts = an.count(src.text, parts)
        engine = v.engine()
        budget = max(64, engine.info.n_ctx - 800)
        shown = an.fit_sentences(parts, budget, engine.count)
        if len(shown) < len(parts):
            v.env.ui.warn(f"the model read the first {len(shown)} of {len(parts)} sentences")
        params = v.sampling(500, grammar=an.schema_grammar(an.analysis_schema(len(shown))))
        result = ask(v, an.analysis_messages(shown, v.user_dir), params, "Analyzing…")
        rep = an.report(counts, parts, an.parse_json(result.text, "analysis"))
        text = json.dumps(rep, ensure_ascii=False, indent=2) if v.o.as_json else an.describe(rep)
        _emit(v, text, result)


@_answers("classify", 'Answer {"label": …, "reason": …} in JSON.', "labels")
def classify(run: Run) -> None:
    """Put a text into exactly one of the given labels.

    A grammar holds the model to the labels, so the answer is always one of them.

    Examples:

      quill classify --labels bug,feature,question issue.txt

      cat review.txt | quill classify -l positive,negative --json
    """
    as_json = run.o.as_json
    names = an.parse_labels(run.o.labels)
    with run as v:
        src = v.read(v.o.file)
        text, part = v.within(src.text, max(64, v.engine().info.n_ctx - 400))
        if part:
            v.env.ui.warn(f"the model read the {part}")
        longest = max(v.engine().count(x) for x in names)
        params = v.sampling(
            120, budget=200 if as_json else longest + 8, grammar=an.classify_grammar(names, as_json)
        )
        result = ask(v, an.classify_messages(text, names, as_json, v.user_dir), params, "Reading…")
        if as_json:
            answer = an.parse_json(result.text, "answer")
            label = an.pick_label(str(answer.get("label", "")), names)
            reason = str(answer.get("reason", "")).strip()
            _emit(v, json.dumps({"label": label, "reason": reason}, ensure_ascii=False), result)
        else:
            _emit(v, an.pick_label(result.text, names), result)


@_answers("moderate")
def moderate(run: Run) -> None:
    """Flag harmful content or personal data (exit code 11 if flagged).

    Categories: harassment, hate, self-harm, sexual content, violence, personal data.
    Exits with 11 when something is flagged and 0 when nothing is, so scripts can use
    it as a gate (other failures keep their own exit codes; 1 is always a bug). A long text is
    read part by part. E-mail addresses, phone numbers and card numbers are also found
    by pattern.

    Examples:

      quill moderate comment.txt && publish comment.txt

      quill moderate --json < post.md
    """
    with run as v:
        src = v.read(v.o.file)
        engine = v.engine()
        params = v.sampling(200, grammar=an.schema_grammar(an.moderation_schema()))
        budget = max(64, min(2000, engine.info.n_ctx - 500))
        parts = [p for p in plan_parts(src.text, engine.count, budget) if not p.code]
        merged: dict[str, Any] = {c: False for c in an.CATEGORIES}
        reasons: list[str] = []
        for k, part in enumerate(parts, 1):
            label = "Reading…" if len(parts) == 1 else f"Reading part {k} of {len(parts)}…"
            result = ask(v, an.moderation_messages(part.core, v.user_dir), params, label)
            answer = an.parse_json(result.text, "answer")
            for c in an.CATEGORIES:
                merged[c] = merged[c] or answer.get(c) is True
            if any(answer.get(c) is True for c in an.CATEGORIES) and answer.get("reason"):
                reasons.append(str(answer["reason"]).strip())
        m = an.moderation({**merged, "reason": " ".join(reasons)}, src.text)
        if v.o.as_json:
            emit(v.env, json.dumps(m.as_json(), ensure_ascii=False))
        elif m.flagged:
            found = f" ({', '.join(m.patterns)})" if m.patterns else ""
            names = [an.category_name(c) for c in m.flagged]
            if "personal data" in names:
                names[names.index("personal data")] += found
            emit(
                v.env,
                "flagged: " + ", ".join(names) + (f"\nreason: {m.reason}" if m.reason else ""),
            )
        else:
            emit(v.env, "nothing flagged")
    if m.flagged:
        raise typer.Exit(EXIT_FLAGGED)
