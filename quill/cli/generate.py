"""Run one generation to the terminal: spinner, streaming sink, loop guard, interrupts,
stats, and the notes that say why a text ended early."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

from quill.engine.base import Engine, Finish, Message, Piece, Result, Sampling, Stats
from quill.engine.loop import LoopDetector, guarded, stop_stream
from quill.env import Environment
from quill.errors import OutputError, Terminated
from quill.signals import SignalFlag


def check_out(out: str | None, force: bool) -> Path | None:
    """Refuse an existing --out before any work is done."""
    if out is None:
        return None
    p = Path(out).expanduser()
    if p.is_dir():
        raise OutputError(f"{p} is a directory", hint="pass a file name to --out")
    if p.exists() and not force:
        raise OutputError(f"{p} already exists")
    return p


def stream_to_terminal(
    env: Environment,
    engine: Engine,
    messages: list[Message],
    params: Sampling,
    *,
    plain: bool = False,
    transform: Callable[[Iterator[Piece]], Iterator[Piece]] | None = None,
) -> Result:
    """Stream a reply to stdout. Ctrl-C / SIGTERM end it early with finish='interrupted'
    (the partial text is kept in the Result); the caller decides the exit code."""
    ui = env.ui
    detector = LoopDetector()
    parts: list[str] = []
    stats = Stats()
    finish: Finish = "stop"
    signum = 0
    sink = None
    pieces = guarded(engine.stream(messages, params), detector)
    if transform is not None:
        pieces = transform(pieces)
    with SignalFlag() as flag:
        try:
            with ui.spinner("Thinking…"):
                piece = next(pieces, None)
            sink = ui.content_sink(plain)
            while piece is not None:
                if piece.text:
                    parts.append(piece.text)
                    sink.feed(piece.text)
                if piece.finish is not None:
                    finish = piece.finish
                    stats = piece.stats or stats
                    break
                if flag.raised:  # Ctrl-C / SIGTERM: stop the engine at this clean point
                    final = stop_stream(pieces, "interrupted")
                    finish, stats = "interrupted", final.stats or stats
                    break
                piece = next(pieces, None)
        except (KeyboardInterrupt, Terminated) as exc:  # a second signal, or one mid-prompt
            signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
            finish = "interrupted"
            stats = stop_stream(pieces, "interrupted").stats or stats
        finally:
            if sink is not None:
                sink.close()
        signum = signum or flag.signum
    text = "".join(parts)
    note = ""
    if finish == "loop" and detector.hit is not None:
        text = detector.kept_text()
        note = (
            f"stopped: the model began repeating itself ({detector.hit.repeats} copies "
            "of the same passage); the text before the loop is kept"
        )
    elif finish == "length":
        note = (
            f"stopped at the limit of {params.max_tokens} tokens; the text may end "
            "mid-sentence (raise --max-tokens for more)"
        )
    elif finish == "interrupted":
        note = "interrupted: the partial text is kept"
    if finish != "interrupted" and signum != signal.SIGTERM:
        signum = 0  # the text ended on its own just as Ctrl-C came: it is complete
    return Result(
        text=text,
        finish=finish,
        stats=stats,
        note=note,
        signal=int(signum),
    )
