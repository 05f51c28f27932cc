"""`quill completion bash|zsh|fish|powershell`: the shell's completion script."""

from __future__ import annotations

from typing import Annotated

import typer
from typer._completion_shared import get_completion_script

from quill.cli.context import get_env
from quill.errors import UsageError

SHELLS = ("bash", "zsh", "fish", "powershell")


def completion(
    ctx: typer.Context,
    shell: Annotated[str, typer.Argument(metavar="SHELL", help="bash, zsh, fish or powershell.")],
) -> None:
    """Print the completion script for SHELL; the shell runs quill to complete a word.

    Examples:

      quill completion bash >> ~/.bashrc

      quill completion zsh > "${fpath[1]}/_quill"

      quill completion fish > ~/.config/fish/completions/quill.fish
    """
    if shell not in SHELLS:
        raise UsageError(f"no completion for `{shell}`", hint="choose " + ", ".join(SHELLS))
    env = get_env(ctx)
    script = get_completion_script(prog_name="quill", complete_var="_QUILL_COMPLETE", shell=shell)
    env.stdout.write(script.rstrip("\n") + "\n")
