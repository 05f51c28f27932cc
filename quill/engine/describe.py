"""What a GGUF file is and whether quill can run it, without loading its weights.

``describe`` reads the header (architecture, size, quantization, context, the tensor
table) and decides the chat template the engine would use; ``check`` also has llama.cpp
read the vocabulary (which validates the architecture and hyperparameters) and refuses a
file that could not run, saying why. Used by `quill models add|list` and `quill doctor`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from quill.engine.template import ChatTemplate, TemplateUnsafe, choose
from quill.errors import ModelInvalid, ModelLoadError
from quill.models.gguf import GGUFInfo, read_info

log = logging.getLogger("quill.llama")


@dataclass
class Description:
    info: GGUFInfo
    template: ChatTemplate | None
    template_error: str = ""
    vocab: str = ""  # SPM, BPE… where llama.cpp read the vocabulary

    @property
    def params(self) -> str:
        label = self.info.metadata.get("general.size_label")
        if isinstance(label, str) and label:
            return label
        n = self.info.n_params
        return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"

    @property
    def template_label(self) -> str:
        if self.template is None:
            return "refused" if self.template_error else "?"
        t = self.template
        if t.kind == "builtin":
            return f"{t.name} (built-in)"
        if t.kind == "none":
            return "none (plain completion)"
        return "own (Jinja)" if t.name == "jinja" else t.name

    def lines(self) -> list[str]:
        i = self.info
        ctx = f"{i.context_length:,}" if i.context_length else "?"
        out = [
            f"architecture {i.architecture}, {self.params} parameters, {i.quantization}, "
            f"{i.size / 1e9:.2f} GB, trained context {ctx} tokens"
            + (f", {self.vocab} vocabulary" if self.vocab else ""),
        ]
        if self.template is not None:
            out.append(f"chat template: {self.template.how}")
        elif self.template_error:
            out.append(f"chat template: refused ({self.template_error})")
        return out


def _template(
    info: GGUFInfo, override: str | None, bos: str, eos: str, add_bos: bool
) -> tuple[ChatTemplate | None, str]:
    try:
        return choose(info.chat_template, override=override, bos=bos, eos=eos, add_bos=add_bos), ""
    except TemplateUnsafe as exc:
        return None, exc.message
    except ModelInvalid as exc:
        return None, exc.message


def describe(path: str | Path, *, override: str | None = None) -> Description:
    """The header and the template choice, from the file alone (no llama.cpp load)."""
    info = read_info(path)
    m = info.metadata
    bos_id = m.get("tokenizer.ggml.bos_token_id")
    eos_id = m.get("tokenizer.ggml.eos_token_id")
    ids = [x for x in (bos_id, eos_id) if isinstance(x, int)]
    texts = info.token_texts(ids) if ids else {}
    bos = texts.get(bos_id, "") if isinstance(bos_id, int) else ""
    eos = texts.get(eos_id, "") if isinstance(eos_id, int) else ""
    add_bos = m.get("tokenizer.ggml.add_bos_token")
    if add_bos is None:  # llama.cpp's default: SentencePiece and WordPiece vocabularies add it
        add_bos = m.get("tokenizer.ggml.model") in ("llama", "bert", "t5")
    template, error = _template(info, override, bos, eos, bool(add_bos))
    return Description(info, template, error)


def check(path: str | Path, *, override: str | None = None) -> Description:
    """Like ``describe``, with llama.cpp reading the vocabulary; ModelInvalid, with the
    reason, for a file quill could not run."""
    from quill.engine.tokens import VocabModel

    info = read_info(path)
    p = info.path
    problem = info.problem()
    if problem:
        hint = (
            "the download may have been cut short: fetch the file again"
            if "truncated" in problem
            else "quill runs GGUF model files with their weights, as llama.cpp writes them"
        )
        raise ModelInvalid(f"{p} is not a usable model: {problem}", hint=hint)
    from quill.config import resolve_paths
    from quill.models.probe import ensure_loadable

    ensure_loadable(p, resolve_paths().cache_dir)  # a file that crashes llama.cpp: refused
    errors = _Capture()
    log.addHandler(errors)
    try:
        vm = VocabModel(p)
    except ModelLoadError as exc:
        why = errors.last or exc.message
        raise ModelInvalid(f"{p} is not a usable model: llama.cpp cannot read it ({why})") from exc
    finally:
        log.removeHandler(errors)
    with vm:
        v = vm.vocab
        template, error = _template(
            info, override, v.special_text(v.bos), v.special_text(v.eos), bool(v.prefix)
        )
        d = Description(info, template, error, v.type_name)
    if error:
        raise ModelInvalid(
            f"{p}: {error}", hint="a model whose template is refused cannot be added"
        )
    return d


class _Capture(logging.Handler):
    """Keeps llama.cpp's last error message (why a load failed)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage().strip()
        if msg:
            self.last = msg.split(": ", 1)[-1] if msg.startswith("llama_model_load") else msg
