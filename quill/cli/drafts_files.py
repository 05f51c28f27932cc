"""`quill drafts export|import`: drafts as Markdown files with their provenance in YAML
front matter (the format is :mod:`quill.store.export`), and back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from quill.cli.inputs import decode, hint_for, read_file_bytes, read_stdin_bytes
from quill.cli.refs import lookup, parse_ref
from quill.cli.report import emit_or_save
from quill.cli.run import Run, command
from quill.env import Environment
from quill.errors import InputError, OutputError, UsageError
from quill.store.db import Store
from quill.store.drafts import derive_title
from quill.store.export import is_quill_front, parse_markdown, to_markdown
from quill.store.files import atomic_write_text


def slug(title: str, width: int = 48) -> str:
    """A file-name part from a title: lower case, words joined by hyphens."""
    s = re.sub(r"[\W_]+", "-", title.lower()).strip("-")
    return s[:width].rstrip("-") or "draft"


@command(
    "all_dir",
    "version",
    "out",
    "force",
    "quiet",
    helps={"out": "Write to FILE (atomically).", "force": "Overwrite files that exist."},
)
def export(
    run: Run,
    ref: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID[@VERSION]]", help="The draft (its latest version, or ID@VERSION)."
        ),
    ] = None,
) -> None:
    """Export a draft as Markdown with its provenance in YAML front matter.

    The front matter carries the title, id, version, status and the provenance; the
    file goes to stdout, to --out FILE, or with --all DIR every draft to its own file.

    `quill drafts import` reads the files back, with the same text and provenance.
    """
    env, all_dir, version = run.env, run.o.all_dir, run.o.version
    if all_dir is not None:
        if ref is not None or run.o.out is not None or version is not None:
            raise UsageError(
                "--all exports every draft's latest version: it takes no ID, --out or --version"
            )
        with Store(env.paths.db_file) as store:
            _export_all(env, store, Path(all_dir).expanduser(), run.o.force)
        return
    if ref is None:
        raise UsageError("which draft?", hint="quill drafts export ID, or --all DIR for all")
    vn = parse_ref(ref)[1]
    if vn is not None and version is not None and vn != version:
        raise UsageError(f"{ref} and --version {version} name different versions")
    text = to_markdown(*lookup(env, ref, version))
    emit_or_save(env, text, run.out_path)


def _export_all(env: Environment, store: Store, folder: Path, force: bool) -> None:

    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is not a folder", hint="pass a folder to --all")
    rows = [d for d in store.drafts() if d.latest is not None]
    if not rows:
        env.ui.note("no drafts to export")
        return
    files = [(folder / f"{d.id:04d}-{slug(d.title)}.md", d) for d in reversed(rows)]
    taken = [p for p, _ in files if p.exists()]
    if taken and not force:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise OutputError(f"{taken[0]} already exists{more}", hint="pass --force to replace them")
    for path, d in files:
        assert d.latest is not None
        atomic_write_text(path, to_markdown(d, d.latest))
    env.ui.note(f"exported {len(files)} draft{'s' if len(files) != 1 else ''} to {folder}")


def _read(env: Environment, name: str, encoding: str | None) -> tuple[str, str | None]:
    """(text, problem) of a file to import; "-" is stdin. Read as every input is (size
    bound, UTF-8 or a BOM, or the encoding --encoding names)."""
    try:
        if name == "-":
            data = read_stdin_bytes(env)
            if data is None:
                return "", "nothing piped on stdin"
        else:
            p = Path(name).expanduser()
            if p.is_dir():
                return "", "is a folder"
            data = read_file_bytes(name, p)
    except InputError as exc:  # its message names the file; the caller names it too
        return "", exc.message.removeprefix(f"{name}: ").removeprefix(f"{name} ")
    text, problem = decode(data, encoding)
    return text, problem or None


def draft_from_file(text: str, origin: str) -> dict[str, Any]:
    """The arguments of ``Store.create_draft`` for an imported file: quill's own export
    keeps its title, status and provenance; other Markdown is titled from its text."""
    front, body = parse_markdown(text)
    if front is not None and is_quill_front(front):
        title = front.get("title")
        status = front.get("status")
        finish = front.get("finish")
        kept = dict(front["meta"])
        kept["imported_from"] = origin
        kept["imported"] = {k: front.get(k) for k in ("id", "version", "created", "note")}
        return {
            "title": title if isinstance(title, str) and title.strip() else derive_title(body),
            "content": body,
            "kind": front.get("kind") if isinstance(front.get("kind"), str) else "draft",
            "note": "imported",
            "meta": kept,
            "status": "complete" if status == "complete" else "interrupted",
            "finish": finish if isinstance(finish, str) else None,
        }
    title = front.get("title") if front is not None else None
    title = " ".join(str(title).split()) if isinstance(title, str | int | float) else ""
    if front is not None and not body.strip():
        raise InputError("has front matter but no text after it")
    meta: dict[str, Any] = {"command": "import", "imported_from": origin}
    if front:  # Jekyll's or Hugo's: title, date, tags… kept with the text's provenance
        meta["front_matter"] = front
    return {
        "title": title or derive_title(body),
        "content": body,
        "kind": "draft",
        "note": "imported",
        "meta": meta,
        "title_fixed": bool(title),
    }


@command("encoding", "quiet", verb="import")
def import_files(
    run: Run,
    files: Annotated[
        list[str],
        typer.Argument(metavar="FILE...", help="Markdown or text files; - reads stdin."),
    ],
) -> None:
    """Import Markdown files as drafts.

    A file written by `quill drafts export` comes back with its title, text, status and
    provenance (plus where it was imported from). Any other Markdown or text file
    becomes a draft titled from its front matter's title, else its first heading or
    line; YAML front matter (Jekyll, Hugo) is kept in the provenance (date, tags…), the
    text without it. A file whose front matter is not valid YAML is refused by name.
    """
    env = run.env
    store = Store(env.paths.db_file)
    imported = 0
    with store:
        for name in files:
            text, problem = _read(env, name, run.encoding)
            if problem is None and not text.strip():
                problem = "empty"
            if problem is not None:
                decoding = problem.startswith(("not ", "binary"))
                env.ui.error(f"{name}: {problem}", hint_for(problem) if decoding else "")
                continue
            origin = "stdin" if name == "-" else str(Path(name).expanduser().resolve())
            try:
                args = draft_from_file(text, origin)
            except InputError as exc:  # front matter that is not YAML: this file only
                env.ui.error(f"{name}: {exc.message}", exc.hint)
                continue
            v = store.create_draft(**args)
            imported += 1
            env.ui.note(f"imported {name} as draft {v.draft_id} ({args['title']})")
    if not imported:
        raise typer.Exit(InputError.exit_code)
