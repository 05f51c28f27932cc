"""quill's proofreading against a plain baseline on the same model, in one run.

On the paragraphs of ``quill/evalset/proofread.toml`` (each with 3-6 planted errors and
their correct forms; a tune half and a report half), for each model and seed:

- quill: :func:`quill.writing.proofread.proofread_text`, as `quill proofread --apply`
  runs it (sentence by sentence, minimal edits only, Harper for English).
- baseline: the model asked "Proofread this text and return the corrected text." with
  the text, in one pass, greedy; its reply taken whole (what a writer gets by asking).
- with ``--systems``, also: quill without the checker (``quill-model``), the checker
  alone (``harper``), quill with the checker's fixes added after the model instead of
  shown to it first (``quill-fill``), quill without the retry (``quill-noretry``).

Scored per paragraph: planted errors fixed (recall), changes that are correct fixes
(precision: a change is every edit that touches the same words, and it is correct when
that stretch of text now reads as the reference), Markdown structure kept (the same
lines, with the same heading/list/quote markers, and code byte for byte), bytes kept
outside the planted errors, words lost. Prints a Markdown table per model (mean over
seeds, ``±`` the spread of per-seed figures) and progress on stderr; ``--json FILE``
keeps every output. ``--speed`` also times proofreading a 500-word text: this
sentence-by-sentence pass against the previous design (the whole text in one request).

    .venv/bin/python benchmarks/proofread_eval.py --split report
    .venv/bin/python benchmarks/proofread_eval.py --split tune --systems quill,quill-model,harper
    .venv/bin/python benchmarks/proofread_eval.py --model qwen2.5-coder-1.5b --seeds 0,1 --speed
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from quill import prompts  # noqa: E402
from quill.engine.base import Engine, Message, Piece, Result, Sampling, Stats, join  # noqa: E402
from quill.evalset.proofread import Paragraph, paragraphs  # noqa: E402
from quill.writing import proofread as pr  # noqa: E402
from quill.writing.diffing import changes  # noqa: E402
from quill.writing.presets import sampling  # noqa: E402
from quill.writing.textstats import count_words  # noqa: E402
from quill.writing.verbs import split_code  # noqa: E402

BASELINE_PROMPT = "Proofread this text and return the corrected text."
SYSTEMS = ("quill", "baseline", "quill-model", "quill-fill", "quill-noretry", "harper")

# The previous design, for --speed: the whole text (or a part of 700 tokens) in one
# request, with the template quill shipped before proofreading went sentence by sentence.
PREVIOUS_SYSTEM = (
    "You are a meticulous proofreader. You correct only mistakes of spelling, grammar and "
    "punctuation. You never rephrase, never change word choice, tone or style, never add or "
    "remove sentences, and keep the Markdown, the line breaks and the formatting exactly as "
    "they are. A sentence without mistakes is copied unchanged. You output only the "
    "corrected text."
)
PREVIOUS_USER = (
    "Proofread this text. Fix spelling, grammar and punctuation mistakes only; copy "
    "everything else exactly.\n\n<text>\n{text}\n</text>\n\nOutput the whole corrected text "
    "and nothing else."
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- a reply cache ------------------------------------------------------------------------------


class Cached:
    """The engine, with each reply kept by (messages, sampling) in a JSON file: greedy
    replies do not change, so a run that only changes the gate or the scoring, or a
    system that sends the same sentence again, costs no generation. Replies come back
    with the stats of the run that made them."""

    def __init__(self, engine: Engine, path: Path | None) -> None:
        self.engine, self.path = engine, path
        self.info = engine.info
        self.hits = 0
        self.store: dict[str, Any] = {}
        if path is not None and path.exists():
            self.store = json.loads(path.read_text("utf-8"))

    def count(self, text: str) -> int:
        return self.engine.count(text)

    def count_messages(self, messages: list[Message]) -> int:
        return self.engine.count_messages(messages)

    def _key(self, messages: list[Message], params: Sampling) -> str:
        body = [[m.role, m.content] for m in messages]
        return json.dumps([self.info.name, body, repr(params)], ensure_ascii=False)

    def stream(self, messages: list[Message], params: Sampling) -> Iterator[Piece]:
        key = self._key(messages, params)
        if key in self.store:
            self.hits += 1
            text, finish, stats = self.store[key]
            return iter([Piece(text), Piece("", finish, Stats(**stats))])
        return self._record(key, self.engine.stream(messages, params))

    def _record(self, key: str, pieces: Iterator[Piece]) -> Iterator[Piece]:
        parts: list[str] = []
        for p in pieces:
            parts.append(p.text)
            if p.finish is not None:
                stats = asdict(p.stats) if p.stats is not None else {}
                if p.finish in ("stop", "length"):
                    self.store[key] = ["".join(parts), p.finish, stats]
            yield p

    def complete(self, messages: list[Message], params: Sampling) -> Result:
        return join(self.stream(messages, params))

    def save(self) -> None:
        if self.path is not None:
            self.path.write_text(json.dumps(self.store, ensure_ascii=False), "utf-8")


# -- scoring --------------------------------------------------------------------------------


def _clusters(
    text: str, runs: list[tuple[int, int, str]], errors: list[tuple[int, int, str]]
) -> list[dict[str, Any]]:
    """Changes and planted errors that touch each other, grouped: each group's stretch
    of text as the output has it and as the reference has it."""
    items = [("run", a, b, new) for a, b, new in runs] + [
        ("err", a, b, new) for a, b, new in errors
    ]
    items.sort(key=lambda x: (x[1], x[2]))
    groups: list[list[tuple[str, int, int, str]]] = []
    hi = -1
    for it in items:
        if groups and (it[1] < hi or (it[1] == hi and (it[1] == it[2] or groups[-1][-1][1] == hi))):
            groups[-1].append(it)
            hi = max(hi, it[2])
        else:
            groups.append([it])
            hi = it[2]
    out = []
    for g in groups:
        lo, top = min(x[1] for x in g), max(x[2] for x in g)

        def local(
            kind: str, g: list[tuple[str, int, int, str]] = g, lo: int = lo, top: int = top
        ) -> str:
            parts, pos = [], lo
            for _, a, b, new in sorted((x for x in g if x[0] == kind), key=lambda x: x[1]):
                parts += [text[pos:a], new]
                pos = b
            parts.append(text[pos:top])
            return "".join(parts)

        runs_in = sum(1 for x in g if x[0] == "run")
        errs_in = sum(1 for x in g if x[0] == "err")
        out.append({"runs": runs_in, "errors": errs_in, "ok": local("run") == local("err")})
    return out


def skeleton(text: str) -> list[str]:
    """The Markdown structure: per line, its marker (heading, list item, quote) or that it
    is blank; code blocks whole."""
    out: list[str] = []
    for is_code, run in split_code(text):
        if is_code:
            out.append(run)
            continue
        for line in run.split("\n"):
            m = re.match(r"[ \t]*(?:(?:#{1,6}|[-*+]|\d{1,9}[.)]|>)[ \t]+)*", line)
            out.append("<blank>" if not line.strip() else (m.group() if m else ""))
    return out


def score(p: Paragraph, output: str) -> dict[str, Any]:
    runs, pos = [], 0
    kept = 0
    for c in changes(p.text, output):
        if c.op == "equal":
            kept += len(c.old)
        else:
            runs.append((pos, pos + len(c.old), c.new))
        pos += len(c.old)
    errors = [(e.start, e.end, e.right) for e in p.errors]
    groups = _clusters(p.text, runs, errors)
    changed = [g for g in groups if g["runs"]]
    fixed = sum(g["errors"] for g in changed if g["ok"])
    outside = len(p.text) - sum(e.end - e.start for e in p.errors)
    removed = max(0, count_words(p.text) - count_words(p.reference))
    return {
        "errors": len(errors),
        "fixed": fixed,
        "changes": len(changed),
        "correct": sum(1 for g in changed if g["ok"] and g["errors"]),
        "structure": skeleton(output) == skeleton(p.text),
        "kept": min(1.0, kept / outside) if outside else 1.0,
        # words gone beyond those the corrections remove (a doubled "the the")
        "lost": max(0, count_words(p.text) - count_words(output) - removed),
    }


# -- the systems ---------------------------------------------------------------------------


def baseline(engine: Engine, p: Paragraph, seed: int) -> tuple[str, dict[str, Any]]:
    params = sampling("precise", engine.count(p.text) * 2 + 64, temperature=0.0, seed=seed)
    messages = [Message("user", f"{BASELINE_PROMPT}\n\n{p.text}")]
    r = engine.complete(messages, params)
    core = r.text.strip()
    lead = p.text[: len(p.text) - len(p.text.lstrip())]
    tail = p.text[len(p.text.rstrip()) :]
    return lead + core + tail, {"generated": r.stats.generated_tokens}


def quill(
    engine: Engine, p: Paragraph, seed: int, system: str, checker: pr.Checker | None
) -> tuple[str, dict[str, Any]]:
    if system == "harper":
        fixes = list(checker(p.text)) if checker is not None and p.lang == "English" else []
        return pr.merge(p.text, p.text, fixes)[0], {"generated": 0}
    prompt = prompts.load("proofread")
    params = sampling("precise", 256, temperature=0.0, seed=seed)
    use = checker if p.lang == "English" and system != "quill-model" else None
    final, _, run = pr.proofread_text(
        engine,
        params,
        p.text,
        prompt,
        use,
        checker_first=system != "quill-fill",
        retry=system != "quill-noretry",
    )
    rejected = [
        {"sentence": u.sent, "old": h.old, "new": h.new, "why": why}
        for u in run.done_units
        for h, why in u.rejected
    ]
    generated = sum(r.stats.generated_tokens for r in run.results)
    return final, {"generated": generated, "rejected": rejected}


def paragraph_text(pid: str) -> str:
    return next(p.text for p in paragraphs("all") if p.id == pid)


# -- speed -----------------------------------------------------------------------------------


def speed_text(words: int = 500) -> str:
    out: list[str] = []
    for p in paragraphs("all", "English"):
        out.append(p.text.strip())
        if count_words("\n\n".join(out)) >= words:
            break
    return "\n\n".join(out) + "\n"


def speed(engine: Engine, checker: pr.Checker | None) -> dict[str, Any]:
    text = speed_text()
    tokens = engine.count(text)
    params = sampling("precise", 256, temperature=0.0, seed=0)
    out: dict[str, Any] = {"words": count_words(text), "tokens": tokens}
    t0 = time.perf_counter()
    _, _, run = pr.proofread_text(engine, params, text, prompts.load("proofread"), checker)
    wall = time.perf_counter() - t0
    gen = sum(r.stats.generated_tokens for r in run.results)
    out["quill"] = {"seconds": wall, "tokens_per_s": tokens / wall, "generated": gen}
    t0 = time.perf_counter()
    messages = [
        Message("system", PREVIOUS_SYSTEM),
        Message("user", PREVIOUS_USER.format(text=text.strip())),
    ]
    r = engine.complete(messages, params.with_(max_tokens=int(tokens * 1.3) + 64))
    wall = time.perf_counter() - t0
    out["previous"] = {
        "seconds": wall,
        "tokens_per_s": tokens / wall,
        "generated": r.stats.generated_tokens,
    }
    return out


# -- the run ---------------------------------------------------------------------------------


def run_model(spec: str | None, args: argparse.Namespace) -> dict[str, Any]:
    from quill.env import EngineOptions, Environment

    real = Environment().engine(EngineOptions(spec, args.ctx, None, None))
    engine: Any = Cached(real, Path(args.cache) if args.cache else None)
    name = engine.info.name
    log(f"model {name}")
    engine.complete([Message("user", "Hi")], Sampling(temperature=0, max_tokens=4))
    checker = pr.harper_checker()
    if checker is None:
        log("  harper-py is not installed: quill runs without the grammar checker")
    items = paragraphs(args.split)
    if args.lang:
        items = [p for p in items if p.lang == args.lang]
    recs: list[dict[str, Any]] = []
    for seed in args.seed_list:
        for p in items:
            for system in args.system_list:
                t0 = time.perf_counter()
                if system == "baseline":
                    out, extra = baseline(engine, p, seed)
                else:
                    out, extra = quill(engine, p, seed, system, checker)
                rec = {"system": system, "seed": seed, "id": p.id, "lang": p.lang}
                rec["tokens"] = engine.count(p.text)
                rec.update(score(p, out), output=out, seconds=time.perf_counter() - t0, **extra)
                recs.append(rec)
                engine.save()
                log(
                    f"  {p.id} seed {seed} {system}: fixed {rec['fixed']}/{rec['errors']}, "
                    f"changes {rec['correct']}/{rec['changes']} correct, "
                    f"structure {'kept' if rec['structure'] else 'CHANGED'}, "
                    f"{rec['seconds']:.1f} s"
                )
    result: dict[str, Any] = {"model": name, "spec": spec, "records": recs}
    if args.speed:
        result["speed"] = speed(real, checker)
        s = result["speed"]
        log(
            f"  speed over {s['words']} words ({s['tokens']} tokens): quill "
            f"{s['quill']['tokens_per_s']:.1f} tok/s, previous {s['previous']['tokens_per_s']:.1f}"
        )
    engine.save()
    if engine.hits:
        log(f"  {engine.hits} replies from the cache {args.cache}")
    close = getattr(real, "close", None)
    if close is not None:
        close()
    return result


def figures(recs: list[dict[str, Any]]) -> dict[str, float]:
    errors = sum(r["errors"] for r in recs)
    made = sum(r["changes"] for r in recs)
    return {
        "recall": sum(r["fixed"] for r in recs) / errors if errors else 0.0,
        "precision": sum(r["correct"] for r in recs) / made if made else 1.0,
        "structure": mean(1.0 if r["structure"] else 0.0 for r in recs),
        "kept": mean(r["kept"] for r in recs),
        "lost": mean(r["lost"] for r in recs),
        "seconds": mean(r["seconds"] for r in recs),
    }


def report(result: dict[str, Any], systems: list[str]) -> str:
    recs = result["records"]
    lines = [f"### {result['model']}", ""]
    langs = sorted({r["lang"] for r in recs})
    head = (
        "| system | lang | recall | precision | structure kept | bytes kept | words lost | s/text |"
    )
    lines += [head, "|" + "---|" * 8]
    for system in systems:
        for lang in [*langs, "all"] if len(langs) > 1 else langs:
            mine = [r for r in recs if r["system"] == system and lang in ("all", r["lang"])]
            if not mine:
                continue
            seeds = sorted({r["seed"] for r in mine})
            per = [figures([r for r in mine if r["seed"] == s]) for s in seeds]
            overall = figures(mine)

            def cell(key: str, fmt: str = "{:.2f}", per: list[dict[str, float]] = per) -> str:
                text = fmt.format(mean(f[key] for f in per))
                spread = max(f[key] for f in per) - min(f[key] for f in per)
                return text + (f" ±{spread:.2f}" if len(per) > 1 else "")

            lines.append(
                f"| {system} | {lang} | {cell('recall')} | {cell('precision')} | "
                f"{cell('structure')} | {cell('kept', '{:.3f}')} | {cell('lost', '{:.1f}')} | "
                f"{overall['seconds']:.1f} |"
            )
    timed = [s for s in systems if s != "harper"]
    if timed:
        rates = []
        for system in timed:
            mine = [r for r in recs if r["system"] == system]
            words = sum(count_words(paragraph_text(r["id"])) for r in mine)
            seconds = sum(r["seconds"] for r in mine)
            if seconds:
                rate = sum(r["tokens"] for r in mine) / seconds
                rates.append(f"{system} {rate:.1f} ({words} words in {seconds:.0f} s)")
        lines += ["", "Source tokens per second of wall time: " + ", ".join(rates) + "."]
    if "speed" in result:
        s = result["speed"]
        lines += [
            "",
            f"Speed over a {s['words']}-word text ({s['tokens']} tokens), source tokens per "
            f"second of wall time: quill {s['quill']['tokens_per_s']:.1f} "
            f"({s['quill']['seconds']:.1f} s), previous whole-text pass "
            f"{s['previous']['tokens_per_s']:.1f} ({s['previous']['seconds']:.1f} s).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", metavar="PATH|NAME", help="repeatable")
    ap.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1")
    ap.add_argument("--split", default="report", choices=("tune", "report", "all"))
    ap.add_argument("--lang", default=None, help="only English or Chinese paragraphs")
    ap.add_argument(
        "--systems", default="quill,baseline", help=f"comma-separated from {', '.join(SYSTEMS)}"
    )
    ap.add_argument("--ctx", default="4096")
    ap.add_argument("--speed", action="store_true", help="also time a 500-word text")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--cache", metavar="FILE", help="keep greedy replies here and reuse them")
    args = ap.parse_args(argv)
    args.seed_list = [int(s) for s in args.seeds.split(",")]
    args.system_list = [s for s in args.systems.split(",") if s]
    unknown = [s for s in args.system_list if s not in SYSTEMS]
    if unknown:
        ap.error(f"unknown system {', '.join(unknown)}")
    results = [run_model(spec, args) for spec in args.model or [None]]
    print(f"Proofreading, split `{args.split}`, seeds {args.seeds}\n")
    for res in results:
        print(report(res, args.system_list) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "models": results}, indent=1))


if __name__ == "__main__":
    main()
