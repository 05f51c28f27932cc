"""Voice profiles: measured by code, kept as TOML that round-trips exactly, shown to a
draft by example (the writer's passages closest to the brief) and as a few plain
instructions, and checked: `quill style learn|list|show|check|rm`, `--style` on draft,
rewrite, continue and chat, and the retry of a styled draft that strays far."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run

from quill.engine.fake import FakeEngine
from quill.errors import InputError, UsageError
from quill.writing import style
from quill.writing import stylometry as sm

BIKE = """I bought a bike in March. It's old. The paint's gone chalky and the bell sticks. \
I don't care. I ride it to work most days, down the canal path. He waves. I wave back.

Some mornings the towpath floods. I walk then. It takes twice as long and I'm late. \
Nobody minds. The ducks don't move for anyone. I've learned to go round them.

I oiled the chain last Sunday. Took an hour. My hands still smell of it. It doesn't \
squeak now. I miss the squeak a little.
"""

BREAD = """I bake bread on Saturdays. Nothing fancy. Flour, water, salt, yeast. I'm not \
patient, so the dough rises while I read. Sometimes it rises too far. I bake it anyway.

The first loaf was a brick. I ate it. The second was better. By the tenth I'd stopped \
counting. My neighbour gets the heels. She says she likes them. I don't believe her.

```
code is never a passage
```

There's a crack in the oven door. Heat leaks out. I've meant to fix it for a year. I \
won't. The bread doesn't seem to mind, and neither do I.
"""

RAIN = """It rained all week. I didn't go out. I made soup on Monday and ate it till \
Thursday. Then I made more.

The roof leaks over the stairs. I've put a pot there. It plinks. At night it's almost a \
tune. I lie awake and count the drops. I lose count around forty.

Friday the sun came out. I went for a walk. The park was all mud and dogs. I'm glad I \
went. I'm also glad it's raining again.
"""

ZH_SAMPLE = (
    "去年秋天，我搬了家。新家在老城区，离菜市场很近。每天早上，我都能听见楼下卖豆浆的吆喝声。"
    "刚搬来的时候，我很不习惯。屋子小了，窗户也旧了，一下雨就漏风。后来我买了几盆花，"
    "放在窗台上。屋里一下子亮堂了。\n\n"
)

LISTICLE = (
    "# Morning Walks: A Complete Guide\n\n"
    "Welcome back to morning walks! You will discover that a regular morning walk, which "
    "so many busy people neglect in favour of other activities, offers you a remarkable "
    "range of benefits for body and mind.\n\n"
    "### Benefits\n\n- Better sleep\n- More energy\n"
)
TERSE = (
    "I walk at seven most days. The street's still empty. I don't hurry much. A fox "
    "crosses by the bins. It stops and stares. I stop too.\n\nI'm home by eight. The "
    "kettle's already on. I've earned it, I think."
)


@pytest.fixture
def samples(tmp_path: Path) -> list[str]:
    paths = []
    for name, text in (("bike.md", BIKE), ("bread.md", BREAD), ("rain.md", RAIN)):
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        paths.append(str(p))
    return paths


def profile() -> style.Profile:
    return style.new_profile("me", [BIKE, BREAD, RAIN], ["bike.md", "bread.md", "rain.md"])


# -- the profile --------------------------------------------------------------------------


def test_a_profile_is_figures_and_passages_from_code() -> None:
    p = style.new_profile("me", [BIKE, BREAD, RAIN], ["a"], tone="Dry, wry, quiet.")
    assert p.script == sm.EN and p.language == "English" and p.samples == 3
    assert 4 < p.figures["sentence_words"] < 8
    assert p.figures["headings_per_100"] == 0 and p.figures["contractions"] > 40
    assert sm.dominant_person(p.figures) == "first_singular"
    assert p.tone == "Dry, wry, quiet"
    flat = " ".join((BIKE + BREAD + RAIN).split())
    assert p.passages and all(" ".join(x.split()) in flat for x in p.passages)  # as written
    assert not any("code is never" in x for x in p.passages)
    habits = style.instructions(p)
    assert habits[:3] == [
        "sentences of 3-7 words",
        "first person (I, my)",
        "contractions (I'm, don't, it's)",
    ]
    assert "plain paragraphs, no headings" in habits and "no lists" in habits


def test_a_tone_line_that_runs_on_is_not_kept() -> None:
    assert style.tone_line("Tone: warm, playful") == "warm, playful"
    assert style.tone_line("- **dry, wry**\n") == "dry, wry"
    assert style.tone_line("The writer uses the passive voice, such as " + "x " * 30) == ""
    said = "Old, chalky, bell sticks, wry, baking bread on Saturdays"  # the 0.5B, once
    assert style.tone_line(said, [BIKE, BREAD]) == "wry"  # the samples' words are content


def test_too_little_text_is_refused_with_the_amount_needed() -> None:
    with pytest.raises(InputError) as exc:
        style.new_profile("me", [RAIN], ["rain.md"])
    assert "words of prose" in exc.value.message and "250 words" in (exc.value.hint or "")
    with pytest.raises(InputError) as exc:
        style.new_profile("zh", [ZH_SAMPLE], ["zh.md"])
    assert "characters of prose" in exc.value.message
    assert "400 characters" in (exc.value.hint or "")
    zh = style.new_profile("zh", [ZH_SAMPLE * 5], ["zh.md"])
    assert zh.script == sm.ZH and "sentence_chars" in zh.figures
    assert style.instructions(zh)[0].startswith("每句")


TRICKY = [
    'Quotes "inside" and a last quote"',
    'Three """ in a row, and """"" five',
    "A backslash \\ and \\n that is not a newline, a tab\tand\r\na CRLF",
    "\nStarts with a newline and ends with two\n\n",
    "Control \x00\x07\x1b[31m and DEL \x7f and an emoji 🙂 and 中文",
    "'''literal quotes''' and a trailing backslash \\",
]


def test_the_profile_round_trips_exactly_through_toml() -> None:
    p = profile()
    p.passages += TRICKY
    p.tone = 'dry "wry"\nquiet'
    p.sources.append('odd "name"\\.md')
    p.habits.append("it's")
    text = style.dumps(p)
    tomllib.loads(text)  # valid TOML
    back = style.loads(text, "me")
    assert back == p
    assert style.dumps(back) == text
    z = style.new_profile("zh", [ZH_SAMPLE * 5], ["zh.md"])
    assert style.loads(style.dumps(z), "zh") == z


def test_style_names_are_file_names() -> None:
    with pytest.raises(UsageError):
        style.check_name("../etc/passwd")
    assert style.check_name("my-blog_2.0") == "my-blog_2.0"


# -- shown to a draft ------------------------------------------------------------------------


def test_a_draft_sees_the_passages_closest_to_its_brief() -> None:
    p = profile()
    first = style.closest_passages(p, "a blog post about baking bread and the oven")[0]
    assert "bread" in first.lower() or "oven" in first.lower()
    first = style.closest_passages(p, "a note about the roof and the rain")[0]
    assert "roof" in first or "rained" in first
    text = style.system_text(p, "a note about bread")
    assert text.startswith("Write the way I write. Here are passages I wrote")  # for chat
    assert "<<<\n" in text and "How I write: sentences of 3-7 words;" in text
    assert text.headings is False and len(text.turns) == 2 * len(style.closest_passages(p, "bread"))
    assert text.turns[0].role == "user" and "bread" in text.turns[0].content
    assert text.turns[1].role == "assistant" and "<<<" not in text.system


def test_a_heading_begun_for_the_model_is_taken_back_for_a_voice_without_headings() -> None:
    from quill.writing import draft as drafting
    from quill.writing.verbs import with_style

    msgs = drafting.build_messages("a blog post about morning walks")
    voice = style.system_text(profile(), "morning walks")
    styled = with_style(msgs, voice)
    assert styled[-1].role == "user" and "How I write" in styled[0].content
    assert [m.role for m in styled[1:-1]] == ["user", "assistant"] * (len(voice.turns) // 2)
    if msgs[-1].role == "assistant":  # the blog form opens with "# "
        assert msgs[-1].content.startswith("#")
    plain = with_style(msgs, "Write plainly.")  # a str: nothing known of headings
    assert plain[-1] == msgs[-1]


# -- the CLI ---------------------------------------------------------------------------------


def test_learn_list_show_check_rm(
    cli: Callable[..., Run], samples: list[str], tmp_path: Path
) -> None:
    engine = FakeEngine("dry, wry, quiet")
    r = cli(["style", "learn", "me", *samples, "--tone", "--seed", "1"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("style me: English, learned from 3 samples")
    assert "words per sentence" in r.stdout and "drafts are told: sentences of" in r.stdout
    assert "tone (named by the model): dry, wry, quiet" in r.stdout
    assert "<<<" in engine.calls[0][-1].content  # the model saw passages, for the tone only
    path = Path(r.env.paths.config_dir) / "styles" / "me.toml"
    assert path.is_file() and "--style me" in r.stderr
    data = tomllib.loads(path.read_text())
    assert data["figures"]["headings_per_100"] == 0 and len(data["passage"]) >= 3
    r = cli(["style", "learn", "me", *samples], engine=engine)
    assert r.exit_code == UsageError.exit_code and "--force" in r.stderr
    r = cli(["style", "list"])
    assert r.stdout.startswith("me  3 samples")
    r = cli(["style", "show", "me"])
    assert "contractions per 1000 words" in r.stdout and "passages kept:" in r.stdout
    r = cli(["style", "show", "me", "--toml"])
    assert r.stdout == path.read_text()

    post = tmp_path / "post.md"
    post.write_text(LISTICLE, encoding="utf-8")
    r = cli(["style", "check", str(post), "--style", "me"])
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["figure", "writer", "text", "distance"]
    row = next(ln for ln in lines if ln.strip().startswith("words per sentence"))
    assert float(row.split()[-2 if row.endswith("#") else -1]) > 1  # far from 5-word lines
    assert "headings (the writer uses none)" in r.stdout and "distance from `me`:" in r.stdout
    far = json.loads(cli(["style", "check", str(post), "--style", "me", "--json"]).stdout)
    post.write_text(TERSE, encoding="utf-8")
    near = json.loads(cli(["style", "check", str(post), "--style", "me", "--json"]).stdout)
    assert near["distance"] < far["distance"] and near["strays"] == []
    assert {f["figure"] for f in near["figures"]} >= {"sentence_words", "contractions"}

    r = cli(["style", "rm", "me"])
    assert r.exit_code == 0 and not path.exists()
    r = cli(["style", "show", "me"])
    assert r.exit_code == UsageError.exit_code


def test_learn_refuses_too_little_before_the_model_loads(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    short = tmp_path / "short.md"
    short.write_text(RAIN, encoding="utf-8")
    engine = FakeEngine("x")
    r = cli(["style", "learn", "me", str(short), "--tone"], engine=engine)
    assert r.exit_code == InputError.exit_code and "at least 250 words" in r.stderr
    assert engine.calls == []


def test_learn_without_a_tone_needs_no_model(cli: Callable[..., Run], samples: list[str]) -> None:
    engine = FakeEngine("x")
    r = cli(["style", "learn", "me", *samples], engine=engine)  # no --tone
    assert r.exit_code == 0, r.stderr
    assert engine.calls == [] and "tone (named by the model): (none)" in r.stdout


@pytest.fixture
def learned(cli: Callable[..., Run], samples: list[str]) -> None:
    r = cli(["style", "learn", "me", *samples, "--tone"], engine=FakeEngine("dry, wry"))
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["draft", "a note about baking bread", "--style", "me"], None),
        (["rewrite", "--style", "me"], "Some text about bread.\n"),
        (["continue", "--style", "me"], "Some text.\n"),
    ],
)
def test_style_joins_the_system_prompt(
    cli: Callable[..., Run], learned: None, args: list[str], stdin: str | None
) -> None:
    engine = FakeEngine(TERSE)
    r = cli([*args, "--no-save"], engine=engine, stdin=stdin)
    assert r.exit_code == 0, r.stderr
    sent = engine.calls[0]
    system = sent[0].content
    assert "your earlier replies here are passages I wrote" in system
    assert "How I write: sentences of 3-7 words;" in system and "My tone: dry, wry." in system
    # the writer's passages, shown as the model's own earlier replies
    shown = [m.content for m in sent[1:-1] if m.role == "assistant"]
    asked = [m.content for m in sent[1:-1] if m.role == "user"]
    assert 1 <= len(shown) <= style.SHOWN and len(asked) == len(shown)
    assert all(a.startswith("Write a short piece about ") for a in asked)
    flat = " ".join((BIKE + BREAD + RAIN).split())
    assert all(" ".join(x.split()) in flat for x in shown)
    assert sent[-1].role == "user" and "<<<" not in system
    if "bread" in " ".join(args) + (stdin or ""):
        assert "bread" in shown[0].lower()  # the closest passage first


def test_a_styled_draft_that_strays_is_written_again_and_the_closer_kept(
    cli: Callable[..., Run], learned: None
) -> None:
    replies = iter([LISTICLE, TERSE])
    engine = FakeEngine(lambda messages: next(replies))
    r = cli(
        ["draft", "a blog post about morning walks", "--style", "me", "--seed", "7"], engine=engine
    )
    assert r.exit_code == 0, r.stderr
    assert len(engine.calls) == 2 and [p.seed for p in engine.params] == [7, 8]
    assert engine.calls[0][-1].role == "user"  # no "# " begun for the model
    assert r.stdout.strip() == TERSE.strip() and "Welcome" not in r.stdout
    assert "strayed from `me`" in r.stderr and "written again with seed 8" in r.stderr
    assert "kept the second" in r.stderr
    r = cli(["drafts", "show", "1"])
    assert r.stdout.strip() == TERSE.strip()  # the kept draft is the one shown


def test_a_styled_draft_close_to_the_voice_is_written_once(
    cli: Callable[..., Run], learned: None
) -> None:
    engine = FakeEngine(TERSE)
    r = cli(["draft", "a note about walks", "--style", "me", "--no-save"], engine=engine)
    assert r.exit_code == 0 and len(engine.calls) == 1
    assert r.stdout.strip() == TERSE.strip() and "strayed" not in r.stderr


def test_style_in_chat_is_added_once(cli: Callable[..., Run], learned: None) -> None:
    engine = FakeEngine("hello")
    r = cli(["chat", "--style", "me", "--session", "s"], engine=engine, stdin="hi\n")
    assert r.exit_code == 0, r.stderr
    system = engine.calls[0][0].content
    assert system.count("Here are passages I wrote") == 1
    r = cli(["chat", "--style", "me", "--session", "s"], engine=engine, stdin="again\n")
    assert engine.calls[1][0].content.count("Here are passages I wrote") == 1


def test_an_unknown_style_fails_before_the_model_runs(cli: Callable[..., Run]) -> None:
    engine = FakeEngine("x")
    r = cli(["draft", "x", "--style", "nope"], engine=engine)
    assert r.exit_code == UsageError.exit_code and "no style `nope`" in r.stderr
    assert engine.calls == []


# -- the real model ------------------------------------------------------------------------


@pytest.mark.model
def test_a_styled_draft_has_no_headings_when_the_samples_have_none(
    cli: Callable[..., Run], samples: list[str], llama_engine: object
) -> None:
    r = cli(["style", "learn", "me", *samples])
    assert r.exit_code == 0, r.stderr
    args = ["draft", "a blog post about morning walks", "--style", "me", "--no-save"]
    r = cli(
        [*args, "--max-tokens", "120", "--temperature", "0", "--seed", "1"], engine=llama_engine
    )
    assert r.exit_code == 0, r.stderr
    text = r.stdout
    assert sm.blocks(text).headings == 0 and "#" not in text, text
    assert sm.measure(text)["first_singular"] > 0, text  # the writer's person


def test_ctrl_c_while_a_styled_draft_is_written_keeps_what_was_written() -> None:
    from quill.engine.generation import generate
    from quill.signals import ABORT
    from quill.writing.presets import sampling
    from quill.writing.style_check import CheckedDraft

    engine = FakeEngine(LISTICLE)
    heard: list[str] = []

    class Keep:
        def on_text(self, text: str) -> None:
            heard.append(text)

        def on_done(self, result: object) -> None:
            heard.append("<done>")

    draft = CheckedDraft(
        lambda p: generate(engine, [], p), sampling("balanced", 200, seed=3), profile()
    )
    draft.add_listener(Keep())
    ABORT.raised = True  # as a first Ctrl-C leaves it while nothing is shown yet
    try:
        shown = "".join(draft)
    finally:
        ABORT.raised = False
    result = draft.close()
    assert len(engine.calls) == 1  # no retry after Ctrl-C
    assert result.finish == "interrupted" and result.text == shown
    assert 0 < len(shown) < len(LISTICLE) and LISTICLE.startswith(shown)
    assert "".join(heard[:-1]) == shown and heard[-1] == "<done>"


def test_a_draft_that_copies_the_passages_strays() -> None:
    from quill.writing.style_check import check

    p = profile()
    copied = p.passages[0]
    d_copy, why = check(p, copied)
    assert any("copies the passages" in w for w in why)
    d_own, why = check(p, TERSE)
    assert why == [] and d_own < d_copy  # its own words, close figures


def test_best_of_keeps_the_closest_styled_draft(cli: Callable[..., Run], learned: None) -> None:
    replies = iter([LISTICLE, TERSE, LISTICLE])
    engine = FakeEngine(lambda messages: next(replies))
    args = ["draft", "a note about walks", "--style", "me", "--seed", "4", "--best-of", "3"]
    r = cli([*args, "--no-save"], engine=engine)
    assert r.exit_code == 0, r.stderr
    assert [p.seed for p in engine.params] == [4, 5, 6]
    assert r.stdout.strip() == TERSE.strip()
    assert "wrote 3 drafts, kept the closest to `me` (seed 5" in r.stderr
