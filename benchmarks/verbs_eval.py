"""quill's rewrite, translate and titles against the plain baseline, in one run.

On the verb texts of quill's evaluation set (quill/evalset/verbs.toml: team messages to
rewrite, Markdown texts to translate, articles to title; English and Chinese; split in
a "tune" and a "report" half), for each model given and each seed:

- quill: what the command does (:func:`quill.writing.verbruns.rewrite_chain`,
  :func:`quill.writing.translate.translation`,
  :func:`quill.writing.verbruns.titles_generation`: their prompts, examples, grammar,
  checks and retries), with the sampling of the command's template.
- baseline: the same model asked plainly, as a writer would without quill: "Rewrite
  this in a formal tone.", "Translate this into Chinese.", "Suggest 3 titles for this
  text.", the text after it, no system prompt; the same sampling and a token budget at
  least as large.

Scored (the same functions for both):

- rewrite: register (formal: no informal marker, i.e. slang, a greeting like "hey",
  "!!", emoji, Chinese chat particles; casual: more casual markers than the source;
  friendly: more warm markers than the source), casual markers (informal markers,
  contractions and exclamation marks, counted; the sources' mean is given), facts
  kept (the share of the text's listed facts found in the output), refusals, talk
  about the request, all of it together ("clean").
- translate: words left in the source language outside code, URLs and the text's
  listed names; Markdown kept (code blocks and inline code byte for byte, link URLs,
  the sequence of heading, list and quote marks); an announcement before the
  translation; the target language.
- titles: exactly N distinct lines, each a title (no hashtag, emoji, numbering,
  explanation or talk about the titles).

Prints Markdown tables (quill, baseline: the mean over texts, ``±`` the spread between
seeds) on stdout and progress on stderr; ``--json FILE`` keeps every text and score.
Report on the "report" split (the default): nothing was tuned on it.

    .venv/bin/python benchmarks/verbs_eval.py                         # report split
    .venv/bin/python benchmarks/verbs_eval.py --split tune --seeds 0
    .venv/bin/python benchmarks/verbs_eval.py --model qwen2.5-coder-1.5b --verbs translate \\
        --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from quill import prompts  # noqa: E402
from quill.engine.base import Engine, Message, Sampling  # noqa: E402
from quill.evalset.verbs import RewriteText, TitlesText, TranslateText, verb_texts  # noqa: E402
from quill.writing import metrics  # noqa: E402
from quill.writing import titlecheck as tc  # noqa: E402
from quill.writing import verbcheck as vc  # noqa: E402
from quill.writing.benchwriting import generate_text  # noqa: E402
from quill.writing.language import detect_language  # noqa: E402
from quill.writing.translate import translation  # noqa: E402
from quill.writing.verbruns import rewrite_chain, titles_generation  # noqa: E402
from quill.writing.verbs import (  # noqa: E402
    RewriteOptions,
    rewrite_messages,
    template_sampling,
    titles_grammar,
    titles_messages,
)

SECOND_MODEL = "qwen2.5-coder-1.5b"
VERBS = ("rewrite", "translate", "titles")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def params_for(template: str, seed: int, default_max: int) -> Sampling:
    """The sampling the command uses: its template's [sampling] over its preset."""
    spec = prompts.load(template).get("sampling", {})
    return template_sampling(
        spec,
        preset=None,
        default_preset="balanced",
        max_tokens=None,
        default_max=default_max,
        seed=seed,
    )


def plain(engine: Engine, ask: str, text: str, params: Sampling) -> str:
    text_out, _finish, _stats = generate_text(engine, [Message("user", f"{ask}\n\n{text}")], params)
    return text_out


# -- rewrite ------------------------------------------------------------------------------


SCORERS: dict[str, Callable[[str, Any], dict[str, Any]]] = {}


def score_rewrite(out: str, t: RewriteText) -> dict[str, Any]:
    tone = t.tone.lower()
    if tone in vc.FORMAL_TONES:
        markers = vc.informal_markers(out)
        register = not markers
    elif tone in vc.CASUAL_TONES:
        markers = []
        register = vc.casual_score(out) > vc.casual_score(t.text)
    else:
        markers = []
        register = len(vc.friendly_markers(out)) > len(vc.friendly_markers(t.text))
    facts = metrics.facts_carried(out, t.facts)
    refused = vc.refusal(out, t.text) is not None
    leaks = metrics.leaked_phrases(out)
    lang_ok = (detect_language(out) or t.lang).split()[0] == t.lang.split()[0]
    clean = register and facts == 1.0 and not refused and not leaks and lang_ok
    return {
        "register": float(register),
        "casual_markers": vc.casual_score(out),
        "informal": markers,
        "facts": facts,
        "facts_missed": vc.missing_facts(out, t.facts),
        "refused": float(refused),
        "leaked": float(bool(leaks)),
        "leaks": leaks,
        "lang_ok": float(lang_ok),
        "clean": float(clean),
    }


def rewrite_pair(engine: Engine, t: RewriteText, seed: int) -> list[dict[str, Any]]:
    opts = RewriteOptions(tone=t.tone)
    p = params_for("rewrite", seed, 512)
    out: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    chain = rewrite_chain(engine, p, t.text, lambda x: rewrite_messages(x, opts), opts)
    text = chain.text().strip()
    note = chain.close().note
    out.append({"system": "quill", "text": text, "note": note, "s": time.perf_counter() - t0})
    t0 = time.perf_counter()
    text = plain(engine, f"Rewrite this in a {t.tone} tone.", t.text, p)
    out.append({"system": "baseline", "text": text, "note": "", "s": time.perf_counter() - t0})
    for r in out:
        r.update(score_rewrite(r["text"], t))
    return out


# -- translate ----------------------------------------------------------------------------


def score_translation(out: str, t: TranslateText) -> dict[str, Any]:
    left = vc.leftover_words(out, t.text, t.to, names=[n for n in t.names])
    lost = vc.markdown_lost(out, t.text)
    preamble = bool(vc.preamble_lines(out, t.text)) or bool(
        [p for p in metrics.leaked_phrases(out) if p not in metrics.leaked_phrases(t.text)]
    )
    found = detect_language(vc.code_free(out))
    lang_ok = found is None or found.split()[0] == t.to.split()[0]
    return {
        "untranslated": len(left),
        "untranslated_words": left,
        "markdown_kept": float(not lost),
        "markdown_lost": lost,
        "preamble": float(preamble),
        "lang_ok": float(lang_ok),
        "clean": float(not left and not lost and not preamble and lang_ok),
    }


def translate_pair(engine: Engine, t: TranslateText, seed: int) -> list[dict[str, Any]]:
    p = params_for("translate", seed, 1024)
    source = detect_language(t.text)
    out: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    chain = translation(engine, p, t.text, t.to, source)
    text = chain.text().strip()
    note = chain.close().note
    out.append({"system": "quill", "text": text, "note": note, "s": time.perf_counter() - t0})
    budget = int(engine.count(t.text) * 2.5) + 128
    t0 = time.perf_counter()
    text = plain(engine, f"Translate this into {t.to}.", t.text, p.with_(max_tokens=budget))
    out.append({"system": "baseline", "text": text, "note": "", "s": time.perf_counter() - t0})
    for r in out:
        r.update(score_translation(r["text"], t))
    return out


# -- titles -------------------------------------------------------------------------------


def score_titles(out: str, t: TitlesText) -> dict[str, Any]:
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    faulty = {ln: tc.title_faults(ln) for ln in lines}
    faulty = {ln: f for ln, f in faulty.items() if f}
    dressed = [ln for ln in lines if tc.clean_title(ln) != ln]  # quotes, **, "Title:"
    keys = {tc.title_key(ln) for ln in lines}
    exact = len(lines) == t.n and len(keys) == t.n
    return {
        "lines": len(lines),
        "exact_n": float(exact),
        "faulty_lines": len(faulty) + len([d for d in dressed if d not in faulty]),
        "faults": sorted({f for fs in faulty.values() for f in fs}),
        "clean": float(exact and not faulty and not dressed),
    }


def titles_pair(engine: Engine, t: TitlesText, seed: int) -> list[dict[str, Any]]:
    p = params_for("titles", seed, 400)
    out: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    q = p.with_(max_tokens=40 * t.n + 40, grammar=titles_grammar(t.n))
    gen = titles_generation(engine, titles_messages(t.text, t.n), q, t.n)
    text = gen.text().strip()
    note = gen.close().note
    out.append({"system": "quill", "text": text, "note": note, "s": time.perf_counter() - t0})
    t0 = time.perf_counter()
    text = plain(engine, f"Suggest {t.n} titles for this text.", t.text, p)
    out.append({"system": "baseline", "text": text, "note": "", "s": time.perf_counter() - t0})
    for r in out:
        r.update(score_titles(r["text"], t))
    return out


# -- tables -------------------------------------------------------------------------------

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "rewrite": [
        ("register", "register right"),
        ("casual_markers", "casual markers"),
        ("facts", "facts kept"),
        ("refused", "refusals"),
        ("leaked", "talk about the request"),
        ("clean", "all of it"),
        ("s", "seconds"),
    ],
    "translate": [
        ("untranslated", "words left untranslated"),
        ("markdown_kept", "Markdown kept"),
        ("preamble", "preamble"),
        ("lang_ok", "right language"),
        ("clean", "all of it"),
        ("s", "seconds"),
    ],
    "titles": [
        ("exact_n", "exactly N distinct"),
        ("faulty_lines", "lines that are not titles"),
        ("clean", "all of it"),
        ("s", "seconds"),
    ],
}


def figure(recs: list[dict[str, Any]], key: str) -> str:
    seeds = sorted({r["seed"] for r in recs})
    per_seed = [mean(float(r[key]) for r in recs if r["seed"] == s) for s in seeds]
    if not per_seed:
        return "-"
    m = mean(per_seed)
    spread = max(per_seed) - min(per_seed)
    return f"{m:.2f}" + (f" ± {spread:.2f}" if len(per_seed) > 1 else "")


def tables(name: str, recs: list[dict[str, Any]]) -> str:
    out = [f"### {name}", ""]
    for verb, cols in COLUMNS.items():
        rows = [r for r in recs if r["verb"] == verb]
        if not rows:
            continue
        texts = len({r["id"] for r in rows})
        seeds = ",".join(str(s) for s in sorted({r["seed"] for r in rows}))
        line = f"{verb} ({texts} texts, seeds {seeds})"
        if verb == "rewrite":
            src = {t.id: t for t in verb_texts().rewrite}
            before = mean(vc.casual_score(src[i].text) for i in {r["id"] for r in rows})
            line += f"; casual markers in the sources: {before:.2f}"
        out.append(line)
        out.append("")
        out.append("| | " + " | ".join(label for _, label in cols) + " |")
        out.append("|---" * (len(cols) + 1) + "|")
        for system in ("quill", "baseline"):
            mine = [r for r in rows if r["system"] == system]
            out.append(f"| {system} | " + " | ".join(figure(mine, k) for k, _ in cols) + " |")
        out.append("")
    return "\n".join(out)


# -- main -----------------------------------------------------------------------------------


def default_models() -> list[str | None]:
    """The embedded default, and the 1.5B where it is installed."""
    from quill.models import catalog

    second = catalog.get(SECOND_MODEL)
    if second is not None and catalog.is_installed(second):
        return [None, SECOND_MODEL]
    return [None]


SCORERS.update(rewrite=score_rewrite, translate=score_translation, titles=score_titles)


def rescored(path: str) -> list[dict[str, Any]]:
    """The records of a saved run (``--json``), scored again by the current functions
    (the file is left as it is)."""
    recs: list[dict[str, Any]] = json.loads(Path(path).read_text(encoding="utf-8"))
    by_id = {(v, t.id): t for v in VERBS for t in getattr(verb_texts(), v)}
    for r in recs:
        r.update(SCORERS[r["verb"]](r["text"], by_id[(r["verb"], r["id"])]))
    return recs


def rescore(path: str) -> str:
    """The tables of a saved run (``--json``), scored again by the current functions."""
    recs = rescored(path)
    Path(path).write_text(json.dumps(recs, ensure_ascii=False, indent=1), encoding="utf-8")
    split = ",".join(sorted({r["split"] for r in recs}))
    out = [f"## Verbs: quill against the plain baseline ({split} split)", ""]
    for model in dict.fromkeys(r["model"] for r in recs):
        out.append(tables(model, [r for r in recs if r["model"] == model]))
    return "\n".join(out)


RUNNERS: dict[str, Callable[[Engine, Any, int], list[dict[str, Any]]]] = {
    "rewrite": rewrite_pair,
    "translate": translate_pair,
    "titles": titles_pair,
}


def run_model(
    spec: str | None, args: argparse.Namespace, prior: list[dict[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    from quill.env import EngineOptions, Environment

    env = Environment()
    engine = env.engine(EngineOptions(spec, args.ctx))
    name = f"{engine.info.name} (ctx {engine.info.n_ctx})"
    log(f"model {name}")
    texts = verb_texts(None if args.split == "all" else args.split)
    recs: list[dict[str, Any]] = []
    for seed in args.seed_list:
        for verb in args.verb_list:
            for t in getattr(texts, verb):
                for r in RUNNERS[verb](engine, t, seed):
                    r.update(verb=verb, id=t.id, seed=seed, split=t.split, model=engine.info.name)
                    recs.append(r)
                    log(
                        f"  {verb} {t.id} seed {seed} {r['system']}: {r['s']:.0f} s, "
                        f"clean {r['clean']:.0f}" + (f" ({r['note']})" if r["note"] else "")
                    )
                if args.json:  # keep what is done so far
                    done = json.dumps(prior + recs, ensure_ascii=False, indent=1)
                    Path(args.json).write_text(done, encoding="utf-8")
    env.close()
    return name, recs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", help="a model name or GGUF path (repeatable)")
    ap.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    ap.add_argument("--split", default="report", choices=("report", "tune", "all"))
    ap.add_argument("--verbs", default=",".join(VERBS), help="rewrite,translate,titles")
    ap.add_argument("--ctx", default=None, help="context size (default: quill's)")
    ap.add_argument("--json", default=None, help="write every text and score to FILE")
    ap.add_argument("--rescore", metavar="FILE", help="score a saved --json run again")
    args = ap.parse_args(argv)
    if args.rescore:
        print(rescore(args.rescore))
        return 0
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.verb_list = [v.strip() for v in args.verbs.split(",") if v.strip()]
    unknown = [v for v in args.verb_list if v not in VERBS]
    if unknown:
        ap.error(f"unknown verb {', '.join(unknown)}")
    models: list[str | None] = list(args.model) if args.model else default_models()
    everything: list[dict[str, Any]] = []
    report = [f"## Verbs: quill against the plain baseline ({args.split} split)", ""]
    for spec in models:
        name, recs = run_model(spec, args, everything)
        everything += recs
        report.append(tables(name, recs))
        if args.json:
            done = json.dumps(everything, ensure_ascii=False, indent=1)
            Path(args.json).write_text(done, encoding="utf-8")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
