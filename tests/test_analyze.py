"""`quill analyze`'s reading of the model's answer."""


def test_a_reason_cut_by_the_grammar_ends_on_a_whole_word() -> None:
    from quill.writing.analyze import whole

    cut = "The phrase is vague and could be read as a future tense, which might不如"
    assert whole(cut) == "The phrase is vague and could be read as a future tense, which…"
    assert whole("It runs on. Two clauses are joined with a comma and then itcov") == (
        "It runs on. Two clauses are joined with a comma and then…"
    )
    done = "The verb is weak."
    assert whole(done) == done and whole("") == ""
