"""The measured tables of the README and docs/, rendered from committed run files.

Every table of measured figures in README.md and docs/*.md has a marker line right
above it, naming the run file(s) it comes from and the view of them it shows:

    <!-- table: benchmarks/runs/summary-report.json summary -->
    | figure | 1.5B quill (`auto`) | … |
    |---|---|…|

The words after ``table:`` are one or more run files (paths from the repository root;
a view that merges several, such as ``drafts``, takes them in the order its columns
come) and, last, the view: one of VIEWS below. The table is the run of lines starting
with ``|`` right under the marker; ``--write`` puts one there where there is none.
Markers inside fenced code blocks are left alone.

The views render with the benchmark scripts' own functions (their loading and
rescoring of saved runs, per-seed means and spreads, cell formats, and their labels
where they have them), so a cell reads as the script's ``--report`` (``--rescore``) of
the same file prints it; only the layout is the docs' (figures as rows, a column per
model and system).

    .venv/bin/python benchmarks/doc_tables.py              # --check: exit 1 naming stale tables
    .venv/bin/python benchmarks/doc_tables.py --write      # rewrite them from their run files
    .venv/bin/python benchmarks/doc_tables.py --write docs/quality.md
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import check_cost as check_cost_bench  # noqa: E402
import draft_eval  # noqa: E402  (this folder: run as a script)
import proofread_eval  # noqa: E402
import repack_bench  # noqa: E402
import summary_eval  # noqa: E402
import summary_tries  # noqa: E402
import verbs_eval  # noqa: E402
import writing_eval  # noqa: E402

from quill.speed import SpeedOptions, SpeedReport  # noqa: E402

MARKER = re.compile(r"^<!-- table: (?P<words>.+?) -->\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


class DocTableError(Exception):
    """A marker that cannot be rendered: an unknown view, a missing or unreadable run
    file, a run file the view cannot show."""


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DocTableError(f"cannot read run file {path}: {e}") from e


def _one(paths: list[Path], view: str) -> Path:
    if len(paths) != 1:
        raise DocTableError(f"view {view!r} takes one run file, not {len(paths)}")
    return paths[0]


def _size(model: str) -> str:
    """The model's size as a column label: "qwen2.5-coder-1.5b (ctx 4096, …)" -> "1.5B"."""
    m = re.search(r"(\d+(?:\.\d+)?)b\b", model.lower())
    return f"{m.group(1)}B" if m else model


# writing_eval's Markdown table: a header, a ---, the rows (every view uses it).
table = writing_eval.table


# -- views -----------------------------------------------------------------------------

SUMMARY_LABELS = {
    "rouge2": "ROUGE-2 F1 against the abstract",
    "facts_fair": "facts at the length asked",
    "facts": "facts carried",
    "copy": "copy rate",
    "length": "length / asked",
    "listy": "list or heading lines",
    "repeats": "repeated lines",
    "complete": "ends with a complete sentence",
    "seconds": "seconds a summary",
}
SUMMARY_SYSTEMS = {"auto": "quill (`auto`)"}


def summary(paths: list[Path]) -> str:
    """benchmarks/summary_eval.py ``--json``: its figures (summary_eval's mean over seeds
    ``±`` the spread) as rows, a column per model and system."""
    saved = _load(_one(paths, "summary"))
    systems: list[str] = saved["args"]["system_list"]
    cols = [(m, s) for m in saved["models"] for s in systems]
    header = ["figure", *(f"{_size(m['model'])} {SUMMARY_SYSTEMS.get(s, s)}" for m, s in cols)]
    rows = []
    for key in (*summary_eval.KEYS, "seconds"):
        cells = [
            summary_eval._stat([r for r in m["records"] if r["system"] == s], key) for m, s in cols
        ]
        rows.append([SUMMARY_LABELS.get(key, key), *cells])
    return table(rows, header)


VARIANT_KEYS = ("facts_fair", "rouge2", "copy", "length")


def variants(paths: list[Path]) -> str:
    """benchmarks/summary_eval.py ``--json`` runs of one system in several ways: a column
    per run file (named by its ``label``, set when the run was committed) and model,
    the figures that tell the ways apart as rows (means over seeds, as in ``summary``)."""
    cols: list[tuple[str, list[dict[str, Any]]]] = []
    for path in paths:
        saved = _load(path)
        label = saved["args"].get("label")
        if not label:
            raise DocTableError(f"{path}: no label in its args, to name its column")
        for m in saved["models"]:
            cols.append((f"{_size(m['model'])} {label}", m["records"]))
    rows = [
        [SUMMARY_LABELS[key], *(summary_eval._stat(recs, key) for _, recs in cols)]
        for key in VARIANT_KEYS
    ]
    return table(rows, ["figure", *(name for name, _ in cols)])


def drafts(paths: list[Path]) -> str:
    """benchmarks/draft_eval.py ``--json`` runs, merged and scored again as ``--report``
    does: its figures as rows, a column per model for quill and the baseline."""
    runs = draft_eval.saved_runs([str(p) for p in paths])
    systems = ("quill", "baseline")
    header = ["figure", *(f"{_size(model)} {s}" for model in runs for s in systems)]
    rows = []
    for label, key, _note in draft_eval.FIGURES:
        cells = [
            draft_eval.fmt(draft_eval.stat([r for r in recs if r["system"] == s], key))
            for recs in runs.values()
            for s in systems
        ]
        rows.append([label, *cells])
    return table(rows, header)


def verbs(paths: list[Path]) -> str:
    """benchmarks/verbs_eval.py ``--json``, scored again as ``--rescore`` does (without
    writing the file): every column of its tables as a row, a column per model for quill
    and the baseline."""
    recs = verbs_eval.rescored(str(_one(paths, "verbs")))
    models = list(dict.fromkeys(r["model"] for r in recs))
    systems = ("quill", "baseline")
    header = ["figure", *(f"{_size(m)} {s}" for m in models for s in systems)]
    rows = []
    for verb, columns in verbs_eval.COLUMNS.items():
        mine = [r for r in recs if r["verb"] == verb]
        if not mine:
            continue
        for key, label in columns:
            cells = [
                verbs_eval.figure([r for r in mine if r["model"] == m and r["system"] == s], key)
                for m in models
                for s in systems
            ]
            rows.append([f"{verb}: {label}", *cells])
    return table(rows, header)


def proofread(paths: list[Path]) -> str:
    """benchmarks/proofread_eval.py ``--json``: the script's own table."""
    saved = _load(_one(paths, "proofread"))
    if len(saved["models"]) != 1:
        raise DocTableError("view 'proofread' shows a run file of one model")
    text = proofread_eval.report(saved["models"][0], saved["args"]["system_list"])
    block: list[str] = []
    for line in text.splitlines():  # its first table: the one under the model's heading
        if line.startswith("|"):
            block.append(line)
        elif block:
            break
    return "\n".join(block)


def speed(paths: list[Path]) -> str:
    """``quill bench --speed --json``: the table the command prints (quill.speed's rows)."""
    saved = _load(_one(paths, "speed"))
    if saved.get("schema") != "quill.bench.speed/1":
        raise DocTableError(f"{paths[0]} is not a `quill bench --speed --json` run")
    f = saved["figures"]
    report = SpeedReport(
        model=saved["model"],
        settings=saved["settings"],
        options=SpeedOptions(**saved["options"]),
        load_s=f["load_s"],
        pp_tokens=f["pp"]["tokens"],
        pp_tokens_per_s=f["pp"]["tokens_per_s"],
        tg_tokens=f["tg"]["tokens"],
        tg_tokens_per_s=f["tg"]["tokens_per_s"],
        ttft_s=f["ttft_s"],
        peak_rss_bytes=f["peak_rss_bytes"],
        rss_bytes=f.get("rss_bytes", 0),
        rss_bound_bytes=f.get("rss_bound_bytes", 0),
        notes=saved["notes"],
    )
    return table([list(r) for r in report.rows()], ["figure", "value", "what"])


def lookup(paths: list[Path]) -> str:
    """benchmarks/lookup_bench.py ``--json``: each side's median over rounds (as the
    script reports them), and its ratios."""
    saved = _load(_one(paths, "lookup"))
    if saved.get("benchmark") != "lookup_bench":
        raise DocTableError(f"{paths[0]} is not a lookup_bench.py run")

    def med(side: str, key: str) -> float:
        return statistics.median(run[key] for run in saved["runs"][side])

    rows = []
    for side in ("plain", "lookup"):
        rows.append(
            [
                side,
                f"{med(side, 'tokens_per_s'):.1f}",
                f"{med(side, 'gen_tokens_per_s'):.1f}",
                f"{med(side, 'seconds'):.1f}",
                f"{med(side, 'generated'):.0f}",
                f"{med(side, 'drafted'):.0f} / {med(side, 'accepted'):.0f}",
            ]
        )
    rows.append(
        [
            "lookup / plain",
            f"{saved['ratio_tokens_per_s']:.2f}",
            f"{saved['ratio_gen_tokens_per_s']:.2f}",
            "",
            "",
            "",
        ]
    )
    header = [
        "decoding",
        "tok/s overall",
        "tok/s generating",
        "seconds",
        "tokens generated",
        "drafted / accepted",
    ]
    return table(rows, header)


def prompt(paths: list[Path]) -> str:
    """benchmarks/prompt_bench.py ``--json``: one row per prompt length, each file a
    model (its name from the run's ``--model``)."""
    rows = []
    for path in paths:
        saved = _load(path)
        model = _size(str(saved["run"]["args"]["model"]))
        for r in saved["rows"]:
            rows.append(
                [
                    model,
                    f"{r['tokens']:,}",
                    f"{r['llama_cpp']:.1f}",
                    f"{r['quill']:.1f}",
                    f"{r['ratio']:.3f}",
                ]
            )
    header = ["model", "prompt tokens", "llama.cpp tok/s", "quill tok/s", "quill / llama.cpp"]
    return table(rows, header)


def speculative(paths: list[Path]) -> str:
    """benchmarks/speculative_bench.py ``--json``: one row per prompt."""
    saved = _load(_one(paths, "speculative"))
    draft = saved["run"]["args"]["draft"]
    rows = [
        [
            r["prompt"],
            f"{r['1.5B plain']:.1f}",
            f"{r['0.5B plain']:.1f}",
            f"{r['speculative']:.1f}",
            f"{r['ratio']:.2f}",
            f"{r['kept_share']:.2f}",
            "yes" if r["same_text"] else "no",
        ]
        for r in saved["rows"]
    ]
    header = [
        "prompt",
        "1.5B tok/s",
        "0.5B tok/s",
        f"speculative (draft {draft}) tok/s",
        "speculative / 1.5B",
        "drafted tokens kept",
        "the 1.5B's own text",
    ]
    return table(rows, header)


def prefix(paths: list[Path]) -> str:
    """benchmarks/prefix_bench.py ``--json``: one row per command's prompt."""
    saved = _load(_one(paths, "prefix"))
    rows = [
        [
            f"`{r['prompt']}`",
            str(r["tokens"]),
            str(r["loaded"]),
            f"{r['off_s']:.2f}",
            f"{r['cold_s']:.2f}",
            f"{r['warm_s']:.2f}",
            f"{r['ratio']:.2f}",
            "yes" if r["same_text"] else "no",
        ]
        for r in saved["rows"]
    ]
    header = [
        "prompt",
        "tokens",
        "loaded from the file",
        "no files s",
        "first (saves) s",
        "later (loads) s",
        "later / no files",
        "same text",
    ]
    return table(rows, header)


def first_byte(paths: list[Path]) -> str:
    """benchmarks/draft_first_byte.py ``--json``: one row per command."""
    saved = _load(_one(paths, "first_byte"))
    rows = [
        [f"`quill {name}`", f"{r['first_byte_s'] * 1000:.0f}", f"{r['reads']:.0f}"]
        for name, r in saved["rows"].items()
    ]
    rows.append(["draft / chat", f"{saved['ratio']:.2f}", ""])
    return table(rows, ["command", "first byte, median ms", "reads, median"])


def repack(paths: list[Path]) -> str:
    """benchmarks/repack_bench.py ``--json``: repacking on and off at each prompt length
    (the script's own table)."""
    header, rows = repack_bench.table_rows(_load(_one(paths, "repack"))["rows"])
    return table(rows, header)


def check_cost(paths: list[Path]) -> str:
    """benchmarks/check_cost.py ``--json``: the script's own table."""
    saved = _load(_one(paths, "check_cost"))
    if saved.get("benchmark") != "check_cost":
        raise DocTableError(f"{paths[0]} is not a check_cost.py run")
    header, rows = check_cost_bench.table_rows(saved["rows"])
    return table(rows, header)


def tries(paths: list[Path]) -> str:
    """benchmarks/summary_tries.py ``--json``: its table, one block of rows per model
    (the choice made again by the check as it stands)."""
    saved = _load(_one(paths, "tries"))
    out: list[list[str]] = []
    header: list[str] = []
    for m in saved["models"]:
        header, rows = summary_tries.table_rows(m["records"])
        out += [[f"{_size(m['model'])} {r[0]}", *r[1:]] for r in rows]
    return table(out, header)


def startup(paths: list[Path]) -> str:
    """benchmarks/startup_bench.py ``--json``: one row per command."""
    saved = _load(_one(paths, "startup"))
    rows = [
        [f"`{name}`", f"{r['median_ms']:.1f}", f"{r['fastest_ms']:.1f}", f"{r['ratio']:.2f}"]
        for name, r in saved["rows"].items()
    ]
    return table(rows, ["command", "median ms", "fastest ms", "median / the typer app's"])


VIEWS: dict[str, Callable[[list[Path]], str]] = {
    "summary": summary,
    "variants": variants,
    "drafts": drafts,
    "verbs": verbs,
    "proofread": proofread,
    "speed": speed,
    "lookup": lookup,
    "prompt": prompt,
    "speculative": speculative,
    "startup": startup,
    "prefix": prefix,
    "first_byte": first_byte,
    "repack": repack,
    "check_cost": check_cost,
    "tries": tries,
}


# -- markers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    line: int  # 1-based, in its document
    files: tuple[str, ...]
    view: str

    def __str__(self) -> str:
        return " ".join((*self.files, self.view))


def parse_marker(line: str, number: int = 0) -> Marker | None:
    """The marker on this line, or None; a ``table:`` comment that names no run file
    is an error."""
    m = MARKER.match(line)
    if m is None:
        return None
    words = m.group("words").split()
    if len(words) < 2:
        raise DocTableError(f"line {number}: a marker names run files, then a view: {line!r}")
    return Marker(number, tuple(words[:-1]), words[-1])


def render(marker: Marker, root: Path = ROOT) -> str:
    """The table the marker's view makes of its run files (no trailing newline)."""
    view = VIEWS.get(marker.view)
    if view is None:
        known = ", ".join(VIEWS)
        raise DocTableError(f"line {marker.line}: unknown view {marker.view!r} (known: {known})")
    paths = [root / f for f in marker.files]
    missing = [f for f, p in zip(marker.files, paths, strict=True) if not p.is_file()]
    if missing:
        raise DocTableError(f"line {marker.line}: no run file {', '.join(missing)}")
    try:
        return view(paths)
    except DocTableError as e:
        raise DocTableError(f"line {marker.line}: {e}") from e
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DocTableError(
            f"line {marker.line}: {', '.join(marker.files)} does not fit view "
            f"{marker.view!r} ({type(e).__name__}: {e})"
        ) from e


def rewrite(text: str, root: Path = ROOT) -> tuple[str, list[Marker], list[Marker]]:
    """The document with every marked table rendered again from its run files, the
    markers found, and those whose table changed (stale, or not there yet)."""
    lines = text.split("\n")
    out: list[str] = []
    found: list[Marker] = []
    changed: list[Marker] = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if FENCE.match(line):
            fenced = not fenced
        marker = None if fenced else parse_marker(line, i)
        if marker is None:
            continue
        found.append(marker)
        end = i
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        new = render(marker, root).split("\n")
        if lines[i:end] != new:
            changed.append(marker)
        out.extend(new)
        i = end
    return "\n".join(out), found, changed


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and docs/*.md, except the generated command reference."""
    docs = sorted(p for p in (root / "docs").glob("*.md") if p.name != "cli.md")
    return [root / "README.md", *docs]


def _name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 naming stale tables (default)")
    mode.add_argument("--write", action="store_true", help="rewrite the tables from the run files")
    ap.add_argument("docs", nargs="*", type=Path, help="default: README.md and docs/*.md")
    args = ap.parse_args(argv)
    stale: list[str] = []
    tables = 0
    for doc in args.docs or documents():
        text = doc.read_text(encoding="utf-8")
        try:
            new, found, changed = rewrite(text)
        except DocTableError as e:
            print(f"error: {_name(doc)}: {e}", file=sys.stderr)
            return 2
        tables += len(found)
        for marker in found:
            state = "stale" if marker in changed else "ok"
            if args.write and marker in changed:
                state = "rewritten"
            print(f"{_name(doc)}:{marker.line}: {marker} {state}")
        if args.write and new != text:
            doc.write_text(new, encoding="utf-8")
        elif not args.write:
            stale += [f"{_name(doc)}:{m.line} ({m})" for m in changed]
    print(f"{tables} tables")
    if stale:
        print(
            "stale tables (run benchmarks/doc_tables.py --write): " + ", ".join(stale),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
