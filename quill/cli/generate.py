"""What every writing command shares around its one generation: the --out check, the
draft it is saved as (with provenance, journaled while it streams), and the closing
report. The streaming itself is :func:`quill.render.live.stream_live`."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from quill import __version__
from quill.engine.base import Engine, Result, Sampling
from quill.env import Environment
from quill.errors import OutputError, UsageError
from quill.models.fingerprint import Fingerprint
from quill.render.live import report
from quill.store.db import Store
from quill.store.files import atomic_write_text, check_target
from quill.store.journal import DraftJournal


def check_out(out: str | None, force: bool) -> Path | None:
    """Refuse an existing --out before any work is done."""
    if out is None:
        return None
    p = Path(out).expanduser()
    check_target(p)
    if p.exists() and not force:
        raise OutputError(f"{p} already exists", hint="pass --force to replace it")
    return p


def fix_seed(params: Sampling) -> Sampling:
    """Pick the seed now when none was given, so the draft's provenance can repeat it."""
    if params.seed is not None:
        return params
    return params.with_(seed=secrets.randbelow(2**31))


def text_source(name: str, text: str, data: bytes | None = None) -> dict[str, Any]:
    """Provenance of an input: its path (absolute) or "stdin", sha256 and size."""
    digest = hashlib.sha256(data if data is not None else text.encode("utf-8")).hexdigest()
    path = "stdin" if name in ("-", "stdin") else str(Path(name).expanduser().resolve())
    return {"path": path, "sha256": digest, "chars": len(text)}


@dataclass(frozen=True)
class Keep:
    """How a generated text is kept: as a new draft, as the next version of
    ``draft_id``, or not at all (``--no-save``)."""

    save: bool = True
    draft_id: int | None = None
    title: str | None = None

    def open_store(self, env: Environment) -> Store | None:
        """The store, opened before the model loads (so a bad --draft fails fast)."""
        if not self.save:
            if self.draft_id is not None:
                raise UsageError("--draft and --no-save contradict each other")
            return None
        store = Store(env.paths.db_file)
        if self.draft_id is not None and store.draft(self.draft_id) is None:
            store.close()
            raise UsageError(
                f"there is no draft {self.draft_id}", hint="see them with: quill drafts list"
            )
        return store


class _ModelHash:
    """A listener that puts the model file's sha256 into the draft's provenance; it is
    hashed in the background while the model writes (once per file, then cached)."""

    def __init__(self, env: Environment, engine: Engine, journal: DraftJournal) -> None:
        self.journal = journal
        path = Path(engine.info.path)
        self.fp = Fingerprint(path, env.paths.cache_dir) if path.is_file() else None

    def on_text(self, text: str) -> None:
        pass

    def on_done(self, result: Result) -> None:
        if self.fp is not None:
            wait = 0.0 if result.finish == "interrupted" else 15.0  # Ctrl-C never waits
            self.journal.done_meta["model_sha256"] = self.fp.result(wait)


def start_draft(
    env: Environment,
    store: Store | None,
    keep: Keep,
    engine: Engine,
    params: Sampling,
    *,
    kind: str,
    request: dict[str, Any],
    note: str = "generated",
) -> tuple[DraftJournal | None, list[Any]]:
    """Write the request and its parameters as a 'streaming' draft version, before any
    token is generated; returns the journal and the listeners to attach."""
    if store is None:
        return None, []
    meta = {
        "command": kind,
        **request,
        "model": {
            "name": engine.info.name,
            "path": engine.info.path,
            "backend": engine.info.backend,
            "n_ctx": engine.info.n_ctx,
        },
        "sampling": asdict(params),
        "seed": params.seed,
        "quill": __version__,
    }
    journal = DraftJournal(
        store, draft_id=keep.draft_id, title=keep.title, kind=kind, note=note, meta=meta
    )
    return journal, [_ModelHash(env, engine, journal), journal]


def saved_line(journal: DraftJournal, result: Result) -> str:
    state = " (interrupted)" if result.finish == "interrupted" else ""
    return f"saved as {journal.label}{state}"


def conclude(
    env: Environment,
    result: Result,
    *,
    out_path: Path | None = None,
    force: bool = False,
    journal: DraftJournal | None = None,
    show_stats: bool = False,
) -> int:
    """After the text: write --out (atomically; partial text too, on Ctrl-C), then the
    one closing report. Returns the exit code (128 + signal when one ended it)."""

    saved: list[str] = []
    if out_path is not None and result.text.strip():
        text = result.text if result.text.endswith("\n") else result.text + "\n"
        try:
            atomic_write_text(out_path, text, force=force)  # no-replace checked at the rename
        except OutputError as exc:
            if journal is not None:  # the text is not lost: say where it is
                exc.hint = f"the text is saved as {journal.label}: quill drafts show " + str(
                    journal.draft_id
                )
            raise
        saved.append(f"saved to {out_path}")
    if journal is not None:
        saved.append(saved_line(journal, result))
    report(env.ui, result, saved=saved, show_stats=show_stats)
    return result.exit_code
