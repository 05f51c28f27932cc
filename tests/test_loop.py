from quill.engine.base import Message, Sampling
from quill.engine.fake import FakeEngine
from quill.engine.loop import LoopDetector, guarded


def feed_words(det: LoopDetector, text: str) -> None:
    for w in text.split(" "):
        if det.feed(w + " "):
            return


def test_detects_sentence_loop_and_keeps_one_copy() -> None:
    det = LoopDetector()
    feed_words(det, "Once upon a time there was a keeper. " + "The sea was calm that night. " * 20)
    assert det.hit is not None
    kept = det.kept_text()
    assert kept.startswith("Once upon a time there was a keeper.")
    assert kept.count("The sea was calm that night.") == 1


def test_detects_chinese_loop() -> None:
    det = LoopDetector()
    for ch in "我们今天去公园。" + "天气很好，我们很开心。" * 12:
        if det.feed(ch):
            break
    assert det.hit is not None
    assert det.kept_text().count("天气很好") == 1


def test_ordinary_prose_and_rules_are_not_loops() -> None:
    det = LoopDetector()
    text = (
        "# Title\n\n" + "=" * 120 + "\n\nha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha\n"
        "| a | b |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |\n"
        "The lighthouse stood on the cliff. Its keeper climbed the stairs every night. "
        "Ships passed safely because of the light. Storms came and went over the years. "
    )
    for ch in text:
        det.feed(ch)
    assert det.hit is None
    assert det.text == text


def test_guard_stops_a_fake_engine_that_repeats_forever() -> None:
    engine = FakeEngine(loop=True)
    msgs = [Message("user", "tell a story")]
    pieces = list(guarded(engine.stream(msgs, Sampling(max_tokens=100_000))))
    final = pieces[-1]
    assert final.finish == "loop"
    assert final.stats is not None and final.stats.generated_tokens < 200
    text = "".join(p.text for p in pieces)
    assert text.startswith("Once upon a time there was a lighthouse keeper.")


def test_guard_passes_normal_stream_through() -> None:
    engine = FakeEngine("One two three. Four five six.")
    pieces = list(guarded(engine.stream([Message("user", "x")], Sampling())))
    assert "".join(p.text for p in pieces) == "One two three. Four five six."
    assert pieces[-1].finish == "stop"
