"""`quill drafts list|show|open|diff|revise|export|import|rm|search`: every text quill
wrote, kept as drafts with versions and provenance."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quill.cli.refs import RefArg, confirm, find_draft, lookup, open_store, parse_ref, short
from quill.cli.report import print_json
from quill.cli.run import Run, command
from quill.errors import UsageError
from quill.render.sanitize import sanitize
from quill.render.ui import UI
from quill.store.export import iso_time
from quill.writing.textstats import text_stats

if TYPE_CHECKING:
    from quill.store.drafts import Draft, DraftVersion


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _state(v: DraftVersion | None) -> str:
    """A mark for a version that is not a complete text."""
    if v is None:
        return ""
    if v.status == "interrupted":
        return "interrupted"
    if v.status == "streaming":
        return "being written"
    marks = {
        "length": "cut at the token limit",
        "context": "cut: the context was full",
        "loop": "stopped repeating",
    }
    return marks.get(v.finish or "", "")


def provenance(meta: dict[str, Any]) -> str:
    """The provenance in one line: command and template, model, seed, where the text
    came from (the source file, an import, the version a revision started from)."""
    parts: list[str] = []
    command, template = meta.get("command"), meta.get("template")
    if command:
        parts.append(str(command) + (f" ({template})" if template and template != command else ""))
    model = meta.get("model")
    name = model.get("name") if isinstance(model, dict) else model
    if name:
        parts.append(f"model {name}")
    if meta.get("seed") is not None:
        parts.append(f"seed {meta['seed']}")
    for key in ("source", "material"):
        src = meta.get(key)
        if isinstance(src, dict) and src.get("path"):
            parts.append(f"{key} {src['path']}")
    if meta.get("from_version"):
        parts.append(f"from v{meta['from_version']}")
    if meta.get("instruction"):
        parts.append(f"“{short(str(meta['instruction']), 60)}”")
    if meta.get("imported_from"):
        parts.append(f"imported from {meta['imported_from']}")
    return " · ".join(parts)


def version_json(d: Draft, v: DraftVersion, *, content: bool) -> dict[str, Any]:

    st = text_stats(v.content)
    out: dict[str, Any] = {
        "id": d.id,
        "title": d.title,
        "kind": d.kind,
        "version": v.version,
        "versions": d.versions,
        "created": iso_time(v.created_at),
        "updated": iso_time(d.updated_at),
        "status": v.status,
        "finish": v.finish,
        "note": v.note,
        "words": st.words,
        "reading_s": round(st.reading_s),
    }
    if content:
        out["meta"] = v.meta
        out["content"] = v.content
    return out


# -- list, show, search ----------------------------------------------------------------


@command("limit", "as_json", "quiet")
def list_drafts(run: Run) -> None:
    """List drafts, the most recently changed first.

    Each line: id, last change, versions, words of the latest version, title; a latest
    version that did not finish (interrupted, cut at the token limit) is marked.
    """
    as_json = run.o.as_json
    env, store = open_store(run.env)
    with store:
        rows = store.drafts(run.o.limit)
    if as_json:
        print_json(env, [version_json(d, d.latest, content=False) for d in rows if d.latest])
        return
    if not rows:
        env.ui.note('no drafts yet: `quill draft "…"` writes one, `quill drafts import` adds one')
        return
    out = env.stdout
    if env.stdout_tty:
        out.write(f"{'ID':>5}  {'UPDATED':<16}  {'VER':>3}  {'WORDS':>7}  TITLE\n")
    for d in rows:
        words = text_stats(d.latest.content).words if d.latest else 0
        state = _state(d.latest)
        mark = f"  [{state}]" if state else ""
        line = f"{d.id:>5}  {when(d.updated_at)}  {d.versions:>3}  {words:>7,}  {d.title}{mark}"
        out.write(sanitize(line) + "\n")
    out.flush()


def _header(ui: UI, d: Draft, v: DraftVersion) -> None:

    st = text_stats(v.content)
    facts = [
        f"draft {d.id}",
        f"version {v.version} of {d.versions}",
        st.describe(),
        f"{st.reading} read",
        _state(v) or v.status,
        when(v.created_at),
    ]
    ui.note(d.title)
    ui.note(" · ".join(facts) + (f" · {v.note}" if v.note else ""))
    line = provenance(v.meta)
    if line:
        ui.note(line)


@command("meta", "as_json", "plain", "quiet")
def show(run: Run, ref: RefArg) -> None:
    """Print a draft (its latest version, or ID@VERSION).

    The text goes to stdout: raw when piped, rendered Markdown on a terminal. A header
    on stderr gives the title, version, length, reading time, status and provenance.
    """
    as_json = run.o.as_json
    env = run.env
    d, v = lookup(env, ref)
    if as_json:
        print_json(env, version_json(d, v, content=True))
        return
    if run.o.meta:
        print_json(env, v.meta)
        return
    _header(env.ui, d, v)
    run.show(v.content)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def snippet(content: str, query: str, width: int = 40) -> tuple[str, str, str]:
    """(before, match, after) around the first match, on one line (the match is ""
    when it cannot be found as typed)."""
    at = content.lower().find(query.lower())
    if at < 0 or not query:
        return short(content, 2 * width), "", ""
    start, end = max(0, at - width), min(len(content), at + len(query) + width)
    before = ("…" if start else "") + _flat(content[start:at]).lstrip()
    after = _flat(content[at + len(query) : end]).rstrip() + ("…" if end < len(content) else "")
    return before, _flat(content[at : at + len(query)]), after


@command("most", "as_json", "quiet")
def search(
    run: Run, text: Annotated[str, typer.Argument(help="Words to find (any script, any case).")]
) -> None:
    """Find drafts that contain TEXT, in any of their versions.

    Newest first, each with the version that matched and a snippet around the match
    (highlighted on a terminal). Any script, any case; no special query syntax.
    """
    as_json, limit = run.o.as_json, run.o.most
    env, store = open_store(run.env)
    found: dict[int, list[int]] = {}
    titles: dict[int, str] = {}
    with store:
        for hit in store.search_drafts(text, limit=max(200, limit * 20)):
            if hit.draft_id not in found and len(found) >= limit:
                continue
            found.setdefault(hit.draft_id, []).append(hit.version)
            titles[hit.draft_id] = hit.title
        rows = []
        for did, versions in found.items():
            versions.sort(reverse=True)
            v = store.draft_version(did, versions[0])
            rows.append((did, versions, snippet(v.content if v else "", text)))
    if as_json:
        print_json(
            env,
            [
                {
                    "id": did,
                    "title": titles[did],
                    "version": versions[0],
                    "versions": versions,
                    "snippet": "".join(snip),
                    "match": [len(snip[0]), len(snip[0]) + len(snip[1])],
                }
                for did, versions, snip in rows
            ],
        )
        return
    if not rows:
        env.ui.note(f"no draft contains “{text.strip()}”")
        return
    console = env.ui._console(env.stdout, True) if env.stdout_tty else None
    for did, versions, (before, match, after) in rows:
        also = " (also in " + ", ".join(f"@{n}" for n in versions[1:]) + ")"
        head = f"{did}@{versions[0]}  {titles[did]}{also if len(versions) > 1 else ''}"
        if console is None:
            env.stdout.write(sanitize(f"{head}\n    {before}{match}{after}") + "\n")
            continue
        from rich.text import Text

        line = Text.assemble(
            (sanitize(head), "bold"),
            "\n    ",
            sanitize(before),
            (sanitize(match), "bold reverse"),
            sanitize(after),
        )
        console.print(line, soft_wrap=True)
    env.stdout.flush()


# -- rm ----------------------------------------------------------------------------------


@command("yes", "quiet")
def remove(
    run: Run,
    refs: Annotated[list[str], typer.Argument(metavar="ID...", help="Drafts to remove.")],
) -> None:
    """Remove drafts with all their versions (asks first, unless --yes)."""
    env, store = open_store(run.env)
    with store:
        targets: list[Draft] = []
        for ref in refs:
            did, vn = parse_ref(ref)
            if vn is not None:
                raise UsageError(
                    f"`{ref}` names a version: rm removes whole drafts",
                    hint=f"quill drafts rm {did}",
                )
            d = find_draft(store, did)
            if all(t.id != d.id for t in targets):
                targets.append(d)
        names = [f"{d.id} “{short(d.title, 50)}” ({d.versions} v)" for d in targets]
        what = names[0] if len(names) == 1 else f"{len(names)} drafts: " + "; ".join(names)
        ids = " ".join(str(d.id) for d in targets)
        if not run.o.yes and not confirm(
            env,
            f"Remove draft {what}?",
            "removing drafts needs a confirmation",
            f"pass --yes to remove without asking: quill drafts rm --yes {ids}",
        ):
            env.ui.note("nothing removed")
            return
        for d, name in zip(targets, names, strict=True):
            store.delete_draft(d.id)
            env.ui.note(f"removed draft {name}")
