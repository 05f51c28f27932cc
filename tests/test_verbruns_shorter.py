"""`quill shorten`'s check: half the length may leave out some detail."""

from quill.writing.verbruns import SHORTER_MAY_DROP, check_rewrite
from quill.writing.verbs import RewriteOptions

SOURCE = (
    "The library opened in 1962. In 2024, 1,240 people answered the survey: 68% asked "
    "for longer hours and 54% for study rooms. The new room costs $38,000. The help desk "
    "opens on Saturday mornings, staffed by volunteers from Millbrook."
)


def test_a_shortened_text_may_drop_a_few_facts_but_not_most() -> None:
    check = check_rewrite(SOURCE, RewriteOptions(length="shorter"))
    kept = (
        "Opened in 1962, the library surveyed 1,240 people in 2024: 68% want longer hours "
        "and 54% study rooms, and a $38,000 room is planned in Millbrook."
    )
    few = check(kept)
    assert not any(p.startswith("drops") for p in few.problems)
    bare = check("The library asked people what they want and will change a few things.")
    assert any(p.startswith("drops") for p in bare.problems)
    assert check(SOURCE).penalty <= few.penalty  # keeping them all still ranks first
    same = check_rewrite(SOURCE, RewriteOptions(tone="formal"))(kept)
    assert any(p.startswith("drops") for p in same.problems)  # a tone rewrite keeps all
    assert 0 < SHORTER_MAY_DROP < 0.5


ARTICLE = (
    " ".join(
        f"In week {i} the team merged {30 + i} pull requests and raised {i % 4 + 2} blockers "
        "in the standup, most of them resolved the same day."
        for i in range(1, 13)
    )
    + " In the end 12 of 14 voted to keep the afternoon slot."
)


def test_a_shortened_text_that_is_the_opening_cut_short_fails() -> None:
    """Copied from the start and stopped at the length is not shortened: the rest is
    left out, not condensed."""
    from quill.writing.verbcheck import is_cut_opening

    opening = ARTICLE[: len(ARTICLE) // 2].rsplit(".", 1)[0] + "."
    check = check_rewrite(ARTICLE, RewriteOptions(length="shorter"))
    assert "is the text's opening, cut short" in check(opening).problems
    condensed = (
        "Over twelve weeks the team merged 31 to 42 pull requests a week and resolved most "
        "blockers the same day; 12 of 14 voted to keep the afternoon slot."
    )
    assert not is_cut_opening(condensed, ARTICLE)
    assert not is_cut_opening(ARTICLE, ARTICLE)  # the whole text is not its opening
    picked = ARTICLE.split(". ")[0] + ". " + ARTICLE.split(". ")[-1]  # start and end
    assert not is_cut_opening(picked, ARTICLE)
    tone = check_rewrite(ARTICLE, RewriteOptions(tone="formal"))(opening)
    assert "is the text's opening, cut short" not in tone.problems


def test_a_shortened_text_is_written_a_few_paragraphs_at_a_time() -> None:
    """Given a whole article, the 1.5B copied its opening and stopped at the length:
    --shorter works on parts of at most SHORTER_PART_TOKENS; a tone rewrite reads
    larger parts."""
    from quill.engine.base import Sampling
    from quill.engine.fake import FakeEngine
    from quill.writing.verbruns import SHORTER_PART_TOKENS, rewrite_chain
    from quill.writing.verbs import rewrite_messages

    paragraphs = [
        " ".join(f"Week {i} brought {i + 30} merged requests and a calm review." for _ in range(9))
        for i in range(8)
    ]
    text = "\n\n".join(paragraphs)
    engine = FakeEngine("Shorter.")
    assert engine.count(text) > 3 * SHORTER_PART_TOKENS

    def parts(opts: RewriteOptions) -> int:
        chain = rewrite_chain(engine, Sampling(), text, lambda t: rewrite_messages(t, opts), opts)
        return chain.generations

    assert parts(RewriteOptions(length="shorter")) >= 3 > parts(RewriteOptions(tone="formal"))
