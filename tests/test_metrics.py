"""The writing metrics: pure functions, no model."""

from __future__ import annotations

import pytest

from quill.writing import metrics as m
from quill.writing.summarize import CJK_CHARS_PER_WORD

# -- units --------------------------------------------------------------------------


def test_units_words_and_cjk_characters() -> None:
    assert m.units("The Quick, brown fox!") == ["the", "quick", "brown", "fox"]
    assert m.units("茶馆开业") == ["茶", "馆", "开", "业"]
    assert m.units("Quenby 茶馆 2019年") == ["quenby", "茶", "馆", "2019", "年"]


def test_normalize_full_width_and_thousands() -> None:
    assert m.normalize("１２５０") == "1250"
    assert m.normalize("12,500 and 3,4") == "12500 and 3,4"
    assert m.normalize("It’s “fine”") == 'it\'s "fine"'


# -- diversity and repetition ---------------------------------------------------------


def test_distinct_n_across_samples() -> None:
    assert m.distinct_n(["a b c", "a b c"], 2) == pytest.approx(2 / 4)
    assert m.distinct_n(["a b c", "d e f"], 2) == 1.0
    assert m.distinct_n(["one"], 2) == 0.0
    # n-grams do not cross from one sample into the next: ("c", "a") is never counted
    assert m.distinct_n(["a b c", "a b"], 2) == pytest.approx(2 / 3)
    assert m.distinct_n(["春天来了", "春天来了"], 2) == pytest.approx(0.5)


def test_repeated_ngram_rate() -> None:
    assert m.repeated_ngram_rate("the sea was calm that night and the wind was low") == 0.0
    loop = "The sea was calm. " * 10
    assert m.repeated_ngram_rate(loop) > 0.8
    assert m.repeated_ngram_rate("too short") == 0.0


def test_copy_rate_words() -> None:
    source = (
        "The council approved the new reservoir on Tuesday after a long debate about the "
        "cost of the pipes and the pumps."
    )
    copied = "The council approved the new reservoir on Tuesday after a long debate."
    own = "After arguing over pipe and pump costs, councillors said yes to a reservoir."
    assert m.copy_rate(copied, source) == 1.0
    assert m.copy_rate(own, source) == 0.0
    assert m.copy_rate("too short to count", source) == 0.0


def test_copy_rate_cjk_uses_longer_character_spans() -> None:
    source = "清风茶馆于一九二三年在杭州开业，创办人是林秋白，他原本是一名教书先生。"
    copied = "清风茶馆于一九二三年在杭州开业，创办人是林秋白。"
    own = "林秋白原为教师，一九二三年在杭州创办了清风茶馆。"
    assert m.copy_rate(copied, source) > 0.9
    # names and dates repeat, but no twelve-character span does
    assert m.copy_rate(own, source) == 0.0
    assert m.copy_rate(own, source, cjk_n=4) > 0.0


# -- facts ----------------------------------------------------------------------------


def test_facts_carried_forms_case_and_width() -> None:
    facts = [["Quenby"], ["42%", "42 per cent", "百分之四十二"], ["12,500", "12500"], ["1923"]]
    text = "QUENBY said costs rose by 42 per cent; the plant serves １２５００ homes."
    assert m.facts_found(text, facts) == [True, True, True, False]
    assert m.facts_carried(text, facts) == pytest.approx(3 / 4)
    assert m.facts_carried("增长百分之四十二，一九二三年", facts) == pytest.approx(1 / 4)
    assert m.facts_carried("nothing", []) == 0.0


def test_facts_thousands_separator_either_way() -> None:
    assert m.facts_carried("we served 12500 homes", [["12,500"]]) == 1.0
    assert m.facts_carried("we served 12, 500 homes", [["12500"]]) == 0.0  # a list, not 12500
    assert m.facts_carried("服务 12,500 户", [["12500"]]) == 1.0


def test_a_chinese_date_said_as_spoken_is_the_same_date() -> None:
    facts = [["5月8日", "5/8"]]
    assert m.facts_carried("培训改到5月8号周四下午。", facts) == 1.0
    assert m.facts_carried("培训改到5月18号。", facts) == 0.0


def test_facts_not_inside_longer_numbers_or_words() -> None:
    assert m.facts_carried("costs rose 142%", [["42%"]]) == 0.0
    assert m.facts_carried("a pH of 4.25", [["4.2"]]) == 0.0
    assert m.facts_carried("a pH of 4.2.", [["4.2"]]) == 1.0
    assert m.facts_carried("in 18640 cases", [["1864"]]) == 0.0
    assert m.facts_carried("Quenbyshire", [["Quenby"]]) == 0.0
    assert m.facts_carried("营收增长42%。", [["42%"]]) == 1.0
    assert m.facts_carried("Anna  Reyes", [["Anna Reyes"]]) == 1.0


# -- length -----------------------------------------------------------------------------


def test_length_ratio_words_and_cjk() -> None:
    text = " ".join(["word"] * 150)
    assert m.length_ratio(text, 150, "English") == pytest.approx(1.0)
    assert m.length_ok(text, 100, "English") is False
    assert m.length_ok(text, 120, "English") is True
    zh = "字" * 170
    assert m.length_ratio(zh, 100, "Chinese") == pytest.approx(170 / (100 * CJK_CHARS_PER_WORD))
    assert m.length_ok(zh, 100, None)  # detected as Chinese
    with pytest.raises(ValueError):
        m.length_ratio("x", 0)


def test_mixed_text_counts_words_and_characters() -> None:
    assert m.count_units("用 Python 写") == 3


# -- endings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "It ends here.",
        "It ends here.  \n\n",
        'She said "yes."',
        "Is it over?)",
        "**Order today!**",
        "茶馆至今仍在营业。",
        "他说：“好。”",
        "Wait for it…",
        "Intro.\n\n- Breathable linen\n- Machine washable",
        "# Notes\n\n## Next steps",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "Thanks for reading.\n\nBest regards,\nMaria Lind",
        "Thanks for reading.\n\nBest regards,\nMaria Lind\nHead of People\nNorthwind Ltd",
        "请在周五前提交。\n\n此致\n敬礼\n[你的名字]\n人事部",
        "期待与您在图书馆相见！\n\n真诚的朋友\n[你的名字]",
        "感谢各位的支持。\n\n李明 敬上",
        "Code:\n\n```python\nprint(1)\n```",
        "Shop now! 🌿✨",
        "- Free returns 👕",
        # the blanks a letter ends with, under its sign-off or after its last sentence
        "Thanks.\n\nSincerely,\n\n[Your Name]  \n[Your Title]  \n[Company]  \n[Phone, Email]",
        "感谢您的理解和支持！\n\n祝您生活愉快！\n\n[小区名称]\n【日期】",
        # a notice's issuer and date under its last sentence
        "感谢您的理解与配合！\n\n物业管理部  \n2023年XX月XX日",
        "Thanks for your patience.\n\nLibrary Services\nMarch 1, 2027",
        # a post's hashtags after its last sentence
        "Share this treat with your friends! #bakery #croissant #sweet",
        "New croissants today.\n\n#bakery #butter",
        "Let's achieve great things! 📈\n\n#Engineering #Management",
        "我们期待着你的到来！#阅读 #独立书店",
    ],
)
def test_ends_complete(text: str) -> None:
    assert m.ends_complete(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "It stops in the middle of",
        "The budget was",
        "茶馆的历史可以追溯到",
        "- Breathable linen that keeps you cool and",
        "- Available in three colours,",
        "Costs rose by 42%, and",
        "```python\nprint(1)",
        "Shop the collection and 🌿",
        "Best regards,\nMaria Lind\nHead of People\nNorthwind\nSee you on the",
        "Thanks.\n\nBest regards,\nI will send the full schedule of every session as soon as",
        "We open on the\n\n[Your Name]\n[Your Title]",
        "We open on the\n\nLibrary Services\nMarch 1, 2027",
        "[Your Name]",
        "Meet us at the #market and",
        "Fresh from the oven #bakery",
    ],
)
def test_ends_incomplete(text: str) -> None:
    assert not m.ends_complete(text)


# -- leaked instructions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Here is a product page for a linen shirt:\n\n# Linen Shirt\n\nCool.", "here is a"),
        ("Here's your blog post:\n\nSpring is here.", "here's your"),
        ("Sure! Here is the email.\n\nDear Ana,", "sure!"),
        ("# Linen\n\nSoft and cool.\n\nI hope this helps!", "hope this helps"),
        ("Soft and cool.\n\nThis piece is written in a warm tone.", "this piece is written"),
        ("Written in the same language as the brief, it sings.", "same language as the brief"),
        ("Soft and cool.\n\n(Word count: 148)", "word count"),
        ("Soft and cool.\n\nNote: the tone is playful, as requested.", "note:"),
        ("A poem.\n\nThe text follows the structure you asked for.", "follows the structure"),
        ("以下是一篇关于秋天的短诗：\n\n秋风起。", "以下是"),
        ("秋风起，落叶黄。\n\n希望对你有帮助！", "希望对你有帮助"),
        ("根据您的要求，我写了这封邮件。\n\n您好：", "根据您的要求"),
        ("秋风起，落叶黄。\n\n（字数：约120字）", "字数"),
        ("Great shirts.\n\nLet me know if you want changes.", "let me know"),
        ("Great shirts.\n\nFeel free to adjust the tone.", "feel free to"),
        ("Great shirts.\n\nLet me know if you need anything else!", "let me know"),
        ("Below is a simple page for a linen shirt.\n\n# Linen", "below is a"),
        (
            "# Linen\n\nShort Persuasive Description:\nSoft and cool.",
            "short persuasive description",
        ),
        ("**Headline:** Cool Linen\n\nSoft.", "headline"),
        ("Subject line: We are open!\n\nDear friends,", "subject line"),
        ("I'm sorry, but I can't assist with that request.", "i can't assist"),
        ("抱歉，我无法完成这个请求。", "我无法"),
        ("As a language model, I don't have personal experiences.\n\nThe ramen…", "language"),
        ("Sure! Please provide me with the details of the linen shirt.", "please provide"),
        ("To write this, I need more details about your shop.", "i need more details"),
        ("请提供更多关于产品的信息。", "请提供"),
        ("秋风起。\n\n这是一首关于秋天的诗，用意象描绘了秋天。", "这是一首关于秋天的诗"),
        ("当然，请提供关于咖啡店的内容，我会写。", "请提供"),
        (
            "# Linen\n\nSoft.\n\nThis product page is designed to show the shirt's features.",
            "this product page is designed",
        ),
    ],
)
def test_leaked_phrases_found(text: str, fragment: str) -> None:
    found = m.leaked_phrases(text)
    assert any(fragment in f.lower() for f in found), found


@pytest.mark.parametrize(
    "text",
    [
        # "here is" inside the piece is not about the brief
        "# The Linen Shirt\n\nMade in Portugal.\n\nHere is why you'll love it: it breathes.\n\n"
        "It is cut for summer.\n\n- Soft\n- Cool",
        "# Spring\n\nWalk outside. Here is the thing about April: it forgives.\n\nMore.\n\nEnd.",
        "# Launch\n\nHere's why you'll love it.\n\nShop now.",
        "Dear Ana,\n\nThank you for the brief you sent on Monday; the designs are ready.\n\n"
        "More text.\n\nBest,\nJo",
        "# Shirt\n\n- Length: 74 cm\n- Weight: 180 g",
        "Subject: We are open on Saturday\n\nDear friends,\n\nCome by.\n\nWarmly,\nAnn",
        "# Linen\n\n## Key Features:\n\n- Soft\n- Cool",
        "The headline of the day: rain.\n\nMore.\n\nEnd.",
        "Sorry we missed you! Our shop is open again on Saturday.\n\nCome by.",
        "Final offer.\n\nNote: the sale ends on 30 June.",
        "秋天的茶馆里，以下是老人们常点的茶：龙井、碧螺春。\n\n他们坐到傍晚。\n\n然后回家。",
        "The hotel word of mouth grew.\n\nHere is to the next ten years!",
        "# Linen\n\nSoft.\n\nThe shirt is designed in Porto and made to last.",
        "Please join us on Saturday and tell your friends!\n\nWe open at nine.\n\nSee you.",
        # a reader invited to ask, as real posts and emails end
        "We hired Ana!\n\nPlease feel free to reach out if you have any questions!\n\nThanks!",
        "Dear Ana,\n\nYour mugs are on their way.\n\nLet me know when they arrive.\n\nBest,\nJo",
    ],
)
def test_leaked_phrases_not_found(text: str) -> None:
    assert m.leaked_phrases(text) == []


# -- structure ------------------------------------------------------------------------------


def test_heading_echo() -> None:
    source = "# Report\n\nText.\n\n## Budget\n\nMoney.\n\n## Staff\n\nPeople.\n\n```\n# not\n```\n"
    assert m.heading_echo("The report covers money and people.", source) == 0.0
    echo = "**Report**\n\n- Budget:\n  spent.\n\n## Staff\n\nPeople."
    assert m.heading_echo(echo, source) == pytest.approx(1.0)
    assert m.heading_echo("Budget and staff went well.", source) == 0.0
    assert m.heading_echo("anything", "no headings here") == 0.0


def test_facts_at_the_asked_length() -> None:
    assert m.at_asked_length(0.6, 2.0) == pytest.approx(0.3)  # twice as long: half credit
    assert m.at_asked_length(0.6, 1.0) == pytest.approx(0.6)
    assert m.at_asked_length(0.6, 0.5) == pytest.approx(0.6)  # short: no bonus, no penalty
