"""Stream filters on FakeEngine streams: the sentence gate, commentary around a draft,
and notes tidied between the steps of a summary."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from quill.engine.base import Message, Piece, Sampling, StopRequested
from quill.engine.fake import FakeEngine
from quill.engine.loop import guarded
from quill.writing.chunk import complete_prefix
from quill.writing.cleanup import (
    TRIMMED,
    draft_filters,
    is_commentary,
    sentence_gate,
    strip_blocks,
    strip_commentary,
    unwrap_fence,
)
from quill.writing.notes import tidy_notes

Filter = Callable[[Iterator[Piece]], Iterator[Piece]]
ASK = [Message("user", "write")]


def stream(reply: str, max_tokens: int = 1000) -> Iterator[Piece]:
    """A FakeEngine stream: one piece per word, a final piece with finish and stats."""
    return FakeEngine(reply).stream(ASK, Sampling(max_tokens=max_tokens))


def drain(pieces: Iterator[Piece]) -> tuple[str, Piece]:
    out = list(pieces)
    assert out[-1].finish is not None
    assert all(p.finish is None for p in out[:-1])
    return "".join(p.text for p in out), out[-1]


# -- complete_prefix ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "closed", "expected"),
    [
        ("One. Two three", False, len("One.")),
        ("One. Two.", False, len("One.")),  # the end is not known to be one yet
        ("One. Two.", True, len("One. Two.")),
        ("Dr. Smith came", False, 0),  # an abbreviation is not a sentence end
        ("It cost 3.5 dollars", True, 0),
        ("一二三。四五", False, len("一二三。")),
        ("他说：“好。”然后", False, len("他说：“好。”")),
        ("- one\n- two\n- thr", False, len("- one\n- two\n")),
        ("1. first\n2. sec", False, len("1. first\n")),
        ("no end at all", True, 0),
        # cut at its limit after "95.": the number may go on ("95.2%")
        ("It rose. Accuracy went from 95.", True, len("It rose.")),
        ("准确率很高。整票准确率从 95.", True, len("准确率很高。")),
        ("It rose to 95. Then it fell.", True, len("It rose to 95. Then it fell.")),
        ("It rose by 95%.", True, len("It rose by 95%.")),
    ],
)
def test_complete_prefix(text: str, closed: bool, expected: int) -> None:
    assert complete_prefix(text, closed) == expected


# -- sentence_gate --------------------------------------------------------------------


def test_gate_passes_a_short_reply_through_unchanged() -> None:
    reply = "The tower was built in 1864. It is thirty-one meters tall."
    text, last = drain(sentence_gate(1000)(stream(reply)))
    assert text == reply and last.finish == "stop" and last.note == ""


def test_gate_streams_immediately_until_the_hold_window() -> None:
    reply = " ".join(f"w{i}" for i in range(100))  # no sentence end at all
    gated = sentence_gate(200, hold=48)(stream(reply))
    first = next(gated)
    assert first.text == "w0"  # not held: far from the limit


def test_gate_trims_a_reply_cut_at_its_limit_to_the_last_sentence() -> None:
    reply = "The tower was built in 1864. It leans eleven centimeters. The lamp was lit on"
    reply += " a cold night and the"
    text, last = drain(sentence_gate(14, hold=8)(stream(reply, max_tokens=14)))
    assert last.finish == "length"
    assert text == "The tower was built in 1864. It leans eleven centimeters."
    assert last.note.endswith(TRIMMED)
    assert last.stats is not None and last.stats.generated_tokens == 14


def test_gate_releases_the_held_text_when_the_reply_ends_by_itself() -> None:
    reply = "One sentence here. And a last line without a full stop"
    text, last = drain(sentence_gate(12, hold=12)(stream(reply, max_tokens=100)))
    assert text == reply and last.finish == "stop" and last.note == ""


def test_gate_with_cjk_sentence_ends() -> None:
    # FakeEngine yields whitespace-separated words: each Chinese clause is one piece.
    reply = "灯塔建于一八六四年。 塔高三十一米！ 第一位守塔人 在十月 点亮了 灯。"
    text, last = drain(sentence_gate(5, hold=5)(stream(reply, max_tokens=5)))
    assert text == "灯塔建于一八六四年。 塔高三十一米！"
    assert last.note.endswith(TRIMMED)


def test_gate_counts_a_list_item_line_as_complete() -> None:
    reply = "- The tower was repaired\n- The lamp was replaced\n- The cottages were"
    text, last = drain(sentence_gate(12, hold=12)(stream(reply, max_tokens=12)))
    assert text == "- The tower was repaired\n- The lamp was replaced\n"
    assert last.note.endswith(TRIMMED)


def test_gate_at_the_limit_on_a_sentence_end_drops_nothing() -> None:
    reply = "One two three. Four five six. Seven"
    text, last = drain(sentence_gate(6, hold=4)(stream(reply, max_tokens=6)))
    assert last.finish == "length" and text == "One two three. Four five six." and not last.note


def test_gate_honours_a_stop_request_and_keeps_the_held_text() -> None:
    reply = "First sentence. second part " + " ".join(f"w{i}" for i in range(50))
    gated = sentence_gate(10, hold=10)(guarded(stream(reply, max_tokens=100)))
    out = [next(gated)]  # the first sentence comes out once complete
    assert out[0].text == "First sentence."
    final = gated.throw(StopRequested("interrupted"))
    assert final.finish == "interrupted"
    assert final.text.strip() == "second"  # the held text is not lost
    assert final.stats is not None


def test_gate_composes_with_other_filters() -> None:
    reply = "```markdown\nOne two. Three four five six seven eight"
    pieces = sentence_gate(8, hold=8)(unwrap_fence(stream(reply, max_tokens=8)))
    text, last = drain(pieces)
    assert text == "One two." and last.note.endswith(TRIMMED)


# -- strip_commentary -----------------------------------------------------------------

LINEN = "# Linen Shirt\n\nCool, crisp and made to breathe.\n\n- 100% linen\n- Relaxed fit"


def run_filter(reply: str, f: Filter = strip_commentary) -> str:
    text, _ = drain(f(stream(reply)))
    return text


@pytest.mark.parametrize(
    "reply",
    [
        LINEN + "\n\nThis piece is written in the same language as the brief. It follows the "
        "structure provided, using Markdown where necessary.",
        LINEN + "\n\nI hope this helps! Let me know if you'd like any changes.",
        LINEN + "\n\n---\n\n*Note: This product page follows the brief and is about 120 words.*",
        LINEN + "\n\nFeel free to adjust the tone.\n\nI hope this helps!",
        LINEN + "\n\nFeel free to customize this guide to fit your needs and style. Good luck!",
        LINEN + "\n\nFeel free to add more details to this product page based on your specific "
        "needs and preferences.",
        LINEN + "\n\nSo if you're looking for more information about this shirt, feel free to ask!",
        "Sure! Here's a product page for a linen shirt:\n\n" + LINEN,
        "Certainly!\n\n" + LINEN + "\n\nI hope this helps!",
        "Here is the product page:\n\n---\n\n" + LINEN,
    ],
)
def test_commentary_around_a_draft_is_dropped(reply: str) -> None:
    assert run_filter(reply).strip() == LINEN


@pytest.mark.parametrize(
    "reply",
    [
        LINEN + "\n\nOrder yours today and feel the difference all summer long!",
        LINEN + "\n\nNote: machine wash cold, line dry.",
        LINEN + "\n\nFeel free to visit our shop on Saturdays.",
        LINEN + "\n\nIf you have questions about sizes, feel free to ask our staff.",
        "Dear Anna,\n\nThank you for your order. Let me know if you have any questions.\n\n"
        "Best regards,\nMaria",
        "Autumn Light\n\nThe leaves let go,\none by one,\nthe river keeps them.\n\n"
        "This poem ends where the river bends.",
        "# 秋天\n\n落叶一片片飘下，\n河水带走了它们。\n\n风轻轻地吹过山岗。",
        "# 亚麻衬衫\n\n透气、清爽。\n\n立即下单，感受夏天的凉爽！",
        "Here's to long summer evenings.\n\nOur linen shirt keeps you cool.",
        "Summer is here. Here is why you'll love linen:\n\n- cool\n- light",
        "Our shop is new. Here are the opening hours for the page:\n\nMon 9-5",
        "We love tea. Here is a short blog post about it:",  # nothing follows: kept
    ],
)
def test_real_content_is_kept(reply: str) -> None:
    assert run_filter(reply) == reply


def test_a_product_title_label_becomes_a_heading() -> None:
    reply = "Product Title: Linen Shirt - Made for Summer\n\nSoft and cool."
    assert run_filter(reply) == "# Linen Shirt - Made for Summer\n\nSoft and cool."


def test_a_closing_note_that_the_piece_is_only_an_example_is_dropped() -> None:
    body = "# 开业啦\n\n咖啡店今天开业，欢迎光临。"
    note = "注：上述文字仅为示例，实际撰写时请根据实际情况进行调整和修改。"
    assert run_filter(body + "\n\n" + note) == body
    assert run_filter(LINEN + "\n\nThis is just an example; adapt it to your shop.") == LINEN
    news = "# 新公园五月开放\n\n市政府周一宣布，城东新公园将于五月开放。"
    assert run_filter(news + "\n\n请注意，这只是一个简化的新闻报道示例。") == news
    mail = "尊敬的客户：\n\n您的订单将于周五发出。\n\n敬礼！\n\n[您的姓名]"
    adjust = "请根据实际情况调整上述内容，并确保所有信息准确无误。"
    assert run_filter(mail + "\n\n---\n\n" + adjust) == mail
    hours = "# 营业时间\n\n根据实际情况，我们将调整周末的营业时间。"
    assert run_filter(hours) == hours  # the piece's own sentence stays
    note = "Note: this is only a sample product description."
    assert run_filter(LINEN + "\n\n" + note) == LINEN


def test_a_chinese_line_about_the_poem_at_its_end_is_dropped() -> None:
    poem = "秋风拂过田野，\n落叶翩翩起舞。\n天空湛蓝如海，\n阳光温暖而宁静。"
    reply = poem + "\n这是一首关于秋天的诗，用意象生动描绘了秋天的美好景象。"
    assert run_filter(reply).rstrip() == poem
    story = "# 灯塔\n\n这是一首老歌，渔民们唱了很多年，描绘了大海。\n\n他关上了灯。"
    assert run_filter(story) == story  # inside the piece: kept


def test_chinese_commentary_is_dropped() -> None:
    body = "# 秋\n\n落叶飘飘，\n秋风送爽。"
    reply = (
        "以下是一首关于秋天的短诗：\n\n"
        + body
        + "\n\n希望这首诗对你有帮助！如果需要修改，请告诉我。"
    )
    assert run_filter(reply).strip() == body


def test_closing_lines_of_the_last_paragraph_are_dropped() -> None:
    reply = LINEN + "\n\nOrder today!\nThis product page follows the brief."
    assert run_filter(reply).strip() == LINEN + "\n\nOrder today!"


def test_a_heading_with_nothing_under_it_is_dropped_at_the_end() -> None:
    reply = LINEN + "\n\nHappy shopping!\n\n# Tags: Linen, Summer, Shirts #1"
    assert run_filter(reply).strip() == LINEN + "\n\nHappy shopping!"
    text, _ = drain(opened(reply))
    assert text.strip() == LINEN + "\n\nHappy shopping!"
    # a heading and the talk under it go together; a heading with its text stays
    talk = LINEN + "\n\n## Note\n\nI hope this helps! Let me know if you'd like changes."
    assert run_filter(talk).strip() == LINEN
    assert run_filter(LINEN + "\n\n## Care\n\nWash cold.") == LINEN + "\n\n## Care\n\nWash cold."
    assert run_filter("# Linen Shirt") == "# Linen Shirt"  # a reply that is only a title


def test_closing_hashtags_are_dropped_from_a_piece_begun_with_an_opening() -> None:
    # the 1.5B ended a blog post (begun "# ") on two lines of hashtags
    tags = "\n\n#StartSketchingToday #CreativeHabit\n\n#ShareYourMorningCommute Sketches"
    text, _ = drain(opened(LINEN + "\n\nHappy sketching!" + tags))
    assert text.strip() == LINEN + "\n\nHappy sketching!"
    zh, _ = drain(opened(LINEN + "\n\n#亚麻 #夏天"))
    assert zh.strip() == LINEN
    # a social post has no opening: its hashtags are its ending and stay
    assert run_filter("Loving our new linen range!" + tags).endswith("Commute Sketches")
    # hashtags inside the piece, and a line that is a sentence, stay
    inside = LINEN + "\n\n#LinenLife\n\nOrder today!"
    assert drain(opened(inside))[0].strip() == inside
    numbered = LINEN + "\n\n#1 tip: wash it cold."
    assert drain(opened(numbered))[0].strip() == numbered
    # a sentence is not a tag line, whatever spaces end its line (a Markdown break)
    from quill.writing.cleanup import _tag_lines

    assert _tag_lines("#StartSketchingToday #CreativeHabit  \n#Sketch")
    assert not _tag_lines("#LinenLife is our motto.  \n#SummerLinen")


def test_a_note_on_the_piece_after_a_rule_is_dropped_whole() -> None:
    note = (
        "This job posting is designed to be clear, professional, and concise. The "
        "requirements are detailed yet accessible, while the responsibilities provide a "
        "comprehensive picture of what the role entails."
    )
    assert run_filter(LINEN + "\n\n---\n\n" + note).strip() == LINEN
    text, _ = drain(opened(LINEN + "\n\n---\n\n" + note))
    assert text.strip() == LINEN
    # without the rule only a paragraph that is talk throughout goes
    assert note.split(". ")[1] in run_filter(LINEN + "\n\n" + note)
    # a last section after a rule that is the piece stays
    kept = LINEN + "\n\n---\n\nThis shirt is designed for hot days. Order today!"
    assert run_filter(kept) == kept


def test_a_heading_is_held_until_its_text_begins() -> None:
    reply = "# Linen Shirt\n\nCool and crisp.\n\n## Care\n\nWash cold, hang to dry."
    read = ""

    def tracked() -> Iterator[Piece]:
        nonlocal read
        for piece in stream(reply):
            read += piece.text
            yield piece

    for piece in strip_commentary(tracked()):
        if "## Care" in piece.text:
            break
    assert read.endswith("dry.")  # out once its text was known to be the piece


def test_a_reply_that_is_only_talk_is_kept() -> None:
    assert run_filter("I hope this helps!") == "I hope this helps!"


def test_only_the_last_paragraph_is_held_while_streaming() -> None:
    paragraphs = [f"Paragraph {k} has a few words in it." for k in range(5)]
    reply = "\n\n".join(paragraphs)
    seen: list[str] = []
    for piece in strip_commentary(stream(reply)):
        seen.append(piece.text)
        if "Paragraph 3" in "".join(seen):
            break
    # Paragraph 3 came out once paragraph 4 began: only the one being written is held.
    assert "".join(seen).startswith("\n\n".join(paragraphs[:3]))


def test_commentary_filter_honours_a_stop_request() -> None:
    reply = "First paragraph here.\n\nSecond paragraph " + " ".join(f"w{i}" for i in range(40))
    f = strip_commentary(guarded(stream(reply)))
    assert next(f).text == "First paragraph here."
    final = f.throw(StopRequested("interrupted"))
    assert final.finish == "interrupted"
    assert final.text.strip() == "Second"  # what was held is kept


def test_commentary_then_fence_unwraps() -> None:
    """`quill draft` runs strip_commentary, then unwrap_fence: a fenced reply between a
    preamble and a closing remark comes out as the bare piece."""
    reply = "Here is the draft:\n\n```markdown\n" + LINEN + "\n```\n\nI hope this helps!"

    def both(p: Iterator[Piece]) -> Iterator[Piece]:
        for f in draft_filters():
            p = f(p)
        return p

    assert run_filter(reply, both).strip() == LINEN
    assert (
        run_filter("```markdown\n" + LINEN + "\n```\n\nI hope this helps!", both).strip() == LINEN
    )


def test_is_commentary() -> None:
    assert is_commentary("It follows the structure provided, using Markdown where necessary.")
    assert not is_commentary("It follows the river to the sea.")
    assert not is_commentary("Feel free to drop by the shop any time.")


# -- tidy_notes ------------------------------------------------------------------------


def test_tidy_notes_drops_what_the_next_step_would_copy() -> None:
    notes = (
        "Part 2: The tower leans 11 cm.\n\n## 2. The Survey\n\n**Findings**\n\n"
        "```python\nprint('hi')\n```\n\n<img src=\"x.png\">\n\nForty-three stones were cracked."
    )
    assert tidy_notes(notes) == "The tower leans 11 cm.\n\nForty-three stones were cracked."


def test_tidy_notes_keeps_plain_notes_and_lists() -> None:
    notes = "- The tower was built in 1864.\n- Summary of costs: 1.2 million."
    assert tidy_notes(notes) == notes
    assert tidy_notes("第2部分：塔高三十一米。") == "塔高三十一米。"
    assert tidy_notes("摘要：塔高三十一米。") == "塔高三十一米。"


# -- strip_blocks ------------------------------------------------------------------------


def _char_stream(text: str) -> Iterator[Piece]:
    """One piece per character: the worst case for a filter that decides at line starts."""
    yield from (Piece(ch) for ch in text)
    yield Piece("", finish="stop")


@pytest.mark.parametrize("split", [stream, _char_stream])
def test_strip_blocks_drops_headings_and_code(split: Callable[[str], Iterator[Piece]]) -> None:
    reply = (
        "## 2. The Survey\n\nThe tower leans. It is tall.\n\n# Budget\n\nCost 1.2m.\n\n"
        "```python\nprint('x')\n\nmore()\n```\n\nText after uses `code` and C# inline.\n"
        "- item #1\n- item 2"
    )
    text, last = drain(strip_blocks()(split(reply)))
    assert text == (
        "The tower leans. It is tall.\n\nCost 1.2m.\n\n"
        "Text after uses `code` and C# inline.\n- item #1\n- item 2"
    )
    assert last.finish == "stop"


def test_strip_blocks_keeps_headings_for_an_outline() -> None:
    reply = "## Budget\n\n- Cost 1.2m.\n\n```\ncode\n```\n"
    text, _ = drain(strip_blocks(headings=False)(stream(reply)))
    assert text == "## Budget\n\n- Cost 1.2m.\n\n"


def test_strip_blocks_chinese_and_stop() -> None:
    text, _ = drain(strip_blocks()(_char_stream("盐湖镇。\n\n## 一、开张\n\n一九二六年。")))
    assert text == "盐湖镇。\n\n一九二六年。"
    f = strip_blocks()(guarded(stream("First line here.\nSecond " + "w " * 40)))
    assert next(f).text == "First"
    final = f.throw(StopRequested("interrupted"))
    assert final.finish == "interrupted" and final.stats is not None


def test_typographic_quotes_and_follow_up_sentences() -> None:
    reply = "Sure! Here\u2019s a blog post with three tips:\n\n---\n\n" + LINEN
    assert run_filter(reply).strip() == LINEN
    reply = (
        LINEN + "\n\n---\n\nThis copy is designed to be clear, concise, and engaging for real "
        "readers. It covers the main benefits, provides a call-to-action, and includes a brief "
        "headline that highlights the key point."
    )
    assert run_filter(reply).strip() == LINEN
    # "It …" after a real sentence is the piece going on, not talk about it.
    kept = LINEN + "\n\nOur shirt is cut from Irish linen. It includes a spare button."
    assert run_filter(kept) == kept


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            "**Headline:** Linen for Summer\n\nCool and crisp.",
            "# Linen for Summer\n\nCool and crisp.",
        ),
        ("### Title: Linen\n\nText.", "### Linen\n\nText."),
        ("**Title: Linen Days**\n\nText.", "# Linen Days\n\nText."),
        (
            "# Library\n\n**Lead Paragraph:**\n\nThe library reopens.",
            "# Library\n\nThe library reopens.",
        ),
        ("Text.\n\n**Call to Action:** Subscribe today!", "Text.\n\nSubscribe today!"),
        ("Subject line: Welcome\n\nDear Anna,", "Subject: Welcome\n\nDear Anna,"),
        ("- **Call to action:** order now", "- order now"),
        ("标题：秋天的茶\n\n清香。", "# 秋天的茶\n\n清香。"),
        ("Our title: a new start.\n\nText.", "Our title: a new start.\n\nText."),
    ],
)
def test_labels_naming_the_parts_are_dropped(reply: str, expected: str) -> None:
    # Streamed, a blank line released before a dropped label line may stay: Markdown
    # renders two blank lines as one.
    assert re.sub(r"\n{3,}", "\n\n", run_filter(reply)) == expected


def test_tidy_notes_drops_echoed_headings_and_names_the_document() -> None:
    path = ("故障复盘：支付网关超时", "时间线")
    notes = "1. 200，支付网关超时 > 时间线\n2. 14:38 失败率达到峰值38%。"
    assert tidy_notes(notes, path) == "2. 14:38 失败率达到峰值38%。"
    notes = "**1. History of the Tower**\nThe tower was built in 1864."
    assert tidy_notes(notes, ("The North Light", "1. History of the Tower")) == (
        "The tower was built in 1864."
    )
    notes = "This part of the document discusses the survey. This section lists costs."
    assert tidy_notes(notes) == "The document discusses the survey. The document lists costs."
    assert tidy_notes("这一部分讲了茶馆的历史。") == "文档讲了茶馆的历史。"
    kept = "In this part of the town the tower stands tall."
    assert tidy_notes(kept, ("Town",)) == kept


def test_tidy_notes_drops_the_echoed_prompt_header() -> None:
    notes = (
        'Part 3 of 4 of a document "review.md" (section: Review > Shops):\n'
        "We opened three new shops in 2024."
    )
    assert tidy_notes(notes) == "We opened three new shops in 2024."
    notes = '这是一篇文档 "p.md"的第 2 部分，共 4 部分。10:32 一位同事提交了变更。'
    assert tidy_notes(notes) == "10:32 一位同事提交了变更。"
    assert tidy_notes("松风茶馆百年记第三部分，共4章。茶馆开张于一九二六年。") == (
        "茶馆开张于一九二六年。"
    )


def test_notes_lose_sentences_that_echo_the_instructions() -> None:
    """A sentence of notes made of the prompt's words and not the source's goes; one
    about the source stays, even where it shares a word or two with the prompt."""
    from quill.writing.notes import drop_prompt_echo

    prompt = (
        "You summarize documents faithfully. You report only what the text says: never "
        "invent, never add opinions. You keep names, numbers, dates and places exactly "
        "as written."
    )
    source = "The reservoir fell to 58 per cent on 4 September. Charges rise in April."
    notes = (
        "The reservoir fell to 58 per cent in September. The report states that no "
        "invent is made, no opinions are added, and all names, numbers, dates and places "
        "are exactly as written.\n\nCharges rise in April, the report says."
    )
    assert drop_prompt_echo(notes, prompt, source) == (
        "The reservoir fell to 58 per cent in September.\n\nCharges rise in April, the report says."
    )
    zh_prompt = (
        "你只写原文说过的内容：不编造，不加入个人观点。人名、数字、日期和地名与原文完全一致。"
    )
    zh_notes = "松风茶馆开张于一九二三年。本文不编造，不加入个人观点，人名与原文完全一致。"
    assert drop_prompt_echo(zh_notes, zh_prompt, "松风茶馆开张于一九二三年。") == (
        "松风茶馆开张于一九二三年。"
    )
    assert drop_prompt_echo(notes, "", source) == notes


def test_a_summary_that_echoes_its_prompt_loses_the_header_and_the_tags() -> None:
    """Seen on the 0.5B: the final step pasted its own prompt's first line and the
    "<notes>" tags around the notes."""
    from quill.writing.cleanup import drop_echoed_header

    prompt = (
        'These are notes on the 4 parts of a document "q.md", in order:\n\n<notes>\n'
        "The reservoir fell.\n</notes>\n\nSummarize the whole document from these notes."
    )
    reply = (
        'These are notes on the 4 parts of a document "q.md", in order:\n\n<notes>\n'
        "The reservoir fell to 58 per cent.\n</notes>"
    )

    def final(p: Iterator[Piece]) -> Iterator[Piece]:
        return strip_blocks()(drop_echoed_header(prompt, "The reservoir fell.")(p))

    assert run_filter(reply, final) == "The reservoir fell to 58 per cent.\n"
    kept = "The reservoir fell to 58 per cent.\nIt rained in May."
    assert run_filter(kept, final) == kept
    assert run_filter("I <3 tea.\n<b>Bold</b> stays.", strip_blocks()) == (
        "I <3 tea.\n<b>Bold</b> stays."
    )


# -- a draft begun for the model (a prefill) -------------------------------------------


def opened(reply: str, opening: str = "# ") -> Iterator[Piece]:
    """What `quill draft` runs on an engine stream continuing ``opening``."""
    pieces: Iterator[Piece] = FakeEngine(reply).stream(
        [*ASK, Message("assistant", opening)], Sampling()
    )
    for f in draft_filters(opening):
        pieces = f(pieces)
    return pieces


def test_an_opened_draft_starts_with_its_opening_and_streams_at_once() -> None:
    f = opened(LINEN)
    first = next(f)
    assert first.text == "# Linen"  # the opening with the model's first word, not held
    rest, _ = drain(f)
    assert first.text + rest == LINEN


def test_an_opened_draft_still_loses_closing_talk() -> None:
    text, _ = drain(opened(LINEN + "\n\nI hope this helps! Let me know if you'd like changes."))
    assert text.strip() == LINEN
    text, _ = drain(opened("Subject: Tea on Saturday\n\nDear all,\n\nWe open.", "Subject: "))
    assert text == "Subject: Tea on Saturday\n\nDear all,\n\nWe open."


def test_an_opened_draft_keeps_a_stop_and_what_was_held() -> None:
    reply = "# Title\n\nFirst paragraph here.\n\nSecond " + " ".join(f"w{i}" for i in range(40))
    pieces: Iterator[Piece] = guarded(
        FakeEngine(reply).stream([*ASK, Message("assistant", "# ")], Sampling())
    )
    for f in draft_filters("# "):
        pieces = f(pieces)
    got = [next(pieces).text for _ in range(3)]
    final = pieces.throw(StopRequested("interrupted"))  # type: ignore[attr-defined]
    assert final.finish == "interrupted"
    assert "".join(got).startswith("# Title\n")
    assert "".join(got) + final.text in reply


def test_an_opening_is_not_shown_when_nothing_came() -> None:
    text, last = drain(opened(""))
    assert text == "" and last.finish == "stop"


# -- a heading's title keeps its spaces -----------------------------------------------


def pieces_of(*texts: str) -> Iterator[Piece]:
    yield from (Piece(t) for t in texts[:-1])
    yield Piece(texts[-1], finish="stop")


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # after a lone "#" the 1.5B took the heading for a hashtag
        (
            ("# Harbor", "City", "Library", "Launches", "\n\nHarbor", "City."),
            "# Harbor City Library Launches\n\nHarborCity.",
        ),
        (
            ("# Night", " Market", " Re", "opens", "\n\nIn", " town."),
            "# Night Market Reopens\n\nIn town.",
        ),
        # "…opens on March 3", joined: the number's space came back too
        (
            ("# Elm", "Street", "Library", "Opens", "March", "3", "\n\nOn March 3."),
            "# Elm Street Library Opens March 3\n\nOn March 3.",
        ),
        (("# Top", "10", " Tips", "\n\nText."), "# Top10 Tips\n\nText."),  # one word of two
        (("# You", "Tube", " Tips", "\n\nText."), "# YouTube Tips\n\nText."),
        (("# 夜市", "重开", "\n\n正文。"), "# 夜市重开\n\n正文。"),
        (("# Harbor", "City", "Lib"), "# Harbor City Lib"),
    ],
)
def test_a_joined_title_gets_its_spaces_back(texts: tuple[str, ...], expected: str) -> None:
    from quill.writing.openings import spaced_title

    assert drain(spaced_title()(pieces_of(*texts)))[0] == expected


def test_a_title_is_held_only_while_it_may_be_joined() -> None:
    from quill.writing.openings import spaced_title

    out = spaced_title()(pieces_of("# You", "Tube", " Tips", "\n\nText."))
    assert next(out).text == "# You"  # "Tube" may start a joined title: held
    assert next(out).text == "Tube Tips"
    joined = spaced_title()(guarded(stream("# HarborCity Library opens " + "w " * 30)))
    assert next(joined).text + next(joined).text == "# Harbor"  # one word a piece
    final = joined.throw(StopRequested("interrupted"))
    assert final.finish == "interrupted" and final.text.startswith("City")  # held, kept


def test_a_two_part_title_word_is_spaced_where_the_request_spaces_it() -> None:
    from quill.writing.openings import spaced_title

    texts = ("# Harbor", "City", " Opens", "\n\nText.")
    assert drain(spaced_title("News about Harbor City.")(pieces_of(*texts)))[0] == (
        "# Harbor City Opens\n\nText."
    )
    assert drain(spaced_title("News about the harbor.")(pieces_of(*texts)))[0] == (
        "# HarborCity Opens\n\nText."
    )


def test_a_heading_opening_spaces_its_title_in_the_draft_filters() -> None:
    out = stream("HarborCityLibraryLaunchesClasses\n\nThe library opens classes.")
    for f in draft_filters("# "):
        out = f(out)
    assert drain(out)[0] == "# Harbor City Library Launches Classes\n\nThe library opens classes."


def test_closing_talk_of_two_long_sentences_is_dropped() -> None:
    """The 1.5B closed the README's own product page with 300 characters about it, which
    went out because a paragraph of more than 240 was taken for the piece."""
    talk = (
        "This product page is designed to make the reader want the linen shirt by "
        "highlighting its features, benefits, size guide, care instructions, and user "
        "reviews. It uses persuasive language and visual cues to create an inviting "
        "atmosphere that encourages potential buyers to purchase the product."
    )
    assert len(talk) > 240
    body = "Linen Shirt\n\nSoft, breathable linen for warm days.\n\n### Shop Now\n\nOrder today."
    out = stream(f"{body}\n\n---\n\n{talk}")
    for f in draft_filters("# "):
        out = f(out)
    assert drain(out)[0] == "# " + body
    # a long paragraph whose first sentence is the piece still streams as it comes
    long = "Linen Shirt\n\n" + "The shirt is cut from washed linen. " + "It breathes. " * 60
    pieces = strip_commentary(stream(long), opened=True)
    firsts = [next(pieces).text for _ in range(8)]
    assert all(len(t) < 80 for t in firsts)  # held only until its first sentence is whole
    assert sum(map(len, firsts)) < len(long) / 2


# -- the input's tags echoed ----------------------------------------------------------


def test_an_echoed_closing_tag_ends_the_text_and_the_generation() -> None:
    """What a small model writes after "</text>" is the prompt going on ("Requirements:
    …"): it is dropped and the engine stopped, not run on to its token limit."""
    from quill.writing.chain import untag

    reply = "The market opens on Friday. </text> Requirements: keep it short " + "x " * 50
    engine = FakeEngine(reply)
    text, final = drain(untag("text")(guarded(engine.stream(ASK, Sampling(max_tokens=500)))))
    assert text == "The market opens on Friday."
    assert final.finish == "stop" and final.stats is not None
    assert final.stats.generated_tokens < 20  # stopped at the tag
    split = untag("text")(pieces_of("<text>Hello.\n</te", "xt>\nRequirements:", " more"))
    assert drain(split)[0] == "Hello."
    # a closing tag the source has is the text's own: dropped only at the very end
    svg = 'Put <text x="1">Hi</text> in the file.'
    kept = untag("text", svg)(pieces_of("Put <text ", 'x="1">Hi</text> in', " the file.</text>"))
    assert drain(kept)[0] == svg
