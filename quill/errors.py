"""Expected failures: each kind has its own exit code and a hint for the writer.

The CLI prints ``error: <message>`` and ``hint: <hint>`` on stderr and exits with
``exit_code``; it never shows a traceback for these unless QUILL_DEBUG=1.
"""

from __future__ import annotations


class QuillError(Exception):
    """Base class of every failure quill expects and explains."""

    exit_code = 1
    hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint


class UsageError(QuillError):
    """A flag, argument or value that quill cannot use."""

    exit_code = 2
    hint = "see `quill COMMAND --help`"


class InputError(QuillError):
    """Missing, empty or undecodable input (a file, stdin)."""

    exit_code = 3
    hint = "pass the text as an argument, a file, or on stdin"


class ModelNotFound(QuillError):
    """The model named by --model, QUILL_MODEL or the config cannot be found."""

    exit_code = 4
    hint = "run `quill models list` to see the models quill knows"


class ModelInvalid(QuillError):
    """A file that is not a usable GGUF model, or a damaged default model."""

    exit_code = 5
    hint = "check the file is a GGUF model (it starts with the bytes 'GGUF')"


class ModelLoadError(QuillError):
    """llama.cpp refused to load the model or create its context."""

    exit_code = 6
    hint = "try a smaller --ctx or --gpu-layers 0; `quill doctor` shows the set-up"


class ContextOverflow(QuillError):
    """The input does not fit the model's context window."""

    exit_code = 7
    hint = "raise --ctx, or shorten the input"


class OutputError(QuillError):
    """An output file exists or cannot be written."""

    exit_code = 8
    hint = "pass --force to overwrite, or choose another --out"


class BackendError(QuillError):
    """The generation backend failed while working."""

    exit_code = 9
    hint = "run with --verbose, or `quill doctor`"


class StoreError(QuillError):
    """The session/draft store cannot be opened or written."""

    exit_code = 10
    hint = "check the data directory shown by `quill doctor` is writable"


class SessionBusy(StoreError):
    """Another process is writing a reply in the same chat session."""


# Exit codes for interruption follow the shell convention 128 + signal number.
EXIT_INTERRUPTED = 130  # SIGINT
EXIT_TERMINATED = 143  # SIGTERM
EXIT_FLAGGED = 11  # `quill moderate` found something: an answer, not a failure

EXIT_CODES: list[tuple[int, str]] = [
    (0, "success"),
    (1, "unexpected internal error (a bug: please report it with QUILL_DEBUG=1 output)"),
    (UsageError.exit_code, "bad flag, argument or value"),
    (InputError.exit_code, "missing, empty or undecodable input"),
    (ModelNotFound.exit_code, "model not found"),
    (ModelInvalid.exit_code, "not a GGUF model, or the default model is damaged"),
    (ModelLoadError.exit_code, "llama.cpp could not load the model"),
    (ContextOverflow.exit_code, "input does not fit the context window"),
    (OutputError.exit_code, "output file exists or cannot be written"),
    (BackendError.exit_code, "generation backend failed"),
    (StoreError.exit_code, "session/draft store cannot be used, or a session is busy"),
    (EXIT_FLAGGED, "`quill moderate` flagged the text"),
    (EXIT_INTERRUPTED, "interrupted by Ctrl-C (partial text kept)"),
    (EXIT_TERMINATED, "terminated by SIGTERM (partial text kept)"),
]


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM so partial work is saved like on Ctrl-C."""
