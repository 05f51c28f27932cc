"""Language identification says "unknown" (None) when unsure, never a wrong language:
a Polish sample once came back as Portuguese and a Swedish one as Dutch, and summarize
then wrote in the wrong language."""

from __future__ import annotations

import pytest

from quill.engine.base import Message
from quill.engine.fake import FakeEngine
from quill.writing.language import UNKNOWN, detect_language
from quill.writing.summarize import Summarizer, SummaryOptions

SAMPLES = [
    ("Wczoraj poszedłem do sklepu, ale nie było chleba. To jest bardzo dziwne.", "Polish"),
    ("Nie wiem, czy to jest dobry pomysł, ale spróbujemy jutro.", "Polish"),
    ("Jag vet inte om det är en bra idé, men vi försöker i morgon.", "Swedish"),
    ("Tåget till Göteborg går klockan sju på morgonen. Biljetter köps i kassan.", "Swedish"),
    ("Please summarize this report for the board and keep it under two hundred words.", "English"),
    ("We met at the café on Monday and talked about the naïve plan for hours.", "English"),
    ("市图书馆在两年的翻修之后重新开放。新的阅览室有大窗户，还有一个儿童角。", "Chinese"),
    ("Der Zug nach München fährt um sieben Uhr morgens ab. Karten gibt es am Schalter.", "German"),
    ("Die Stadtbibliothek öffnet nach zwei Jahren Umbau wieder für alle.", "German"),
]


@pytest.mark.parametrize("text, lang", SAMPLES)
def test_short_samples(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    "text, never",
    [
        # Polish words Portuguese shares (do, o, a, na) and a ł that Portuguese never writes
        ("Latarnik poszedł do domu, a o tej porze na ulicy nie ma nikogo.", "Portuguese"),
        # Swedish "de", "en", "det" are Dutch and Danish words too
        ("De kom hem sent, och det var en lång natt för dem alla.", "Dutch"),
        # Norwegian and Danish share most short words: unknown rather than a guess
        ("Toget til Bergen går klokken sju om morgenen. Billetter kan kjøpes på nettet.", "Danish"),
    ],
)
def test_never_the_wrong_language(text: str, never: str) -> None:
    assert detect_language(text) != never


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "x = 1; y = 2; z = 3; print(x, y, z) # 42 42 42",
        "Vagten tændte lampen, og skibene sejlede forbi. Det er ikke let.",  # da or no?
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
    ],
)
def test_unsure_is_unknown(text: str) -> None:
    assert detect_language(text) is None
    assert UNKNOWN == "unknown"


@pytest.mark.parametrize("method, n_ctx", [("auto", 4096), ("map-reduce", 800)])
def test_summary_of_an_unknown_language_names_no_language(method: str, n_ctx: int) -> None:
    """Unknown is not named: a summary in parts asks for "the same language as the
    document", the one-step request (the text follows it) names none, and no step asks
    for a language the detector guessed."""
    para = (
        "Vagten tændte lampen, og skibene sejlede forbi i natten med vinden. "
        "Hun skrev det hele ned i sin bog, før solen stod op over havet."
    )
    text = "\n\n".join(f"## Del {k}\n\n{para} {para}" for k in range(30))
    assert detect_language(text) is None

    def reply(messages: list[Message]) -> str:
        return "Et kort resumé af bogen."

    engine = FakeEngine(reply, n_ctx=n_ctx)
    s = Summarizer(engine, SummaryOptions(method=method))
    job = s.start(s.plan(text, "note.md"))
    list(s.run(job))
    s.finish(job)
    prompts = ["\n".join(m.content for m in call) for call in engine.calls]
    assert not any("Write in " in p and "same language" not in p for p in prompts)
    if method == "map-reduce":
        assert len(prompts) > 1 and "same language as the document" in prompts[-1]
