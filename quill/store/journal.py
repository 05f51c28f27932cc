"""Journals: a generation's text kept on disk while it streams.

A journal is a listener of :class:`quill.engine.generation.Generation`. Its record (a
chat reply, a draft version) is inserted as 'streaming' before the first token, with the
request's parameters; the text so far is saved every ``interval`` seconds or ``every``
pieces, whichever comes first; at the end the record gets its final text and is marked
'complete' or 'interrupted'. A process killed mid-generation loses at most the text of
the last ``interval`` (0.25 s by default): opening the store later marks the record
interrupted and keeps the rest.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from quill.engine.base import Result, Stats
from quill.store.drafts import DraftVersion, derive_title

if TYPE_CHECKING:
    from quill.store.db import Store, Turn

FLUSH_INTERVAL_S = 0.25
FLUSH_EVERY = 64


class Journal:
    """The flushing logic shared by every journal; subclasses say where text goes."""

    def __init__(self, *, interval: float = FLUSH_INTERVAL_S, every: int = FLUSH_EVERY) -> None:
        self.interval = interval
        self.every = every
        self.parts: list[str] = []
        self._saved_parts = 0
        self._last = time.monotonic()
        self.closed = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, text: str) -> None:
        if not text:
            return
        self.parts.append(text)
        now = time.monotonic()
        if now - self._last >= self.interval or len(self.parts) - self._saved_parts >= self.every:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if self.closed or self._saved_parts == len(self.parts):
            return
        self._save(self.text)
        self._saved_parts = len(self.parts)
        self._last = now if now is not None else time.monotonic()

    # Generation listener protocol
    def on_text(self, text: str) -> None:
        self.feed(text)

    def on_done(self, result: Result) -> None:
        status = "interrupted" if result.finish == "interrupted" else "complete"
        self.finish(result.text, status=status, finish=result.finish, stats=result.stats)

    def finish(
        self, text: str, *, status: str, finish: str | None, stats: Stats | None = None
    ) -> None:
        if self.closed:
            return
        self._finish(text, status, finish, stats)
        self.closed = True

    def _save(self, text: str) -> None:
        raise NotImplementedError

    def _finish(self, text: str, status: str, finish: str | None, stats: Stats | None) -> None:
        raise NotImplementedError


class ReplyJournal(Journal):
    """A chat reply: an assistant turn of ``session_id``."""

    def __init__(
        self,
        store: Store,
        session_id: int,
        *,
        model: str | None = None,
        turn: Turn | None = None,
        interval: float = FLUSH_INTERVAL_S,
        every: int = FLUSH_EVERY,
    ) -> None:
        super().__init__(interval=interval, every=every)
        self.store = store
        self.turn = turn or store.add_turn(
            session_id, "assistant", "", status="streaming", model=model
        )

    def _save(self, text: str) -> None:
        self.store.journal(self.turn.id, text)

    def _finish(self, text: str, status: str, finish: str | None, stats: Stats | None) -> None:
        self.store.finish_turn(self.turn.id, text, status=status, finish=finish, stats=stats)


def stats_meta(stats: Stats | None) -> dict[str, Any]:
    if stats is None:
        return {}
    return {
        "prompt_tokens": stats.prompt_tokens,
        "cached_tokens": stats.cached_tokens,
        "generated_tokens": stats.generated_tokens,
        "ttft_ms": round(stats.ttft_s * 1000, 1),
        "tokens_per_s": round(stats.tokens_per_s, 2),
    }


class DraftJournal(Journal):
    """A generated text kept as a draft version: a new draft, or with ``draft_id`` the
    next version of that one. ``meta`` (the provenance) is written with the request,
    before generation starts; ``done_meta`` adds what is known only at the end."""

    def __init__(
        self,
        store: Store,
        *,
        draft_id: int | None = None,
        title: str | None = None,
        kind: str = "draft",
        note: str = "generated",
        meta: dict[str, Any] | None = None,
        interval: float = FLUSH_INTERVAL_S,
        every: int = FLUSH_EVERY,
    ) -> None:
        super().__init__(interval=interval, every=every)
        self.store = store
        self.started = time.time()
        self.title_given = title is not None
        self.done_meta: dict[str, Any] = {}
        if draft_id is None:
            self.version: DraftVersion = store.create_draft(
                title or "(untitled)",
                "",
                kind=kind,
                note=note,
                meta=meta,
                status="streaming",
                finish=None,
                title_fixed=title is not None,
            )
        else:
            self.version = store.add_draft_version(
                draft_id, "", note, meta=meta, status="streaming", finish=None, title=title
            )

    @property
    def draft_id(self) -> int:
        return self.version.draft_id

    @property
    def label(self) -> str:
        return f"draft {self.version.draft_id} v{self.version.version}"

    def _save(self, text: str) -> None:
        self.store.journal_version(self.version.row_id, text)

    def _finish(self, text: str, status: str, finish: str | None, stats: Stats | None) -> None:
        meta = {
            **self.done_meta,
            "finish": finish,
            "elapsed_s": round(time.time() - self.started, 2),
        }
        if stats is not None:
            meta["stats"] = stats_meta(stats)
        title = None if self.title_given or not text.strip() else derive_title(text)
        self.store.finish_version(
            self.version.row_id, text, status=status, finish=finish, meta=meta, title=title
        )
