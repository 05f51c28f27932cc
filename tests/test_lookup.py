"""Prompt-lookup decoding: the drafter on its own (plain token lists), and on the real
0.5B model the one property that matters: the output is plain decoding's, token for
token (at temperature 0, and above 0 with a fixed seed, where batched and one-token
decodes compute the same numbers), the KV cache left consistent for the next request,
and the setting that turns it off."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from pathlib import Path

import pytest

from quill.engine.base import Message, Sampling
from quill.engine.hardware import lookup_default
from quill.engine.lookup import DEFAULT_DRAFT, Drafter, last_message_start
from quill.engine.steps import plain_steps
from quill.errors import BackendError, UsageError

# -- the drafter ---------------------------------------------------------------------


def test_draft_copies_what_followed_the_last_ngram() -> None:
    d = Drafter([1, 2, 3, 4, 5, 6, 7, 8, 9])
    d.extend([0, 3, 4])  # "3 4" occurred before, followed by 5 6 7…
    assert d.draft(3) == [5, 6, 7]
    assert d.draft(100) == [5, 6, 7, 8]  # a first draft: 4 tokens at most


def test_draft_length_follows_acceptance() -> None:
    d = Drafter(list(range(100, 140)))
    d.extend([100, 101])
    assert len(d.draft(100)) == 4
    d.verdict(4, 4)  # accepted whole: twice as long next time
    assert len(d.draft(100)) == 8
    d.verdict(8, 3)  # a partial acceptance: what was kept, plus one
    assert len(d.draft(100)) == 4
    d.verdict(4, 0)  # rejected: half
    assert len(d.draft(100)) == 2
    assert len(d.draft(1)) == 1  # the caller's limit holds too


def test_no_draft_without_a_match_or_a_limit() -> None:
    d = Drafter([1, 2, 3, 4, 5])
    d.append(9)
    assert d.draft(5) == []  # "5 9" never occurred
    d.append(1)
    assert d.draft(5) == []  # a single token is too weak a cue
    d.append(2)
    assert d.draft(0) == []
    assert d.draft(2) == [3, 4]


def test_the_longest_ngram_wins_over_a_more_recent_shorter_one() -> None:
    #            0  1  2  3   4  5  6  7   8  9
    d = Drafter([7, 1, 2, 3, 40, 9, 2, 3, 50, 60])
    d.extend([1, 2, 3])  # "1 2 3" at 1..3 (then 40); "2 3" last at 6..7 (then 50)
    assert d.draft(2) == [40, 9]


def test_the_most_recent_occurrence_is_used() -> None:
    d = Drafter([5, 6, 1, 8, 5, 6, 2, 8])
    d.extend([5, 6])
    assert d.draft(1) == [2]


def test_a_draft_follows_its_source_while_the_text_does() -> None:
    # the sentence being copied: 10 11 12 13 14 15 16 17 18 19
    prompt = [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 2]
    d = Drafter(prompt)
    d.extend([10, 11])
    assert d.draft(3) == [12, 13, 14]
    d.verdict(3, 3)
    d.extend([12, 13, 14, 15])  # the accepted run and the token sampled after it
    assert d.draft(3) == [16, 17, 18]


def test_a_match_in_the_last_message_comes_before_a_longer_one_earlier() -> None:
    """A proofread prompt: an example reply "1 2 30" after the reply marker "8 9", and
    the sentence "1 2 40" in the last message, from position 6 on. A reply "1 2" after
    the marker matches the example four tokens long and the sentence two tokens long:
    the sentence, which the reply copies, is followed."""
    #            0  1  2  3   4  5  6  7  8   9
    prompt = [5, 8, 9, 1, 2, 30, 6, 1, 2, 40]
    d = Drafter(prompt, focus=6)
    d.extend([8, 9, 1, 2])  # "8 9 1 2" occurred in the example (then 30)
    assert d.draft(1) == [40]  # "1 2" in the last message (then 40) comes first
    plain = Drafter(prompt)
    plain.extend([8, 9, 1, 2])
    assert plain.draft(1) == [30]  # without a focus, the longest match wins


def test_a_draft_stops_before_an_end_token() -> None:
    # the sentence 10 11 12, then the template's end (2) and the next turn (3 4)
    d = Drafter([1, 10, 11, 12, 2, 3, 4], is_end=lambda t: t == 2)
    d.extend([10, 11])
    assert d.draft(5) == [12]  # not the end token, nor what follows it
    d.append(12)
    assert d.draft(5) == []  # the end itself is sampled, not drafted


def test_after_a_replaced_token_the_draft_goes_on_after_it_once() -> None:
    # the sentence 10 11 12 13 14 15 16 in the last message
    prompt = [1, 10, 11, 12, 13, 14, 15, 16, 2]
    d = Drafter(prompt, focus=1)
    d.extend([10, 11])
    assert d.draft(3) == [12, 13, 14]
    d.verdict(3, 1)  # 12 kept, then the model wrote 50 where 13 was drafted
    d.extend([12, 50])
    assert d.draft(3) == [14, 15]  # what followed 13 (a first draft after: 2 tokens)
    d.verdict(2, 0)  # wrong (the model inserted a token): no second guess
    d.append(51)
    assert d.draft(3) == []


def test_the_last_message_starts_after_the_last_long_run_between_markers() -> None:
    # ChatML's shape: <s> system text <e> \n <s> user\n text text text <e> \n <s> assistant \n
    S, E = 100, 101
    prompt = [S, 1, 2, 3, 4, E, 9, S, 5, 9, 6, 7, 8, E, 9, S, 20, 9]
    assert last_message_start(prompt, lambda t: t >= 100) == 8
    assert last_message_start([1, 2, 3], lambda t: t >= 100) == 0  # no markers


def test_backs_off_after_drafts_rejected_in_a_row() -> None:
    d = Drafter([1, 2, 3, 4, 1, 2, 3, 4])
    d.extend([1, 2])
    assert d.draft(2)
    d.verdict(2, 0)  # one rejection: no pause
    assert d.draft(2)
    d.verdict(2, 0)  # two in a row: the next two tokens go without a draft
    assert d.draft(2) == []
    d.append(3)
    assert d.draft(2) == []
    d.append(4)
    assert d.draft(2) == [1, 2]
    d.verdict(2, 1)  # anything accepted ends the pause
    assert d.draft(2)
    assert (d.drafts, d.accepted) == (4, 1)


def test_lookup_setting_from_the_environment() -> None:
    assert lookup_default({}) == DEFAULT_DRAFT
    assert lookup_default({"QUILL_LOOKUP": "off"}) == 0
    assert lookup_default({"QUILL_LOOKUP": "0"}) == 0
    assert lookup_default({"QUILL_LOOKUP": "4"}) == 4
    assert lookup_default({"QUILL_LOOKUP": "on"}) == DEFAULT_DRAFT
    with pytest.raises(UsageError):
        lookup_default({"QUILL_LOOKUP": "fast"})


def test_sampling_lookup_defaults_to_the_engines_choice() -> None:
    assert Sampling().lookup is None
    assert Sampling().with_(lookup=0).lookup == 0


# -- a decode that fails --------------------------------------------------------------------


class _FailingLlama:
    """The few calls of llama-cpp-python's low-level module the token loops make: the
    ``fail_at``-th decode fails; the cache is a list of positions."""

    llama_token = ctypes.c_int32

    def __init__(self, fail_at: int) -> None:
        self.fail_at, self.decodes, self.cache = fail_at, 0, [0, 1, 2]

    def llama_batch_get_one(self, arr: object, n: int) -> int:
        return n

    def llama_decode(self, ctx: object, n: int) -> int:
        self.decodes += 1
        if self.decodes == self.fail_at:
            self.cache += [99, 98]  # a failed decode may leave cells behind
            return 1
        self.cache += [len(self.cache)] * n
        return 0

    def llama_sampler_sample(self, chain: object, ctx: object, i: int) -> int:
        return 7

    def llama_memory_seq_rm(self, mem: object, seq: int, p0: int, p1: int) -> bool:
        del self.cache[p0:]
        return True

    def llama_memory_clear(self, mem: object, data: bool) -> None:
        self.cache.clear()


def test_a_failed_decode_leaves_the_cache_as_the_engine_lists_it() -> None:
    lc = _FailingLlama(fail_at=2)
    tokens = [1, 2, 3]
    steps = plain_steps(lc, None, None, tokens, None, lambda: 5, None)
    assert [next(steps), next(steps)] == [5, 7]
    with pytest.raises(BackendError, match="llama_decode failed"):
        next(steps)
    assert tokens == [1, 2, 3, 5] and len(lc.cache) == len(tokens)


# -- on the real model -------------------------------------------------------------------

PROOF_SYSTEM = (
    "You are a careful proofreader. Correct only spelling, grammar and punctuation; "
    "copy everything else exactly. Reply with the corrected text only."
)
PROOF_TEXT = (
    "Their are many reasons why the old lighthouse on the northern cliff was abandonned "
    "in 1952, but the most important one is that the keeper could no longer reach it "
    "safely during the winter storms. The villagers still remember the the night when "
    "the lamp went out for good, and many of them says the light can be seen on clear "
    "nights even now."
)
PROOF = [Message("system", PROOF_SYSTEM), Message("user", PROOF_TEXT)]
FREE = [Message("user", "Write a short story about a cat who is afraid of the dark.")]


@pytest.fixture(scope="module")
def exact_engine(default_model: Path) -> Iterator[object]:
    """The 0.5B without llama.cpp's repacked CPU weights: there a batch of tokens is
    computed with the same kernels as one token, so batched verification sees exactly
    the numbers plain decoding sees (with repacking, batches of 4+ rows run another
    matrix kernel and logits differ in the last digits: see docs/speed.md)."""
    from quill.engine.llama import LlamaEngine

    mp = pytest.MonkeyPatch()
    mp.setenv("QUILL_CPU_EXTRA_BUFFERS", "0")
    try:
        engine = LlamaEngine(default_model, n_ctx=2048)
    finally:
        mp.undo()
    assert engine.extra_buffers is False
    yield engine
    engine.close()


def generate(engine: object, messages: list[Message], params: Sampling) -> tuple[str, list[int]]:
    """The text and the generated tokens (what the KV cache holds after the prompt; the
    last token, never evaluated, is covered by the text)."""
    engine.reset()  # type: ignore[attr-defined]
    result = engine.complete(messages, params)  # type: ignore[attr-defined]
    n = result.stats.prompt_tokens
    return result.text, list(engine._tokens[n:]), result.stats  # type: ignore[attr-defined,return-value]


@pytest.mark.model
def test_lookup_is_plain_decoding_token_for_token(exact_engine: object) -> None:
    params = Sampling(temperature=0.0, repeat_penalty=1.12, seed=0, max_tokens=120)
    text, toks, _ = generate(exact_engine, PROOF, params.with_(lookup=0))
    text_l, toks_l, stats = generate(exact_engine, PROOF, params.with_(lookup=10))
    assert stats.drafted_tokens > 0 and stats.accepted_tokens > 20  # it did draft, and copy
    assert text_l == text
    n = min(len(toks), len(toks_l))
    assert n >= len(toks) - 1 and toks_l[:n] == toks[:n]


@pytest.mark.model
@pytest.mark.parametrize("messages", [PROOF, FREE], ids=["proofread", "free"])
def test_above_temperature_zero_the_draws_are_the_same(
    exact_engine: object, messages: list[Message]
) -> None:
    """Each position is sampled with the real chain, one random draw per token, as plain
    decoding does: with the same seed, the same text."""
    params = Sampling(temperature=0.8, top_p=0.95, min_p=0.05, seed=11, max_tokens=80)
    text, toks, _ = generate(exact_engine, messages, params.with_(lookup=0))
    text_l, toks_l, stats = generate(exact_engine, messages, params.with_(lookup=8))
    assert stats.drafted_tokens > 0
    assert text_l == text
    n = min(len(toks), len(toks_l))
    assert toks_l[:n] == toks[:n]


@pytest.mark.model
def test_the_cache_after_lookup_serves_the_next_request(exact_engine: object) -> None:
    """Rejected drafts leave nothing behind in quill's account of the cache: after a
    reply with lookup, the cache holds as many tokens as after plain decoding and a
    follow-up reuses all of them. (The follow-up's text is not held to plain decoding's:
    measured, the two follow-ups part after a few words, with the same tokens cached;
    not yet explained, possibly the KV cells that later tokens take once rejected drafts
    are removed, which changes the order of the attention sums.)"""
    engine: object = exact_engine
    held, reused = [], []
    for lookup in (0, 10):
        params = Sampling(temperature=0.0, seed=0, max_tokens=60, lookup=lookup)
        engine.reset()  # type: ignore[attr-defined]
        first = engine.complete(PROOF, params)  # type: ignore[attr-defined]
        held.append(len(engine._tokens))  # type: ignore[attr-defined]
        follow = [*PROOF, Message("assistant", first.text), Message("user", "Now in French.")]
        again = engine.complete(follow, params)  # type: ignore[attr-defined]
        reused.append(again.stats.cached_tokens)
        assert again.text.strip()
    assert held[1] == held[0]
    assert reused[1] == reused[0] > 0


@pytest.mark.model
def test_proofread_on_the_default_engine(llama_engine: object) -> None:
    """With the engine as the commands load it (repacked weights where the CPU has
    them), a proofread copy comes out the same: its choices are far from ties."""
    params = Sampling(temperature=0.0, repeat_penalty=1.12, seed=0, max_tokens=120)
    text, _, _ = generate(llama_engine, PROOF, params.with_(lookup=0))
    text_l, _, stats = generate(llama_engine, PROOF, params.with_(lookup=10))
    assert stats.accepted_tokens > 20
    assert text_l == text


@pytest.mark.model
def test_lookup_off_drafts_nothing(llama_engine: object) -> None:
    params = Sampling(temperature=0.0, seed=0, max_tokens=40, lookup=0)
    _, _, stats = generate(llama_engine, PROOF, params)
    assert stats.drafted_tokens == 0 and stats.generated_tokens > 0
