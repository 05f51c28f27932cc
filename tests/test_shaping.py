"""Logit shaping (quill.engine.sampler.Shaper): prose that cannot begin a line as a list
item or heading, and a reply pushed to end once it passes the length asked. The shaper
on a made-up vocabulary and logits row, then on the real 0.5B: the property each
setting exists for, and prompt lookup giving the same text with shaping on."""

from __future__ import annotations

import ctypes
import math
import re
from typing import Any

import pytest

from quill.engine.base import Message, Sampling
from quill.engine.sampler import END_HARD, END_PUSH, END_START, Shaper, bans

VOCAB = [
    b"The",
    b" cat",
    b"\n",
    b"-",
    b" -",
    b"#",
    b"1",
    b".",
    b" sat",
    b"**",
    b"\n\n",
    b"2",
    "。\n\n".encode(),
    b"\\.",
    "\ufe0f\u20e3".encode(),
    b" million",
    "年".encode(),
    "“".encode(),
    b" **",
    b":",
]
END = 99  # the end-of-turn token's id in the made-up row


class FakeLc:
    """The one call the shaper makes: a pointer to a logits row."""

    def __init__(self, n: int) -> None:
        self.row = (ctypes.c_float * n)()

    def llama_get_logits_ith(self, _ctx: Any, _idx: int) -> Any:
        return ctypes.cast(self.row, ctypes.POINTER(ctypes.c_float))


def piece(t: int) -> bytes:
    return VOCAB[t] if t < len(VOCAB) else b""


def shaper(params: Sampling, **kw: Any) -> tuple[Shaper, FakeLc]:
    lc = FakeLc(100)
    return Shaper(lc, None, 100, lambda: [END], params, bans(100, piece), piece, **kw), lc


def banned(lc: FakeLc) -> set[bytes]:
    return {VOCAB[t] for t in range(len(VOCAB)) if math.isinf(lc.row[t])}


def test_the_vocabulary_scan_sorts_tokens_by_what_they_would_write() -> None:
    b = bans(100, piece)
    marks = [b"-", b" -", b"#", b".", b"**", "。\n\n".encode(), b"\\.", "\ufe0f\u20e3".encode()]
    marks.append(b":")
    # "“" may open a line; a digit may not ("1" then anything makes a list number)
    assert sorted(VOCAB[t] for t in b.start) == sorted([*marks, b" **", b"1", b"2"])
    # after "1" at a line's start: a word or digit only (" million", "年", "2")
    after = [*marks, b" **", b"\n", b"\n\n", "“".encode()]
    assert sorted(VOCAB[t] for t in b.number) == sorted(after)
    assert sorted(VOCAB[t] for t in b.breaks) == sorted([b"\n", b"\n\n", "。\n\n".encode()])


def test_after_a_colon_the_line_cannot_break() -> None:
    """ "Key findings include:" and a line break is how a list begins: the sentence goes
    on instead."""
    s, lc = shaper(Sampling(prose=True), continuing=True)
    for _ in range(12):  # a line longer than the start the shaper keeps of it
        s.push(0)  # "The"
    s.apply(-1)
    assert b"\n" not in banned(lc)
    s.push(VOCAB.index(b":"))
    s.apply(-1)
    assert {b"\n", b"\n\n"} <= banned(lc)
    lc.row[:] = [0.0] * 100
    s.push(1)  # " cat": the sentence went on
    s.apply(-1)
    assert b"\n" not in banned(lc)


def test_prose_bans_markers_only_at_a_line_start() -> None:
    s, lc = shaper(Sampling(prose=True))
    s.apply(-1)
    assert {b"-", b" -", b"#", b"**", b"\\.", b" **"} <= banned(lc)  # the reply's first line
    assert not {b"The", b" cat", "“".encode(), "年".encode()} & banned(lc)
    s.push(0)  # "The"
    lc.row[:] = [0.0] * 100
    s.apply(-1)
    assert banned(lc) == set()  # inside a line a dash is a dash
    s.push(2)  # "\n"
    s.apply(-1)
    assert {b"-", b"#"} <= banned(lc)


def test_a_number_at_a_line_start_cannot_become_a_list_number() -> None:
    s, lc = shaper(Sampling(prose=True))
    for t in (0, 10, 6):  # "The", "\n\n", "1"
        s.push(t)
    s.apply(-1)
    assert {b".", b"-", b" -", b"**", b"\\.", "\ufe0f\u20e3".encode()} <= banned(lc)  # "1️⃣"…
    assert not {b" million", "年".encode(), b"2"} & banned(lc)
    s.push(8)  # " sat": no longer a bare number
    lc.row[:] = [0.0] * 100
    s.apply(-1)
    assert banned(lc) == set()


def test_a_prefilled_reply_has_begun_its_line() -> None:
    s, lc = shaper(Sampling(prose=True), continuing=True)
    s.apply(-1)
    assert banned(lc) == set()


def test_the_end_is_pushed_up_only_near_the_length_and_after_a_sentence() -> None:
    s, lc = shaper(Sampling(end_after=100))
    for _ in range(int(END_START * 100)):
        s.push(1)  # " cat"
    s.push(7)  # "." at 0.85 of the length: not yet
    s.apply(-1)
    assert lc.row[END] == 0.0 and banned(lc) == set()  # no prose ban asked for
    for _ in range(100 - int(END_START * 100)):
        s.push(1)
    s.push(7)  # the sentence of the 100th word ends
    s.apply(-1)
    assert lc.row[END] == pytest.approx(END_PUSH * (1 - END_START))
    lc.row[END] = 0.0
    s.push(8)  # " sat": inside a sentence the end is left alone
    s.apply(-1)
    assert lc.row[END] == 0.0
    s.push(12)  # "。\n\n" ends one too
    s.apply(-1)
    assert lc.row[END] > END_PUSH * (1 - END_START)
    lc.row[END] = 0.0
    for t in (11, 7):  # "2", ".": a list's number on its own line is no sentence
        s.push(t)
    s.apply(-1)
    assert lc.row[END] == 0.0


def test_past_the_hard_end_the_next_sentence_end_is_the_end() -> None:
    s, lc = shaper(Sampling(end_after=100))
    for _ in range(round(END_HARD * 100)):
        s.push(1)  # " cat": inside a sentence, never
    s.apply(-1)
    assert lc.row[END] == 0.0
    s.push(7)  # "."
    s.apply(-1)
    assert lc.row[END] > 1e20  # above any logit a model gives: the chain keeps only it


def test_before_the_floor_the_reply_cannot_end() -> None:
    s, lc = shaper(Sampling(min_words=3))
    for t in (0, 7, 1, 7):  # "The." " cat.": even after a sentence, two words are short
        s.push(t)
        s.apply(-1)
        assert math.isinf(lc.row[END]) and lc.row[END] < 0
    lc.row[END] = 0.0
    s.push(8)  # " sat": the third word reaches the floor
    s.apply(-1)
    assert lc.row[END] == 0.0


def test_prose_held_from_ending_goes_on_in_its_paragraph() -> None:
    """Under the floor, where the end is the likeliest token, no line break may follow:
    what a model held from ending starts on a new line is no part of the piece."""
    s, lc = shaper(Sampling(prose=True, min_words=50))
    s.push(0)  # "The"
    s.push(7)  # "."
    lc.row[END] = 5.0  # the model would end here
    s.apply(-1)
    assert {b"\n", b"\n\n"} <= banned(lc)
    assert {b"#", b" -", b"**"} <= banned(lc)  # nor a heading or list started on the line
    assert b" cat" not in banned(lc)  # the paragraph goes on with a word
    s2, lc2 = shaper(Sampling(prose=True, min_words=50))
    s2.push(0)
    s2.push(7)
    lc2.row[END], lc2.row[1] = 5.0, 6.0  # " cat" is likelier: the model would go on
    s2.apply(-1)
    assert not {b"\n", b"\n\n"} & banned(lc2)
    # a sentence's end and a line break come as two tokens, so the rule sees every end
    assert "。\n\n".encode() in banned(lc2)
    s3, lc3 = shaper(Sampling(prose=True))  # no floor: a token may end a sentence and a line
    s3.push(0)
    s3.apply(-1)
    assert "。\n\n".encode() not in banned(lc3)


def test_any_reply_held_from_ending_goes_on_in_its_paragraph() -> None:
    """Not only prose: held after an expansion that was its source again, the 0.5B went
    on with the prompt's "</text>" and "Requirements:" on lines of their own. Where the
    end is likeliest, after a sentence or not, no line may begin; lines stay free where
    the model would go on anyway, and a reply without a floor is not held."""
    s, lc = shaper(Sampling(min_words=50))
    s.push(1)  # " cat": no sentence end
    lc.row[END] = 5.0
    s.apply(-1)
    assert {b"\n", b"\n\n", b"#"} <= banned(lc)
    s2, lc2 = shaper(Sampling(min_words=50))
    s2.push(1)
    lc2.row[END], lc2.row[2] = 5.0, 6.0  # a line break is likelier than the end
    s2.apply(-1)
    assert b"\n" not in banned(lc2)
    s3, lc3 = shaper(Sampling(end_after=50))
    s3.push(1)
    lc3.row[END] = 5.0
    s3.apply(-1)
    assert not banned(lc3)


def test_under_the_floor_no_control_token_may_come() -> None:
    """Turn markers are ruled out with the ends: a model held from ending opens a turn."""
    lc = FakeLc(100)
    s = Shaper(
        lc, None, 100, lambda: [END], Sampling(min_words=5), None, piece, controls=lambda: [END, 98]
    )
    s.apply(-1)
    assert math.isinf(lc.row[98]) and math.isinf(lc.row[END])
    s.push(0)
    for t in (1, 8, 1, 8):
        s.push(t)  # five words: the floor is reached
    lc.row[98] = lc.row[END] = 0.0
    s.apply(-1)
    assert lc.row[98] == 0.0


def test_lengths_are_counted_in_words_whatever_the_tokens() -> None:
    """Tokens that split a word, or a character's bytes, do not lengthen the count; 1.7
    Chinese characters count as a word."""
    s, _ = shaper(Sampling(end_after=2))
    s.push(0)  # "The"
    s.push(8)  # " sat"
    for _ in range(3):
        s.push(7)  # "...": punctuation is no word
    assert s.length.words == 2
    s.push(16)  # "年"
    assert s.length.words == pytest.approx(2 + 1 / 1.7)


def test_a_word_count_as_text_arrives_matches_the_count_of_the_whole() -> None:
    from quill.engine.length import WordCount
    from quill.writing.textstats import text_stats

    text = "Don't stop: well-known 3.5 x - y, e.g. “quoted” 今天天气很好，ok? ## done"
    data = text.encode()
    for step in (1, 2, 3, 5):
        count = WordCount()
        for i in range(0, len(data), step):  # pieces that cut characters in two
            count.add(data[i : i + step])
        stats = text_stats(text)
        assert (count.latin, count.cjk) == (stats.latin_words, stats.cjk_chars)


# -- the real model -------------------------------------------------------------------

LIST_ASK = [Message("user", "List five fruits and their colours as a bulleted Markdown list.")]
LINE_START = re.compile(r"^\s*(?:[-*+#>|•]|\d+[.)])", re.M)


@pytest.mark.model
def test_prose_never_starts_a_line_as_a_list(llama_engine: object) -> None:
    """Asked outright for a list, the model writes one; in prose it cannot."""
    p = Sampling(temperature=0, seed=0, max_tokens=80)
    plain = llama_engine.complete(LIST_ASK, p).text  # type: ignore[attr-defined]
    prose = llama_engine.complete(LIST_ASK, p.with_(prose=True)).text  # type: ignore[attr-defined]
    assert LINE_START.search(plain)
    assert not LINE_START.search(prose)
    assert len(prose.split()) >= 5  # it still wrote


@pytest.mark.model
def test_past_the_length_asked_the_reply_ends_by_itself(llama_engine: object) -> None:
    story = [Message("user", "Write a long story about a lighthouse keeper and a storm.")]
    p = Sampling(temperature=0, seed=0, max_tokens=220, lookup=0)
    free = llama_engine.complete(story, p)  # type: ignore[attr-defined]
    pushed = llama_engine.complete(story, p.with_(end_after=60))  # type: ignore[attr-defined]
    assert free.finish == "length"
    assert pushed.finish == "stop"
    assert len(pushed.text.split()) > END_START * 60  # it ended once the push began
    assert pushed.stats.generated_tokens < free.stats.generated_tokens
    assert pushed.text.rstrip()[-1] in ".!?\"'”"  # at a natural end, not mid-sentence


@pytest.mark.model
def test_every_token_that_ends_a_reply_is_an_end(llama_engine: object) -> None:
    """The floor rules out, and the push raises, all of them: Qwen's <|endoftext|> ends a
    reply as <|im_end|> does, and a model kept from one takes the other."""
    ends = llama_engine.end_tokens()  # type: ignore[attr-defined]
    texts = {llama_engine.vocab.special_text(t) for t in ends}  # type: ignore[attr-defined]
    assert {"<|im_end|>", "<|endoftext|>"} <= texts


@pytest.mark.model
def test_a_reply_with_a_floor_writes_on_past_its_natural_end(llama_engine: object) -> None:
    ask = [Message("user", "In one short sentence: what colour is the sky?")]
    p = Sampling(temperature=0, seed=0, max_tokens=120, lookup=0)
    free = llama_engine.complete(ask, p)  # type: ignore[attr-defined]
    floored = llama_engine.complete(ask, p.with_(min_words=30))  # type: ignore[attr-defined]
    assert free.finish == "stop" and len(free.text.split()) < 30
    assert len(floored.text.split()) >= 30
    assert floored.text.startswith(free.text.rstrip()[:10])  # the same answer, then more
    for question in (ask, [Message("user", "用一句话回答：天空是什么颜色？")]):
        answer = llama_engine.complete(question, p).text.strip()  # type: ignore[attr-defined]
        prose = llama_engine.complete(question, p.with_(min_words=30, prose=True))  # type: ignore[attr-defined]
        assert prose.text.startswith(answer)
        # it goes on in its paragraph, and in its turn: held from ending, the 0.5B had
        # opened a new turn ("\nYou are a Qwen created by Alibaba Cloud…")
        rest = prose.text[len(answer) :]
        assert not rest.startswith("\n") and "Qwen" not in rest


@pytest.mark.model
def test_lookup_gives_the_same_shaped_text(llama_engine: object) -> None:
    """Shaping is applied at each verified position as plain decoding applies it."""
    proof = [Message("user", "Copy this list exactly:\n- apples are red\n- pears are green")]
    p = Sampling(temperature=0, seed=0, max_tokens=60, prose=True, end_after=20)
    texts = []
    for lookup in (0, 10):
        llama_engine.reset()  # type: ignore[attr-defined]
        texts.append(llama_engine.complete(proof, p.with_(lookup=lookup)).text)  # type: ignore[attr-defined]
    assert texts[0] == texts[1]
    assert not LINE_START.search(texts[0])


def test_a_cjk_reply_begins_no_word_in_small_latin_letters_of_its_own() -> None:
    """Sampling.native: after a CJK character (or a space after one) a word may not
    begin in small Latin letters the prompt does not have; capitals, the prompt's own
    words and a word already begun stay free."""
    lc = FakeLc(100)
    params = Sampling(native=True)
    s = Shaper(lc, None, 100, lambda: [END], params, None, piece, prompt_text="写 sat".encode())
    for t in (0, 1, 8, 15):  # "The", " cat", " sat", " million": the likeliest
        lc.row[t] = 5.0
    s.push(16)  # "年"
    s.apply(-1)
    assert banned(lc) == {b" cat", b" million"}  # " sat" is the prompt's, "The" a name
    lc.row[1] = lc.row[15] = 0.0
    s.push(1)  # " cat" (written anyway): inside Latin text nothing is ruled out
    s.apply(-1)
    assert not banned(lc)
    plain, lc2 = shaper(Sampling())
    lc2.row[1] = 5.0
    plain.push(16)
    plain.apply(-1)
    assert not banned(lc2)


def test_the_native_words_are_the_prompts_unless_the_request_names_them() -> None:
    from quill.engine.llama import LlamaEngine

    class Stub:
        token_bytes = staticmethod(lambda t: b" sat" if t == 8 else b"")

    words = LlamaEngine._native_words
    assert words(Stub(), Sampling(), [8]) == b""  # type: ignore[arg-type]
    assert words(Stub(), Sampling(native=True), [8]) == b" sat"  # type: ignore[arg-type]
    named = Sampling(native=True, native_words="quill doctor")
    assert words(Stub(), named, [8]) == b"quill doctor"  # type: ignore[arg-type]


@pytest.mark.model
def test_the_latin_ban_reads_the_real_vocabulary(llama_engine: object) -> None:
    """On the model's own tokens: after "厨房" the token that starts " kitchen" is ruled
    out, unless the prompt has the word."""
    tokenize = llama_engine.tokenize  # type: ignore[attr-defined]
    n_vocab = llama_engine._lc.llama_vocab_n_tokens(llama_engine._vocab)  # type: ignore[attr-defined]
    piece = llama_engine.token_bytes  # type: ignore[attr-defined]
    kitchen = tokenize(" kitchen")[0]
    for prompt, ruled_out in (("写一封信", True), ("写一封信 kitchen", False)):
        lc = FakeLc(n_vocab)
        lc.row[kitchen] = 10.0
        s = Shaper(
            lc,
            None,
            n_vocab,
            lambda: [],
            Sampling(native=True),
            None,
            piece,
            prompt_text=prompt.encode(),
        )
        for t in tokenize("厨房"):
            s.push(t)
        s.apply(-1)
        assert math.isinf(lc.row[kitchen]) is ruled_out


class FirstLc(FakeLc):
    """What first_token calls: the vocabulary's size, the row, and a greedy sampler."""

    def llama_vocab_n_tokens(self, _vocab: Any) -> int:
        return len(self.row)

    def llama_sampler_sample(self, _sampler: Any, _ctx: Any, _idx: int) -> int:
        return max(range(len(self.row)), key=self.row.__getitem__)


def test_a_reply_may_not_begin_with_a_word_of_talk() -> None:
    """Sampling.not_first: "Sure" and "当然" are ruled out as a first token where they
    are likeliest; the next likeliest is sampled. Without a list nothing changes."""
    from quill.engine.sampler import first_token, opens_with

    words = {0: b"Sure", 1: b" Dear", 2: "当然".encode(), 3: b"Surely"}

    def first(ruled: tuple[str, ...], likeliest: int) -> int:
        lc = FirstLc(100)
        lc.row[likeliest], lc.row[1] = 9.0, 5.0
        return first_token(
            lc, None, None, None, "", Sampling(not_first=ruled), lambda t: words.get(t, b"")
        )

    ruled = ("Sure", "当然")
    assert first(ruled, 0) == 1 and first(ruled, 2) == 1
    assert first(ruled, 3) == 3  # "Surely" is another word
    assert first((), 0) == 0
    assert opens_with("Sure!", ruled) and opens_with(" 当然，", ruled)
    assert not opens_with("Surely", ruled) and not opens_with("当然可以", ruled)
