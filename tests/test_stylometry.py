"""The figures of a voice, counted by hand on short texts: sentences, person, tense,
contractions, questions, dialogue, headings and lists, punctuation, and the Chinese
figures; and the distance between a writer's figures and a text."""

from __future__ import annotations

import pytest

from quill.writing import stylometry as sm

EN = """I wake at six. The kettle hums, and I stand at the window. Mr. Brown waves at 7.30 \
every day... Why does he bother? I don't know.

We walked to the shop. It's closed on Sundays! They didn't care."""

ZH = "我六点起床。窗外下着雨，我煮了一壶茶！你呢？\n\n我们去公园散步了。他说：“今天的天气真好。”"


def test_english_sentences_are_counted_exactly() -> None:
    paras = sm.blocks(EN).paragraphs
    assert len(paras) == 2
    assert sm.sentences(paras[0]) == [
        "I wake at six.",
        "The kettle hums, and I stand at the window.",
        "Mr. Brown waves at 7.30 every day...",
        "Why does he bother?",
        "I don't know.",
    ]
    assert len(sm.sentences(paras[1])) == 3
    assert sm.sentences("Dr. Lee met J. Smith, e.g. at noon. Then she left.") == [
        "Dr. Lee met J. Smith, e.g. at noon.",
        "Then she left.",
    ]
    assert sm.sentences('"Come in," she said. "It\'s late." He came.') == [
        '"Come in," she said.',
        '"It\'s late."',
        "He came.",
    ]


def test_english_figures_match_a_hand_count() -> None:
    f = sm.measure(EN)
    # 39 words in 8 sentences, 2 paragraphs
    assert f["sentence_words"] == round(39 / 8, 2)
    assert f["paragraph_sentences"] == 4.0
    assert f["questions_per_100"] == 12.5 and f["exclamations_per_100"] == 12.5
    assert f["contractions"] == round(1000 * 3 / 39, 2)  # don't, It's, didn't
    assert f["first_singular"] == round(1000 * 3 / 39, 2)  # I, I, I
    assert f["first_plural"] == round(1000 / 39, 2)  # We
    assert f["third_person"] == round(1000 * 2 / 39, 2)  # he, They
    assert f["second_person"] == 0.0
    assert f["ellipses"] == round(1000 / 39, 2)
    assert f["headings_per_100"] == 0.0 and f["list_items_per_100"] == 0.0
    assert sm.dominant_person(f) == "first_singular"


def test_tense_person_and_contractions_tell_voices_apart() -> None:
    past = "She walked home. He was tired, and they had left. The loaf was burnt."
    present = "I walk home. She walks the dog. It's cold. We don't talk."
    assert sm.measure(past)["past_tense"] == 100.0
    assert sm.measure(present)["past_tense"] == 0.0
    formal = sm.measure("It is not the case that the river was wide; it was deep.")
    assert formal["contractions"] == 0.0 and formal["semicolons"] > 0
    you = sm.measure("You will love it. Your mornings will change. You can start today.")
    assert sm.dominant_person(you) == "second_person"
    assert sm.measure("Tom's hat is red.")["contractions"] == 0.0  # a possessive


def test_headings_lists_code_and_rules() -> None:
    text = (
        "# Title\n\nSome prose here.\n\n- one\n- two\n\n---\n\nMore prose.\n\n"
        "```\ncode. Not. Counted.\n```\n\n**A bold heading**\n\n| a | b |\n"
    )
    b = sm.blocks(text)
    assert b.paragraphs == ["Some prose here.", "More prose."]
    assert b.headings == 3 and b.items == 2
    f = sm.measure(text)
    assert f["headings_per_100"] == 150.0 and f["list_items_per_100"] == 50.0
    assert f["paragraph_sentences"] == 1.0


def test_lines_that_each_end_a_sentence_are_paragraphs() -> None:
    assert len(sm.blocks("One line ends here.\nAnother line ends too.").paragraphs) == 2
    wrapped = "A sentence that is wrapped\nover two lines."
    assert sm.blocks(wrapped).paragraphs == ["A sentence that is wrapped over two lines."]


def test_chinese_figures_match_a_hand_count() -> None:
    assert sm.script_of(ZH) == sm.ZH
    paras = sm.blocks(ZH).paragraphs
    assert [len(sm.sentences(p)) for p in paras] == [3, 2]
    assert sm.sentences(paras[1])[1] == "他说：“今天的天气真好。”"
    f = sm.measure(ZH)
    # 35 characters in 5 sentences
    assert f["sentence_chars"] == 7.0
    assert f["le_per_100"] == round(100 * 2 / 35, 2)  # 煮了, 散步了
    assert f["de_per_100"] == round(100 / 35, 2)
    assert f["first_singular"] == round(1000 * 2 / 35, 2)  # 我 (not 我们)
    assert f["first_plural"] == round(1000 / 35, 2)
    assert f["second_person"] == round(1000 / 35, 2) and f["third_person"] == round(1000 / 35, 2)
    assert f["questions_per_100"] == 20.0 and f["exclamations_per_100"] == 20.0
    assert f["dialogue_per_100"] == 50.0
    assert "sentence_words" not in f and "contractions" not in f


def test_four_character_idioms() -> None:
    assert sm.count_idioms("日复一日，我们熟了。") == 1  # from the list
    assert sm.count_idioms("那些日子无忧无虑，平平淡淡。") == 2  # ABAC, AABB
    assert sm.count_idioms("我们今天去公园。") == 0


def test_characteristic_words_recur_across_samples() -> None:
    a = "The kettle hums. I like the kettle. Rain on the roof."
    b = "My kettle is old. The kettle sings. Sun on the roof."
    habits = sm.characteristic([a, b])
    assert "kettle" in habits
    assert "rain" not in habits and "sun" not in habits  # once, in one sample


def test_distance_is_zero_for_the_writer_and_grows_with_difference() -> None:
    terse = "I wake. I make tea. It's cold. I don't mind.\n\nThe cat sleeps. I read. It's fine."
    w = sm.measure(terse)
    assert sm.distance(w, terse, sm.EN) == 0.0
    near = "I walk. I buy bread. It's warm. I don't hurry.\n\nThe dog naps. I write."
    far = (
        "# A Guide\n\nYou will find that the morning walk, which many people neglect in "
        "favour of other activities, offers you a remarkable range of benefits that are "
        "well documented.\n\n- benefit one\n- benefit two\n"
    )
    assert sm.distance(w, near, sm.EN) < 0.5 < sm.distance(w, far, sm.EN)
    reasons = sm.strays(w, sm.measure(far), sm.EN)
    assert any("sentences of" in r for r in reasons)
    assert any("second person" in r for r in reasons)
    assert "headings (the writer uses none)" in reasons
    assert sm.strays(w, sm.measure(near), sm.EN) == []


@pytest.mark.parametrize(
    ("mean", "sd", "lo", "hi"), [(5.3, 2.6, 3, 7), (35.9, 13.2, 27, 44), (12.1, 5.3, 8, 16)]
)
def test_sentence_ranges_for_instructions(mean: float, sd: float, lo: int, hi: int) -> None:
    assert sm.spread_range(mean, sd) == (lo, hi)


def test_a_contracted_pronoun_counts_as_its_person() -> None:
    figures = sm.measure("I'm out early. I'll walk to the lock. We've time. You'd like it.")
    assert figures["first_singular"] > 0 and figures["first_plural"] > 0
    assert figures["second_person"] > 0 and figures["third_person"] == 0
