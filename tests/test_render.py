import io

from rich.console import Console

from quill.render.sanitize import sanitize
from quill.render.stream import MarkdownSink, RawSink, stable_cut


def test_sanitize_strips_escapes_and_controls() -> None:
    evil = "a\x1b[31mred\x1b[0m b\x1b]0;title\x07 c\x07 d\x9b2J e\r\nf\tg"
    clean = sanitize(evil)
    assert "\x1b" not in clean and "\x07" not in clean and "\x9b" not in clean
    assert clean == "ared b c d2J e\nf\tg"


def test_sanitize_keeps_unicode() -> None:
    assert sanitize("中文 café — ok") == "中文 café — ok"


def test_raw_sink_writes_plain_text_and_final_newline() -> None:
    out = io.StringIO()
    sink = RawSink(out)
    for piece in ["Hello", " **world**", "\x1b[2J!"]:
        sink.feed(piece)
    sink.close()
    assert out.getvalue() == "Hello **world**!\n"


def test_stable_cut_respects_code_fences() -> None:
    text = "para one\n\n```\ncode\n\nmore code\n"
    assert stable_cut(text) == len("para one\n\n")
    text += "```\n"
    assert stable_cut(text) == len(text)
    assert stable_cut("no newline yet") == 0


class RecordingConsole(Console):
    """Records what is printed for good (the committed blocks)."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.committed: list[str] = []

    def print(self, *objects: object, **kw: object) -> None:  # type: ignore[override]
        from rich.markdown import Markdown

        for o in objects:
            if isinstance(o, Markdown):
                self.committed.append(o.markup)
        super().print(*objects, **kw)  # type: ignore[arg-type]


def test_markdown_sink_commits_each_block_once_in_order() -> None:
    console = RecordingConsole(
        file=io.StringIO(), force_terminal=True, width=60, height=8, color_system=None
    )
    sink = MarkdownSink(console)
    text = (
        "# Heading\n\nFirst paragraph here.\n\n```python\nx = 1\n\ny = 2\n```\n\n"
        "- item one\n- item two\n\n" + "A long line of prose. " * 40 + "\n\nLast words."
    )
    for ch in text:
        sink.feed(ch)
    sink.close()
    assert "".join(console.committed) == text
    assert console.committed[0].startswith("# Heading")
    assert any(
        block.startswith("```python") and block.rstrip().endswith("```")
        for block in console.committed
    )  # the fence stays whole
    assert console.committed[-1] == "Last words."


def test_markdown_sink_separates_blocks_by_one_blank_line() -> None:
    console = RecordingConsole(
        file=io.StringIO(), force_terminal=True, width=40, height=30, color_system=None
    )
    printed: list[str] = []
    original = console.print

    def spy(*objects: object, **kw: object) -> None:
        printed.append("BLANK" if not objects else type(objects[0]).__name__)
        original(*objects, **kw)

    console.print = spy  # type: ignore[method-assign]
    sink = MarkdownSink(console)
    for ch in "Intro line.\n\n1. first item\n\n2. second item\n\nClosing line.\n":
        sink.feed(ch)
    sink.close()
    blocks = [p for p in printed if p in ("BLANK", "Markdown")]
    # A paragraph gets a blank line before it; a list renders its own leading blank line.
    assert blocks == ["Markdown", "Markdown", "Markdown", "BLANK", "Markdown"]
