"""`quill drafts open|revise|diff`: new versions of a draft, by hand or by the model, and
what changed between two versions."""

from __future__ import annotations

import hashlib
import os
import shlex
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from quill.chat.commands import run_editor
from quill.cli.generate import Keep
from quill.cli.refs import RefArg, find_draft, find_version, lookup, open_store, parse_ref, short
from quill.cli.report import emit
from quill.cli.run import Run, command
from quill.engine.generation import generate
from quill.errors import InputError, QuillError, UsageError
from quill.render.diff import print_word_diff
from quill.writing import revise as revising
from quill.writing.cleanup import draft_filters
from quill.writing.diffing import changes, unified, words_changed


@command("quiet")
def open_draft(run: Run, ref: RefArg) -> None:
    """Edit a draft in your editor ($VISUAL, else $EDITOR).

    The latest version (or ID@VERSION) opens in a temporary file; what you save
    becomes the draft's next version, noted "edited". Leaving the file unchanged makes
    no version.
    """
    env = run.env
    d, v = lookup(env, ref)
    did = d.id
    editor = (env.environ.get("VISUAL") or env.environ.get("EDITOR") or "").strip()
    if not editor:
        raise UsageError(
            "no editor is set",
            hint="set VISUAL or EDITOR, e.g. export EDITOR=nano (or vim, or 'code --wait')",
        )
    try:
        argv = shlex.split(editor)
    except ValueError as exc:
        raise UsageError(
            f"cannot read the editor command `{editor}`: {exc}",
            hint="check the quoting in VISUAL or EDITOR",
        ) from None
    text = v.content if v.content.endswith("\n") or not v.content else v.content + "\n"
    fd, name = tempfile.mkstemp(prefix=f"quill-draft-{did}-v{v.version}-", suffix=".md")
    path = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    try:
        rc = run_editor([*argv, str(path)])
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise UsageError(
            f"cannot run the editor `{editor}`: {exc.strerror or exc}",
            hint="set VISUAL or EDITOR to a program on your PATH",
        ) from None
    exited = f" (the editor exited with {rc})" if rc else ""
    try:
        edited = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"the editor removed {path}: nothing saved{exited}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the edited file {path}: {exc}{exited}",
            hint=f"the file is kept: fix it, then `quill drafts import {path}`",
        ) from None
    if edited.rstrip("\n") == v.content.rstrip("\n") or not edited.strip():
        path.unlink(missing_ok=True)
        what = "the file is empty" if not edited.strip() else "no change"
        env.ui.note(f"{what}: draft {did} keeps its versions, nothing saved{exited}")
        return
    try:
        _, store = open_store(run.env)
        with store:
            new = store.add_draft_version(
                did,
                edited,
                "edited",
                meta={"command": "edit", "from_version": v.version, "editor": argv[0]},
            )
    except QuillError as exc:
        exc.hint = f"your edited text is kept in {path}"
        raise
    path.unlink(missing_ok=True)
    env.ui.note(f"saved as draft {did} v{new.version}{exited}")


@command(
    "engine",
    "sampling",
    "out",
    "force",
    "show",
    leave_out=("encoding",),
    helps={"max_tokens": "Most tokens to generate (default: from the text)."},
    template="revise",
)
def revise(
    run: Run,
    ref: RefArg,
    instruction: Annotated[
        str, typer.Argument(help='What to change, e.g. "make it shorter" or "a warmer tone".')
    ],
) -> None:
    """Write the next version of a draft, revised as INSTRUCTION says.

    The model gets the latest version (or ID@VERSION) and the instruction, and writes
    the revised piece; it streams like `quill draft` and is saved as the draft's next
    version, noted "revised: INSTRUCTION", with the instruction and the version it
    started from in its provenance.

    Examples:

      quill drafts revise 12 "make it shorter and warmer"

      quill drafts revise 12@2 "translate it into French" --out post.fr.md
    """
    did, vn = parse_ref(ref)
    run.keep = Keep(True, did, None)
    with run:
        store = run.store
        assert store is not None
        base = find_version(store, find_draft(store, did), vn)
        if base.status == "streaming":
            raise UsageError(
                f"draft {did} v{base.version} is still being written",
                hint="wait for it to finish, or revise an earlier version (ID@VERSION)",
            )
        messages = revising.build_messages(base.content, instruction, user_dir=run.user_dir)
        if base.status == "interrupted":
            run.env.ui.warn(
                f"draft {did} v{base.version} was interrupted: revising its partial text"
            )
        engine = run.engine()
        budget = revising.max_tokens_for(engine.count(base.content))
        params = run.sampling(revising.MIN_MAX_TOKENS, budget=budget)
        gen = generate(engine, messages, params, transforms=draft_filters())
        request = {
            "instruction": instruction.strip(),
            "from_version": base.version,
            "from_sha256": hashlib.sha256(base.content.encode("utf-8")).hexdigest(),
        }
        run.stream(
            gen, None, kind="revise", request=request, note=f"revised: {short(instruction, 80)}"
        )


def _other(text: str, did: int) -> tuple[int, int | None]:
    """The second version of `diff`: @5 (of the same draft), 13@5 or 13 (another)."""
    return (did, parse_ref(text[1:])[0]) if text.strip().startswith("@") else parse_ref(text)


@command("unified", "word", "context", "quiet")
def diff(
    run: Run,
    ref: Annotated[
        str,
        typer.Argument(
            metavar="ID[@A]", help="The draft, and the version to compare from (12 or 12@2)."
        ),
    ],
    other: Annotated[
        str | None,
        typer.Argument(
            metavar="[@B]",
            help="The version to compare with (default: the latest); ID@B for another draft.",
        ),
    ] = None,
) -> None:
    """Show what changed between two versions of a draft.

    With only an ID: the previous version against the latest. ID@A: version A against
    the latest. ID@A @B: version A against version B; ID @B: version B against the one
    before it.

    On a terminal the diff is word by word (Chinese and Japanese character by
    character): deletions red and struck through, insertions green. Piped, it is a
    unified diff that patch and review tools read.

    Examples:

      quill drafts diff 12

      quill drafts diff 12@2 @5

      quill drafts diff 12@1 > changes.diff
    """
    unified_diff, word_diff = run.o.unified, run.o.word
    if unified_diff and word_diff:
        raise UsageError("--unified and --word contradict each other")
    env, store = open_store(run.env)
    did, a = parse_ref(ref)
    with store:
        d = find_draft(store, did)
        latest = d.latest.version if d.latest else d.versions
        if other is None:
            if a is None:
                if latest < 2:
                    raise UsageError(
                        f"draft {did} has only one version: nothing to compare",
                        hint=f"make another with: quill drafts revise {did} …, or: "
                        f"quill drafts open {did}",
                    )
                a = latest - 1
            od, b = did, None
        else:
            od, b = _other(other, did)
            if a is None and od == did:
                if b == 1:
                    raise UsageError(
                        f"version 1 is the first of draft {did}: nothing before it",
                        hint=f"compare it with a later one: quill drafts diff {did}@1",
                    )
                a = b - 1 if b is not None else latest
        va = find_version(store, d, a)
        od_draft = d if od == did else find_draft(store, od)
        vb = find_version(store, od_draft, b)
    name_a, name_b = f"draft-{did}@{va.version}", f"draft-{od}@{vb.version}"
    label = f"draft {did} v{va.version} → " + (
        f"v{vb.version}" if od == did else f"draft {od} v{vb.version}"
    )
    if va.content == vb.content:
        env.ui.note(f"{label}: no differences")
        return
    if unified_diff or (not env.stdout_tty and not word_diff):
        text = unified(va.content, vb.content, name_a, name_b, context=run.o.context)
        env.ui.note(label)
        emit(env, text, exact=True)
        return
    items = changes(va.content, vb.content)
    added, removed = words_changed(items)
    env.ui.note(f"{label}: +{added:,} −{removed:,} words")
    print_word_diff(env.ui, items)
