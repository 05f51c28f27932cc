"""`quill drafts list|show|open|diff|revise|export|import|rm|search`: every text quill
wrote, kept as drafts with versions and provenance."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quill.cli import options as o

if TYPE_CHECKING:
    from quill.env import Environment
    from quill.render.ui import UI
    from quill.store.db import Store
    from quill.store.drafts import Draft, DraftVersion

drafts_app = typer.Typer(
    help="Browse, revise, compare, export and import the texts quill wrote.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

REF_HINT = "ids look like 12, #12, or 12@3 for its version 3; `quill drafts list` shows them"
_REF = re.compile(r"#?(\d+)(?:@(\d+))?")

RefArg = Annotated[
    str,
    typer.Argument(
        metavar="ID[@VERSION]", help="A draft (12 or #12), or one of its versions (12@3)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead.")]


def parse_ref(text: str) -> tuple[int, int | None]:
    """``"12"``, ``"#12"``, ``"12@3"`` -> (12, None | 3)."""
    from quill.errors import UsageError

    m = _REF.fullmatch(text.strip())
    if m is None or int(m.group(1)) < 1 or (m.group(2) is not None and int(m.group(2)) < 1):
        raise UsageError(f"`{text}` is not a draft id", hint=REF_HINT)
    return int(m.group(1)), int(m.group(2)) if m.group(2) else None


def open_store(ctx: typer.Context) -> tuple[Environment, Store]:
    from quill.cli.context import get_env
    from quill.store.db import Store

    env = get_env(ctx)
    return env, Store(env.paths.db_file)


def find_draft(store: Store, draft_id: int) -> Draft:
    from quill.errors import UsageError

    d = store.draft(draft_id)
    if d is None:
        raise UsageError(f"there is no draft {draft_id}", hint="see them with: quill drafts list")
    return d


def find_version(store: Store, draft: Draft, version: int | None) -> DraftVersion:
    from quill.errors import UsageError

    v = store.draft_version(draft.id, version)
    if v is None:
        have = f"it has versions 1 to {draft.versions}" if draft.versions > 1 else "it has one"
        raise UsageError(
            f"draft {draft.id} has no version {version}",
            hint=f"{have}: quill drafts show {draft.id}@{draft.versions}",
        )
    return v


def when(ts: float) -> str:
    from datetime import datetime

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


def print_json(env: Environment, value: Any) -> None:
    from quill.store.export import safe_json

    env.stdout.write(safe_json(value, indent=2, sort_keys=False) + "\n")
    env.stdout.flush()


def short(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


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
    from quill.store.export import iso_time
    from quill.writing.textstats import text_stats

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


def list_drafts(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Show only the N newest.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List drafts, the most recently changed first.

    Each line: id, last change, versions, words of the latest version, title; a latest
    version that did not finish (interrupted, cut at the token limit) is marked.
    """
    from quill.render.sanitize import sanitize
    from quill.writing.textstats import text_stats

    env, store = open_store(ctx)
    with store:
        rows = store.drafts(limit)
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
    from quill.writing.textstats import text_stats

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


def show(
    ctx: typer.Context,
    ref: RefArg,
    meta: Annotated[
        bool, typer.Option("--meta", help="Print the full provenance as JSON instead.")
    ] = False,
    as_json: JsonOpt = False,
    plain: o.PlainOpt = False,
) -> None:
    """Print a draft (its latest version, or ID@VERSION).

    The text goes to stdout: raw when piped, rendered Markdown on a terminal. A header
    on stderr gives the title, version, length, reading time, status and provenance.
    """
    env, store = open_store(ctx)
    did, vn = parse_ref(ref)
    with store:
        d = find_draft(store, did)
        v = find_version(store, d, vn)
    if as_json:
        print_json(env, version_json(d, v, content=True))
        return
    if meta:
        print_json(env, v.meta)
        return
    _header(env.ui, d, v)
    sink = env.ui.content_sink(plain)
    sink.feed(v.content)
    sink.close()


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


def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Words to find (any script, any case).")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N drafts.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Find drafts that contain TEXT, in any of their versions.

    Newest first, each with the version that matched and a snippet around the match
    (highlighted on a terminal). Any script, any case; no special query syntax.
    """
    from quill.render.sanitize import sanitize

    env, store = open_store(ctx)
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


def _ask(env: Environment, question: str) -> bool:
    env.stderr.write(question + " [y/N] ")
    env.stderr.flush()
    answer = env.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def remove(
    ctx: typer.Context,
    refs: Annotated[list[str], typer.Argument(metavar="ID...", help="Drafts to remove.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Remove drafts with all their versions (asks first, unless --yes)."""
    from quill.errors import UsageError
    from quill.render.sanitize import sanitize

    env, store = open_store(ctx)
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
        if not yes:
            if not (env.stdin_tty and env.stderr_tty):
                raise UsageError(
                    "removing drafts needs a confirmation",
                    hint="pass --yes to remove without asking: quill drafts rm --yes "
                    + " ".join(str(d.id) for d in targets),
                )
            what = names[0] if len(names) == 1 else f"{len(names)} drafts: " + "; ".join(names)
            if not _ask(env, sanitize(f"Remove draft {what}?")):
                env.ui.note("nothing removed")
                return
        for d, name in zip(targets, names, strict=True):
            store.delete_draft(d.id)
            env.ui.note(f"removed draft {name}")


def register(app: typer.Typer) -> None:
    from quill.cli import drafts_edit as edit
    from quill.cli import drafts_files as files

    for name, command in (
        ("list", list_drafts),
        ("show", show),
        ("search", search),
        ("open", edit.open_draft),
        ("revise", edit.revise),
        ("diff", edit.diff),
        ("export", files.export),
        ("import", files.import_files),
        ("rm", remove),
    ):
        drafts_app.command(name)(command)
    app.add_typer(drafts_app, name="drafts")
