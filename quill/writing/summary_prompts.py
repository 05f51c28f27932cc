"""The prompts of a summary run, built from ``quill/prompts/builtin/summarize.toml``.

A step's prompt is written in the language that step writes in where the prompt file
has a translation for it (``[native.Chinese]``): a small model follows instructions in
the document's own language better than English instructions about a Chinese text (see
docs/summarize.md for the measurements). Keys a translation leaves out fall back to
the English ones.

Notes are shown to the combine and reduce steps as plain paragraphs, in order, without
"Part N:" labels: a small model copies such labels (and the notes after them) into
the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quill import prompts
from quill.engine.base import Message
from quill.engine.length import CJK_CHARS_PER_WORD
from quill.writing.language import is_cjk
from quill.writing.summary_job import Note, Plan

WORDS_PER_SENTENCE = 20  # a summary sentence runs about this long (for a sentence count)
NOTES_WORDS_PER_SENTENCE = 15  # a short sentence of notes
MAX_SENTENCES = 15


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class SummaryPrompts:
    """Builds the messages of every step of one summary run."""

    def __init__(
        self,
        fmt: str = "paragraph",
        focus: str | None = None,
        user_dir: Path | None = None,
        native: bool = True,
    ) -> None:
        self.p: dict[str, Any] = prompts.load("summarize", user_dir)
        self.native = native  # False: English prompts for every language (to compare)
        self.format = fmt
        self.focus = focus

    def table(self, lang: str | None) -> dict[str, Any]:
        """The prompt keys for a step that writes in ``lang``."""
        translations = self.p.get("native", {})
        if self.native and lang in translations:
            return _merge(self.p, translations[lang])
        return self.p

    # -- pieces -------------------------------------------------------------------------

    @staticmethod
    def _title(plan: Plan) -> str:
        return f' "{plan.title}"' if plan.title else ""

    def length(self, t: dict[str, Any], words: int, lang: str | None, key: str) -> str:
        """A length phrase: ``key`` is "lengths" (the summary) or "notes_lengths"."""
        per = NOTES_WORDS_PER_SENTENCE if key == "notes_lengths" else WORDS_PER_SENTENCE
        sentences = str(min(max(1, round(words / per)), MAX_SENTENCES))
        n = str(round(words * CJK_CHARS_PER_WORD)) if is_cjk(lang) else str(words)
        which = "cjk" if is_cjk(lang) else "words"
        if sentences == "1" and f"{which}_one" in t[key]:
            which += "_one"  # "one short sentence", not "1 short sentences"
        return prompts.render(t[key][which], n=n, sentences=sentences)

    def requirements(self, plan: Plan, with_format: bool = True) -> str:
        t = self.table(plan.lang)
        lines = [t["formats"][self.format]] if with_format else []
        lines.append(self.length(t, plan.target_words, plan.lang, "lengths"))
        rules = t["rules"]
        if plan.lang:
            lines.append(prompts.render(rules["lang"], lang=plan.lang))
        else:
            lines.append(rules["same_lang"])
        if self.focus:
            lines.append(prompts.render(rules["focus"], focus=self.focus))
        lines.append(rules["own_words"])
        lines.append(rules["keep"])
        return "\n".join(f"- {line}" for line in lines if line)

    def _notes_rules(self, t: dict[str, Any], plan: Plan) -> dict[str, str]:
        rules = t["rules"]
        lang = prompts.render(rules["notes_lang"], lang=plan.doc_lang) if plan.doc_lang else ""
        focus = prompts.render(rules["notes_focus"], focus=self.focus) if self.focus else ""
        return {"lang_rule": lang, "focus_rule": focus}

    @staticmethod
    def _messages(t: dict[str, Any], user: str) -> list[Message]:
        return [Message("system", t["system"].strip()), Message("user", user.strip())]

    def render_notes(self, plan: Plan, notes: list[Note]) -> str:
        t = self.table(plan.doc_lang)
        return "\n\n".join(self.render_note(t, n) for n in notes)

    @staticmethod
    def render_note(t: dict[str, Any], note: Note) -> str:
        return prompts.render(t["note"], text=note.text.strip(), label=note.label)

    def note_size_text(self, plan: Plan, note: Note) -> str:
        return self.render_note(self.table(plan.doc_lang), note)

    # -- the steps ------------------------------------------------------------------------

    def single(self, plan: Plan, text: str | None = None) -> list[Message]:
        """The one-step summary: the request, then the text, and no system prompt."""
        t = self.table(plan.lang)
        words = plan.target_words
        cjk = is_cjk(plan.lang)
        n = str(round(words * CJK_CHARS_PER_WORD)) if cjk else str(words)
        rules = t["rules"]
        native = self.native and plan.lang in self.p.get("native", {})
        lang = ""
        if plan.lang and not native and plan.lang != "English":
            lang = " " + prompts.render(rules["lang"], lang=plan.lang)
        focus = " " + prompts.render(rules["focus"], focus=self.focus) if self.focus else ""
        user = prompts.render(
            t["single"],
            request=prompts.render(
                t["requests"][self.format],
                title=self._title(plan),
                n=n,
                sentences=self._sentences(t, words),
                unit=t["units"]["cjk" if cjk else "words"],
            ),
            focus_rule=focus,
            lang_rule=lang,
            text=(plan.text if text is None else text).strip(),
            figures=self._figures(plan),
        )
        return self._opened(plan, [Message("user", user.strip())])

    def _figures(self, plan: Plan) -> str:
        """The document's key figures, shown after it (``plan.figures``), or "": under a
        line in the document's language, like the sentences (it reads as the author's)."""
        if not plan.figures:
            return ""
        t = self.table(plan.doc_lang)
        return "\n\n" + prompts.render(t["key_figures"], sentences="\n".join(plan.figures))

    @staticmethod
    def _sentences(t: dict[str, Any], words: int) -> str:
        """How many sentences a summary of ``words`` runs to, as the request says it
        ([units] sentences: " (8 sentences or so)"), or "" under two sentences. Measured
        on two documents of the tune half, the 1.5B wrote 0.53 and 0.37 of the Chinese
        length asked without it, 1.04 and 0.40 with it (docs/summarize.md)."""
        k = min(round(words / WORDS_PER_SENTENCE), MAX_SENTENCES)
        return prompts.render(t["units"]["sentences"], k=str(k)) if k >= 2 else ""

    def _opened(self, plan: Plan, messages: list[Message]) -> list[Message]:
        """``messages`` with the summary's reply begun for the model ([openings]: "This",
        "本文"), where the prompts are in the language the summary is written in: a small
        model that starts its reply in its own words summarizes, one that starts with
        the document's title goes on copying the document."""
        t = self.table(plan.lang)
        start = t.get("openings", {}).get(self.format, "")
        writes_in = plan.lang or "English"
        if not start or (writes_in != "English" and t is self.p):
            return messages
        return [*messages, Message("assistant", start)]

    def map(
        self,
        plan: Plan,
        text: str,
        part: int | str,
        parts: int | str,
        section: str,
        words: int = 100,
    ) -> list[Message]:
        t = self.table(plan.doc_lang)
        user = prompts.render(
            t["map"],
            title=self._title(plan),
            part=str(part),
            parts=str(parts),
            section=prompts.render(t["section"], section=section) if section else "",
            text=text.strip(),
            words=str(words),
            length=self.length(t, words, plan.doc_lang, "notes_lengths"),
            **self._notes_rules(t, plan),
        )
        return self._messages(t, user)

    def combine(self, plan: Plan, notes: list[Note], words: int = 100) -> list[Message]:
        t = self.table(plan.doc_lang)
        user = prompts.render(
            t["combine"],
            title=self._title(plan),
            notes="\n\n".join(self.render_note(t, n) for n in notes),
            words=str(words),
            length=self.length(t, words, plan.doc_lang, "notes_lengths"),
            **self._notes_rules(t, plan),
        )
        return self._messages(t, user)

    def reduce(self, plan: Plan, notes: list[Note]) -> list[Message]:
        t = self.table(plan.lang)
        user = prompts.render(
            t["reduce"],
            title=self._title(plan),
            parts=str(len(notes)),
            notes="\n\n".join(self.render_note(t, n) for n in notes),
            task=t["reduce_formats"][self.format],
            requirements=self.requirements(plan, with_format=False),
        )
        return self._opened(plan, self._messages(t, user))

    def refine(self, plan: Plan, summary: str, text: str) -> list[Message]:
        """A refine step: the summary so far (none for the first part) and the next part."""
        t = self.table(plan.lang)
        user = prompts.render(
            t["refine"] if summary.strip() else t["refine_first"],
            title=self._title(plan),
            summary=summary.strip(),
            text=text.strip(),
            requirements=self.requirements(plan),
        )
        return self._messages(t, user)
