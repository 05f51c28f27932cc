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


PARAGRAPH = (
    "As we celebrate this day, I want to take this moment to express my gratitude for "
    "all the things that you have done for ourselves."
)


def test_a_paragraph_written_twice_shows_once() -> None:
    """The 1.5B's wedding toast wrote its last paragraph twice, word for word, and both
    copies were shown before three copies made a loop."""
    from quill.engine.generation import Generation

    reply = "Thank you all for coming.\n\n" + "\n\n".join([PARAGRAPH] * 3)
    gen = Generation(FakeEngine(reply).stream([Message("user", "x")], Sampling()), Sampling())
    shown = "".join(gen)
    result = gen.close()
    assert shown.count(PARAGRAPH) == 1 and result.text.count(PARAGRAPH) == 1
    assert result.finish == "loop" and "2 copies" in result.note


def test_a_paragraph_that_only_starts_like_the_last_goes_out() -> None:
    reply = f"Intro.\n\n{PARAGRAPH}\n\nAs we celebrate this day, we thank the cooks.\n\nEnd."
    pieces = list(guarded(FakeEngine(reply).stream([Message("user", "x")], Sampling())))
    assert "".join(p.text for p in pieces) == reply and pieces[-1].finish == "stop"
    # a short paragraph (a refrain, a sign-off) may come twice
    short = "Thanks!\n\nThanks!\n\nBye."
    pieces = list(guarded(FakeEngine(short).stream([Message("user", "x")], Sampling())))
    assert "".join(p.text for p in pieces) == short


def test_a_held_paragraph_goes_out_when_the_stream_is_stopped() -> None:
    from quill.engine.base import StopRequested

    reply = f"{PARAGRAPH}\n\nAs we celebrate this day, I want " + "w " * 30
    g = guarded(FakeEngine(reply).stream([Message("user", "x")], Sampling()))
    seen = ""
    while "\n\n" not in seen:
        seen += next(g).text
    final = g.throw(StopRequested("interrupted"))
    assert final.finish == "interrupted" and final.text.lstrip().startswith("As")  # held


SECTIONS = "".join(
    f"### {name}\nOur linen shirts {what}, and each one is cut and sewn by hand in our "
    f"workshop so that it lasts for many summers of wear.\n\n"
    for name, what in (
        ("Perfect for Every Occasion", "suit a formal event or a day at home"),
        ("Exceptional Quality", "use premium thread and fine stitching"),
        ("Versatile Fit", "come in slim, loose and tailored fits"),
        ("Color Choices", "come in white, sand, olive and navy"),
        ("Care", "are machine washable and easy to iron"),
    )
)


def test_a_long_block_is_a_loop_at_its_second_copy() -> None:
    """The 1.5B wrote a product page's five sections (about 1,100 characters; 860 here)
    over and over to its token limit: a unit of LONG_UNIT characters or more needs two
    copies, and units up to MAX_UNIT are looked for."""
    from quill.engine.loop import LONG_UNIT, MAX_UNIT

    assert LONG_UNIT < 600 < len(SECTIONS) < MAX_UNIT  # 600: the bound before
    det = LoopDetector()
    text = "# Linen Shirt\n\nAn opening paragraph.\n\n" + SECTIONS * 4
    for i in range(0, len(text), 7):
        if det.feed(text[i : i + 7]):
            break
    assert det.hit is not None
    assert det.length <= len(text) - 2 * len(SECTIONS) + 20  # found during the second copy
    kept = det.kept_text()
    assert kept.startswith("# Linen Shirt") and kept.count("### Versatile Fit") == 1


def test_a_short_unit_twice_is_not_a_loop() -> None:
    det = LoopDetector()
    line = "The ferry leaves at seven and comes back at nine, every day of the week. "
    for ch in "Timetable. " + line * 2 + "Tickets are sold on board.":
        det.feed(ch)
    assert det.hit is None


def test_a_block_of_sections_written_twice_shows_once() -> None:
    """The README's linen shirt page wrote its five sections twice: the second copy was
    on the terminal before the loop was found at its end. It is now held while it
    follows the first, and dropped when it is whole."""
    from quill.engine.generation import Generation

    reply = "# Linen Shirt\n\nAn opening paragraph.\n\n" + SECTIONS * 3
    gen = Generation(FakeEngine(reply).stream([Message("user", "x")], Sampling()), Sampling())
    shown = "".join(gen)
    result = gen.close()
    assert shown.count("### Versatile Fit") == 1 and result.text.count("### Versatile Fit") == 1
    assert shown.startswith("# Linen Shirt") and result.finish == "loop"


def test_a_section_that_begins_like_an_earlier_one_goes_out() -> None:
    """Sections with the same heading shape and opening words are not a repeat: each
    goes out once it differs, and nothing is lost."""
    from quill.engine.loop import BlockEcho

    # the same opening words as the first section, then new text, and then the first
    # section's start again without finishing it
    reply = SECTIONS + SECTIONS[:120] + " And then something new.\n\n" + SECTIONS[:300] + "x"
    pieces = list(guarded(FakeEngine(reply).stream([Message("user", "x")], Sampling())))
    assert "".join(p.text for p in pieces) == reply and pieces[-1].finish == "stop"
    # what is held at each step is only the text that still follows an earlier passage
    echo = BlockEcho()
    held = [echo.feed(ch)[0] for ch in SECTIONS + "### Perfect for a day out\n"]
    # within the first copy a section's "### " is held until its name differs
    assert 0 < max(held[: len(SECTIONS)]) <= len("### ")
    assert held[len(SECTIONS) + 3] > 0 and held[-1] == 0  # held, then released
