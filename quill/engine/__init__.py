"""Generation backends behind one protocol (see base.Engine)."""

from quill.engine.base import Engine, Message, ModelInfo, Piece, Result, Sampling, Stats

__all__ = ["Engine", "Message", "ModelInfo", "Piece", "Result", "Sampling", "Stats"]
