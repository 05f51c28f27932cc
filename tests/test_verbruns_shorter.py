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
