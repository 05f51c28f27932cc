"""Persistence: atomic files, and the SQLite store of sessions and drafts."""
