"""The Environment travels in click's context object: main() builds it, tests pass their
own with ``CliRunner().invoke(app, args, obj=env)``."""

from __future__ import annotations

import typer

from quill.env import Environment


def get_env(ctx: typer.Context) -> Environment:
    root = ctx.find_root()
    if not isinstance(root.obj, Environment):
        root.obj = Environment()
    return root.obj
