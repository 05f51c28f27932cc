"""In-process engine on llama.cpp through llama-cpp-python's low-level API.

One model load per process. The tokens held in the KV cache are remembered
(:mod:`quill.engine.kvcache`), so a new request that shares a prefix with the last one
(the next turn of a chat, a retry) evaluates only the tokens after the shared prefix; a
request that is the cached tokens with one span taken out (a chat whose oldest turns
left the context) keeps both sides and shifts the later part back in the KV cache
instead of evaluating it again. Each
generated token is turned into bytes once; an incremental UTF-8 decoder holds a
character split across tokens until it is complete, so nothing re-detokenizes the
completion.

Prompts are built by :mod:`quill.engine.tokens` (the whole rendered prompt tokenized as
the model expects, the writer's text never parsed as control tokens) from the template
:mod:`quill.engine.template` chooses; context size and GPU layers come from
:mod:`quill.engine.memory`.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import functools
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from quill.engine import memory, sampler
from quill.engine.base import (
    Message,
    ModelInfo,
    Piece,
    Result,
    Sampling,
    Stats,
    StopRequested,
    join,
)
from quill.engine.hardware import default_threads, lookup_default, use_extra_buffers
from quill.engine.kvcache import N_BATCH, KVCache
from quill.engine.prefix import MIN_TOKENS as PREFIX_MIN_TOKENS
from quill.engine.prefix import PrefixCache, shared_prefix
from quill.engine.sampler import Shaper
from quill.engine.steps import lookup_steps, plain_steps
from quill.engine.template import ChatTemplate, choose, warm
from quill.engine.tokens import (
    VOCAB_SPM,
    Prompter,
    Vocab,
    import_llama_cpp,
    llama_cpp_version,
    prefill_seam,
    settle,
    split_prefill,
)
from quill.errors import ContextOverflow, ModelLoadError, UsageError
from quill.models.gguf import read_info
from quill.signals import ABORT

__all__ = ["DEFAULT_CTX_CAP", "N_BATCH", "LlamaEngine", "import_llama_cpp"]

log = logging.getLogger("quill.llama")

DEFAULT_CTX_CAP = memory.DEFAULT_CTX_CAP


class _QuietAbort(logging.Filter):
    """llama.cpp logs an aborted decode as errors ("failed to compute graph", "failed to
    decode, ret = 2"); a stop the writer asked for is not one: those lines are shown
    with --verbose only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (ABORT.armed and ABORT.raised) or log.isEnabledFor(logging.DEBUG)


log.addFilter(_QuietAbort())


class LlamaEngine:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        n_ctx: int | str | None = None,
        gpu_layers: str | int | None = "auto",
        threads: int | None = None,
        threads_batch: int | None = None,
        kv_cache: str | None = None,
        cpu_repack: str | None = None,
        chat_template: str | None = None,
        name: str | None = None,
        lookup: int | None = None,
        prefix_dir: Path | None = None,
    ) -> None:
        lc = import_llama_cpp()
        # prompt lookup's draft length for requests that do not set Sampling.lookup
        self.lookup = lookup_default() if lookup is None else max(0, lookup)
        self._lc = lc
        lc.llama_backend_init()
        self.path = str(path)
        kv = kv_cache or "f16"
        if kv not in memory.KV_TYPES:
            raise UsageError(f"--kv-cache must be one of {', '.join(memory.KV_TYPES)}, not `{kv}`")
        gguf = read_info(self.path)
        supports_gpu = bool(lc.llama_supports_gpu_offload())
        shape = memory.shape_of(gguf, kv)
        mem = memory.probe(lc, supports_gpu)
        self.plan = memory.plan(
            shape, mem, ctx=n_ctx, gpu=gpu_layers, gpu_build=supports_gpu, kv_cache=kv
        )
        self.notes: list[str] = list(self.plan.notes)  # for the writer (stderr)
        self.warnings: list[str] = []

        mparams = lc.llama_model_default_params()
        mparams.n_gpu_layers = self.plan.gpu_layers
        mparams.use_extra_bufts = self.extra_buffers = use_extra_buffers(cpu_repack)
        # the model's chat template is compiled while llama.cpp loads the weights
        warming = None if chat_template else warm(gguf.metadata.get("tokenizer.chat_template"))
        model = lc.llama_model_load_from_file(self.path.encode(), mparams)
        if warming is not None:
            warming.join()
        if not model:
            raise ModelLoadError(f"llama.cpp could not load {self.path}")
        self._model = model
        self._vocab = lc.llama_model_get_vocab(model)
        n_layers = int(lc.llama_model_n_layer(model))
        n_train = int(lc.llama_model_n_ctx_train(model))
        ctx_size = self.plan.ctx
        threads = threads or default_threads()
        threads_batch = threads_batch or threads

        cparams = lc.llama_context_default_params()
        cparams.n_ctx = ctx_size
        cparams.n_batch = N_BATCH
        cparams.n_ubatch = N_BATCH
        cparams.n_threads = threads
        cparams.n_threads_batch = threads_batch
        cparams.type_k = cparams.type_v = memory.KV_TYPES[kv][0]
        # A quantized V cache needs flash attention; otherwise llama.cpp decides.
        cparams.flash_attn_type = (
            lc.LLAMA_FLASH_ATTN_TYPE_ENABLED if kv != "f16" else lc.LLAMA_FLASH_ATTN_TYPE_AUTO
        )
        cparams.no_perf = True
        ctx = lc.llama_init_from_model(model, cparams)
        if not ctx:
            lc.llama_model_free(model)
            raise ModelLoadError(
                f"llama.cpp could not create a context of {ctx_size} tokens "
                f"(KV cache {kv}) for {self.path}"
                + (
                    " (a quantized cache needs flash attention and head sizes that are a "
                    "multiple of 32)"
                    if kv != "f16"
                    else ""
                )
            )
        self._ctx = ctx
        # the model file's pages that loading read and copied (repacked, offloaded)
        # leave the resident set; those still read fault back from the page cache
        self.released_bytes = memory.drop_mapped_pages(self.path)

        self.vocab = Vocab(lc, self._vocab)
        raw = lc.llama_model_chat_template(model, None)
        self.template: ChatTemplate = choose(
            raw.decode("utf-8", "replace") if raw else None,
            override=chat_template,
            bos=self.vocab.special_text(self.vocab.bos),
            eos=self.vocab.special_text(self.vocab.eos),
            add_bos=bool(self.vocab.prefix),
        )
        if self.template.plain and not chat_template:
            self.warnings.append(
                f"{name or Path(self.path).stem} has no chat template: running it as plain "
                "text completion (a base model); --chat-template NAME|FILE sets one"
            )
        self._prompter = Prompter(self.vocab, None if self.template.plain else self.template.apply)
        # A SentencePiece vocabulary puts "▁" before the first word of a reply.
        self._strip_first = self.vocab.type == VOCAB_SPM and bool(
            gguf.metadata.get("tokenizer.ggml.add_space_prefix", True)
        )
        self.kv_cache = kv
        self.threads_batch = threads_batch
        # evaluated system prompts on disk (quill.engine.prefix), keyed by what their
        # KV cells depend on
        self._prefix_heads: dict[str, list[int]] = {}  # system prompt -> its tokens
        prefixes: PrefixCache | None = None
        if prefix_dir is not None:
            identity = (
                *PrefixCache.model_identity(self.path),
                kv,
                int(cparams.flash_attn_type),
                "repack" if self.extra_buffers else "plain",  # the kernels that computed them
                llama_cpp_version(),
                str(lc.llama_print_system_info()),
            )
            prefixes = PrefixCache(prefix_dir, identity)
        self._kv = KVCache(lc, ctx, prefixes)  # what the KV cache holds, and how prompts get in
        self.info = ModelInfo(
            name=name or Path(self.path).stem,
            path=self.path,
            n_ctx=int(lc.llama_n_ctx(ctx)),
            n_train_ctx=n_train,
            n_layers=n_layers,
            gpu_layers=min(self.plan.gpu_layers, n_layers + 1) if supports_gpu else 0,
            gpu_offload=supports_gpu,
            threads=threads,
            flash_attn="on" if kv != "f16" else "auto",
            chat_template=not self.template.plain,
            n_params=int(lc.llama_model_n_params(model)),
        )
        self._piece_buf = ctypes.create_string_buffer(256)
        self._bans: sampler.Bans | None = None  # prose's banned tokens, scanned once
        self._ends: list[int] | None = None  # the end-of-generation tokens, scanned once
        self._controls: list[int] | None = None  # and every control token (the floor)
        log.info(
            "context %d tokens, %d of %d layers on the GPU, KV cache %s, template %s",
            self.info.n_ctx,
            self.info.gpu_layers,
            n_layers + 1,
            kv,
            self.template.how,
        )

    def settings(self) -> dict[str, Any]:
        """The settings a run uses, as `quill bench --speed` shows them."""
        lc, i = self._lc, self.info
        system = lc.llama_print_system_info().decode("utf-8", "replace")
        backends = [part.split(" : ")[0].strip() for part in system.split("|") if " : " in part]
        return {
            "backend": "+".join(dict.fromkeys(b for b in backends if b)) or "CPU",
            "threads": int(lc.llama_n_threads(self._ctx)),
            "threads_batch": int(lc.llama_n_threads_batch(self._ctx)),
            "n_batch": int(lc.llama_n_batch(self._ctx)),
            "n_ubatch": int(lc.llama_n_ubatch(self._ctx)),
            "gpu_layers": i.gpu_layers,
            "layers": i.n_layers + 1,  # the output layer counts as one, as llama.cpp counts
            "gpu_offload": i.gpu_offload,
            "flash_attn": i.flash_attn,
            "kv_cache": self.kv_cache,
            "n_ctx": i.n_ctx,
            "cpu_repack": self.extra_buffers,
            "prompt_lookup": self.lookup,
        }

    # -- tokens ---------------------------------------------------------------

    def tokenize(self, text: str, *, special: bool = False, add_bos: bool = False) -> list[int]:
        return self.vocab.tokenize(text, add_special=add_bos, parse_special=special)

    def token_bytes(self, token: int, lstrip: int = 0) -> bytes:
        buf = self._piece_buf
        n = self._lc.llama_token_to_piece(self._vocab, token, buf, len(buf), lstrip, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lc.llama_token_to_piece(self._vocab, token, buf, len(buf), lstrip, False)
        return buf.raw[:n]

    def count(self, text: str) -> int:
        return len(self.tokenize(text))

    def count_messages(self, messages: list[Message]) -> int:
        return len(self.render(messages))

    def render(self, messages: list[Message]) -> list[int]:
        """The prompt tokens: the chat template applied and the whole text tokenized at
        once, as the model expects; message contents never become control tokens."""
        return self._prompter.tokens(messages)

    def prompt_text(self, messages: list[Message]) -> str:
        return self._prompter.text(messages)

    # -- generation -----------------------------------------------------------

    def _sampler(self, p: Sampling) -> Any:
        """The sampler chain for one request (:func:`quill.engine.sampler.chain`)."""
        return sampler.chain(self._lc, self._vocab, self.info.n_ctx, p)

    @property
    def _tokens(self) -> list[int]:
        """The tokens the KV cache holds, in order (the list itself: the token loops in
        :mod:`quill.engine.steps` extend and cut it as they decode)."""
        return self._kv.tokens

    def _eval(self, tokens: list[int]) -> bool:
        """Evaluate ``tokens`` after what the cache holds (:meth:`KVCache.eval`)."""
        return self._kv.eval(tokens)

    def stream(self, messages: list[Message], params: Sampling) -> Iterator[Piece]:
        """The reply to ``messages``; where the last message is the assistant's, the
        continuation of that reply's start (a prefill), without the start itself."""
        history, prefill = split_prefill(messages)
        head, owed = prefill_seam(prefill)
        if not head:
            prompt = self.render(history)
            return self.stream_tokens(prompt, params, prefix=self._prefix_len(history, prompt))
        prompt = self.render([*history, Message("assistant", head)])
        prefix = self._prefix_len(history, prompt)
        # a heading's or a field's value ("# ", "Subject: ") starts as a title does
        titled = head.rstrip().endswith(("#", ":"))
        tokens = self.stream_tokens(
            prompt, params, continuing=True, lead=owed, prefix=prefix, titled=titled
        )
        return settle(tokens, owed)

    def _prefix_len(self, history: list[Message], prompt: list[int]) -> int:
        """How many leading tokens of ``prompt`` are its system prompt's (and the
        template's around it), where that is long enough to keep on disk; else 0. Found
        as the tokens that two prompts with other user texts share."""
        if not history or history[0].role != "system":
            return 0
        system = history[0]
        head = self._prefix_heads.get(system.content)
        if head is None:
            a, b = (self.render([system, Message("user", t)]) for t in ("a", "b"))
            head = self._prefix_heads[system.content] = a[: shared_prefix(a, b)]
        n = shared_prefix(head, prompt)
        return n if PREFIX_MIN_TOKENS <= n < len(prompt) else 0

    def stream_tokens(
        self,
        prompt: list[int],
        params: Sampling,
        *,
        continuing: bool = False,
        lead: str = "",
        prefix: int = 0,
        titled: bool = False,
    ) -> Iterator[Piece]:
        """Generate after ``prompt`` (whose first ``prefix`` tokens are loaded from or
        saved to the prefix files, :mod:`quill.engine.prefix`); ``continuing``: the
        prompt ends inside the reply (a prefill), so its first token is not the start of a
        text; ``lead``: the text its first token must begin with (the spaces a prefill
        owes, :func:`prefill_seam`: after "#" a model free to choose wrote "LinenShirt", a
        hashtag, where "# Linen Shirt" was meant); ``titled``: what follows the lead is a
        title, whose first letter is not a small one (:func:`sampler.first_token`)."""
        n_ctx = self.info.n_ctx
        if len(prompt) >= n_ctx:
            raise ContextOverflow(f"the prompt is {len(prompt)} tokens; the context holds {n_ctx}")
        return self._generate(prompt, params, continuing, lead, prefix, titled)

    def _generate(
        self,
        prompt: list[int],
        params: Sampling,
        continuing: bool = False,
        lead: str = "",
        prefix: int = 0,
        titled: bool = False,
    ) -> Iterator[Piece]:
        lc = self._lc
        stats = Stats(prompt_tokens=len(prompt))
        t0 = time.perf_counter()
        reused = self._kv.reuse(prompt)
        if reused == 0 < prefix < len(prompt):
            reused = self._kv.load_prefix(prompt[:prefix])
        stats.evaluated_tokens = len(prompt) - reused
        chain = self._sampler(params)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        finish = "length"
        t_first = t_last = t0
        steps: Iterator[int] | None = None
        try:
            evaluated = self._kv.eval(prompt[len(self._tokens) :])
            stats.prompt_s = time.perf_counter() - t0
            if not evaluated:  # a signal stopped the prompt evaluation
                yield Piece("", finish="interrupted", stats=stats)
                return
            room = self.info.n_ctx - len(self._tokens)
            budget = min(params.max_tokens, room)
            if room < params.max_tokens:
                finish = "context"  # the context fills before --max-tokens is reached
            vocab, is_eog, token_bytes = self._vocab, lc.llama_vocab_is_eog, self.token_bytes
            strip = self._strip_first and not continuing
            draft = self.lookup if params.lookup is None else max(0, params.lookup)
            shape = self._shaper(params, continuing, prompt)
            first = functools.partial(self._first, chain, lead, params, shape, titled)
            if draft > 0 and budget > 1:
                steps = lookup_steps(
                    lc,
                    self._ctx,
                    self._kv.mem,
                    vocab,
                    self._tokens,
                    chain,
                    first,
                    prompt,
                    draft,
                    budget,
                    stats,
                    shape,
                )
            else:
                steps = plain_steps(lc, self._ctx, self._kv.mem, self._tokens, chain, first, shape)
            for i, tok in enumerate(steps):
                if is_eog(vocab, tok):
                    finish = "stop"
                    break
                text = decoder.decode(token_bytes(tok, 1 if i == 0 and strip else 0))
                t_last = time.perf_counter()
                if i == 0:
                    t_first = t_last
                    stats.ttft_s = t_first - t0
                stats.generated_tokens += 1
                if text:
                    try:
                        yield Piece(text)
                    except StopRequested as stop:
                        finish = stop.reason
                        break
                if i + 1 == budget:
                    break  # the last token need not be evaluated
            tail = decoder.decode(b"", final=True)
            stats.gen_s = t_last - t_first
            yield Piece(tail, finish=finish, stats=stats)  # type: ignore[arg-type]
        finally:
            if steps is not None:
                steps.close()  # type: ignore[attr-defined]
            lc.llama_sampler_free(chain)

    def _first(
        self, chain: Any, lead: str, params: Sampling, shape: Shaper | None, titled: bool = False
    ) -> int:
        """The first token (:func:`quill.engine.sampler.first_token`)."""
        lc, ctx, vocab = self._lc, self._ctx, self._vocab
        if shape is not None:
            shape.apply(-1)
        return sampler.first_token(
            lc, ctx, vocab, chain, lead, params, self.token_bytes, titled=titled
        )

    def _shaper(self, params: Sampling, continuing: bool, prompt: list[int]) -> Shaper | None:
        """The request's logit shaping (:class:`quill.engine.sampler.Shaper`), or None
        where it asks for none. The vocabulary is scanned for prose's bans once."""
        shaped = params.prose or params.native or params.end_after > 0 or params.min_words > 0
        if not shaped:
            return None
        lc, vocab = self._lc, self._vocab
        n_vocab = lc.llama_vocab_n_tokens(vocab)
        if (params.prose or params.min_words > 0) and self._bans is None:
            self._bans = sampler.bans(n_vocab, self.token_bytes)
        return Shaper(
            lc,
            self._ctx,
            n_vocab,
            self.end_tokens,
            params,
            self._bans,
            self.token_bytes,
            continuing=continuing,
            controls=self.control_tokens,
            prompt_text=self._native_words(params, prompt),
        )

    def _native_words(self, params: Sampling, prompt: list[int]) -> bytes:
        """The text whose words a native reply may begin in small Latin letters."""
        if not params.native:
            return b""
        if params.native_words is not None:
            return params.native_words.encode()
        return b"".join(map(self.token_bytes, prompt))

    def end_tokens(self) -> list[int]:
        """Every token that ends a reply (llama.cpp's end-of-generation set), scanned
        once. Not only EOS and EOT: with its <|im_end|> ruled out, the 1.5B ended a
        summary with <|endoftext|>, which ends a reply as well."""
        if self._ends is None:
            lc, vocab = self._lc, self._vocab
            n_vocab = lc.llama_vocab_n_tokens(vocab)
            self._ends = [t for t in range(n_vocab) if lc.llama_vocab_is_eog(vocab, t)]
        return self._ends

    def control_tokens(self) -> list[int]:
        """Every control token and end-of-generation token (turn markers, fill-in-the-
        middle markers…), scanned once: none is text, and a reply that writes one has
        ended or left its turn."""
        if self._controls is None:
            lc, vocab = self._lc, self._vocab
            n_vocab = lc.llama_vocab_n_tokens(vocab)
            ends = set(self.end_tokens())
            self._controls = [
                t for t in range(n_vocab) if t in ends or lc.llama_vocab_is_control(vocab, t)
            ]
        return self._controls

    def reset(self) -> None:
        """Forget the KV cache: the next prompt is evaluated in full."""
        self._kv.clear()

    def complete(self, messages: list[Message], params: Sampling) -> Result:
        return join(self.stream(messages, params))

    def close(self) -> None:
        lc = self._lc
        if getattr(self, "_ctx", None):
            lc.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "_model", None):
            lc.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order varies
        with contextlib.suppress(Exception):
            self.close()
