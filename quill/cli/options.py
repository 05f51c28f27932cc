"""Options shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        metavar="PATH|NAME",
        help="GGUF file or model name (default: QUILL_MODEL, config, built-in).",
    ),
]
CtxOpt = Annotated[
    str | None,
    typer.Option(
        "--ctx",
        metavar="N|auto",
        help="Context size in tokens, or auto: the largest that fits memory (default: the "
        "model's trained context, at most 8192).",
    ),
]
GpuOpt = Annotated[
    str | None,
    typer.Option(
        "--gpu-layers",
        metavar="auto|all|N",
        help="Layers to offload to the GPU (auto: as many as fit in free GPU memory).",
    ),
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", help="CPU threads (default: all usable cores).")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show llama.cpp's log.")]
TemperatureOpt = Annotated[
    float | None,
    typer.Option("--temperature", "-t", help="Sampling temperature; 0 is deterministic."),
]
TopPOpt = Annotated[float | None, typer.Option("--top-p", help="Nucleus sampling threshold.")]
MinPOpt = Annotated[float | None, typer.Option("--min-p", help="Minimum token probability.")]
RepeatOpt = Annotated[
    float | None, typer.Option("--repeat-penalty", help="Penalty for repeated tokens (1 = off).")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed, for repeatable output.")]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", help="Most tokens to generate.")]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset", metavar="precise|balanced|creative", help="Sampling preset (default: balanced)."
    ),
]
StatsOpt = Annotated[bool, typer.Option("--stats", help="Print token counts and speed on stderr.")]
PlainOpt = Annotated[bool, typer.Option("--plain", help="Raw text, no Markdown rendering.")]
OutOpt = Annotated[
    str | None,
    typer.Option("--out", "-o", metavar="FILE", help="Also write the text to FILE (atomically)."),
]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Overwrite --out if it exists.")]
DraftOpt = Annotated[
    int | None,
    typer.Option("--draft", metavar="ID", help="Save the result as the next version of draft ID."),
]
TitleOpt = Annotated[
    str | None,
    typer.Option("--title", help="Title of the new draft (default: derived from the text)."),
]
NoSaveOpt = Annotated[bool, typer.Option("--no-save", help="Do not keep the result as a draft.")]
ThreadsBatchOpt = Annotated[
    int | None,
    typer.Option("--threads-batch", help="CPU threads for prompt evaluation (default: --threads)."),
]
KvCacheOpt = Annotated[
    str | None,
    typer.Option(
        "--kv-cache",
        metavar="f16|q8_0|q4_0",
        help="KV cache type: q8_0 halves its memory, q4_0 quarters it (default: f16).",
    ),
]
ChatTemplateOpt = Annotated[
    str | None,
    typer.Option(
        "--chat-template",
        metavar="NAME|FILE",
        help="Chat template: a llama.cpp built-in name (chatml, llama3…), a Jinja file, or "
        "none for plain completion (default: the model's own).",
    ),
]
StyleOpt = Annotated[
    str | None,
    typer.Option(
        "--style", metavar="NAME", help="Write in a voice learned with `quill style learn`."
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        metavar="local|openai",
        help="local: the model runs in this process (default); openai: an OpenAI-compatible "
        "server at --base-url (QUILL_BACKEND).",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="The server for --backend openai, e.g. http://127.0.0.1:8080 (QUILL_BASE_URL).",
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        metavar="KEY",
        help="API key for the server (QUILL_API_KEY; safer than a flag).",
        show_default=False,
    ),
]
ParallelOpt = Annotated[
    int | None,
    typer.Option(
        "--parallel",
        metavar="N",
        help="Requests the server serves at once, where it does not say (QUILL_PARALLEL).",
    ),
]


def _remember_encoding(ctx: typer.Context, value: str | None) -> str | None:
    """Check the name and keep it for the input reader (quill.cli.inputs)."""
    import codecs

    from quill.cli.context import get_env
    from quill.cli.inputs import set_encoding

    if value:
        try:
            codecs.lookup(value)
        except LookupError:
            from quill.errors import UsageError

            raise UsageError(
                f"--encoding: unknown encoding `{value}`",
                hint="e.g. utf-8, gbk, big5, shift_jis, latin-1, cp1252",
            ) from None
    set_encoding(get_env(ctx), value)
    return value


EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        metavar="NAME",
        help="The input's text encoding when it is not UTF-8 (gbk, latin-1, cp1252…); "
        "UTF-8 and UTF-16/32 with a BOM are recognised without it.",
        callback=_remember_encoding,
    ),
]
