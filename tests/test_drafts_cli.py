"""`quill drafts …` through the CLI with a FakeEngine (no model), and the export format."""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Streams, run_quill

from quill.engine.fake import FakeEngine
from quill.env import Environment
from quill.errors import InputError, OutputError, UsageError
from quill.store.db import Store
from quill.store.drafts import Draft, DraftVersion, derive_title
from quill.store.export import is_quill_front, parse_markdown, to_markdown

POEM = "# Autumn\n\nThe lighthouse keeper walked along the shore.\nThe sea was calm.\n"


@pytest.fixture
def store(quill_home: Path) -> Store:
    from quill.config import resolve_paths

    s = Store(resolve_paths(dict(os.environ)).db_file)
    yield s  # type: ignore[misc]
    s.close()


def add(store: Store, *texts: str, meta: dict[str, Any] | None = None, **kw: Any) -> int:
    """A draft with one version per text; its id."""
    v = store.create_draft(derive_title(texts[0]), texts[0], note="generated", meta=meta, **kw)
    for t in texts[1:]:
        store.add_draft_version(v.draft_id, t, "edited")
    return v.draft_id


def only_error_lines(stderr: str) -> bool:
    lines = stderr.strip().splitlines()
    return bool(lines) and all(ln.startswith(("error: ", "hint: ")) for ln in lines)


# -- list --------------------------------------------------------------------------------


def test_list_newest_first_with_words_and_json(cli: Callable, store: Store) -> None:
    assert "no drafts yet" in cli(["drafts", "list"]).stderr
    first = add(store, "one two three")
    second = add(store, "写一首关于秋天的短诗", "Four words in here.")
    store.set_draft_title(second, "Autumn")
    r = cli(["drafts", "list"])
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[0] == str(second) and lines[1].split()[0] == str(first)
    assert lines[0].split()[3:5] == ["2", "4"]  # versions, words of the latest
    assert "Autumn" in lines[0] and "\x1b" not in r.stdout
    data = json.loads(cli(["drafts", "list", "--json"]).stdout)
    assert [d["id"] for d in data] == [second, first]
    assert data[0]["versions"] == 2 and data[0]["words"] == 4 and data[0]["title"] == "Autumn"
    assert data[1]["words"] == 3 and data[1]["reading_s"] >= 0
    assert len(json.loads(cli(["drafts", "list", "-n", "1", "--json"]).stdout)) == 1


def test_list_marks_an_interrupted_latest_version(cli: Callable, store: Store) -> None:
    add(store, "half a sen", status="interrupted", finish="interrupted")
    r = cli(["drafts", "list"])
    assert "[interrupted]" in r.stdout
    assert json.loads(cli(["drafts", "list", "--json"]).stdout)[0]["status"] == "interrupted"


# -- show --------------------------------------------------------------------------------


def test_show_prints_raw_text_and_a_header_on_stderr(cli: Callable, store: Store) -> None:
    meta = {
        "command": "draft",
        "template": "draft",
        "model": {"name": "qwen-test"},
        "seed": 1234,
        "material": {"path": "/notes/autumn.md"},
    }
    did = add(store, "First try.", POEM, meta=meta)
    r = cli(["drafts", "show", str(did)])
    assert r.exit_code == 0, r.stderr
    assert r.stdout == POEM
    assert "version 2 of 2" in r.stderr and "12 words" in r.stderr
    assert " read" in r.stderr and "complete" in r.stderr
    v1 = cli(["drafts", "show", f"#{did}@1"])
    assert v1.stdout == "First try.\n"
    for piece in ("qwen-test", "seed 1234", "/notes/autumn.md", "draft"):
        assert piece in v1.stderr
    assert json.loads(cli(["drafts", "show", f"{did}@1", "--meta"]).stdout) == meta
    full = json.loads(cli(["drafts", "show", str(did), "--json"]).stdout)
    assert full["content"] == POEM and full["version"] == 2 and full["versions"] == 2


def test_show_renders_markdown_on_a_terminal(cli: Callable, store: Store) -> None:
    did = add(store, POEM + "\x1b]0;owned\x07bell\n")
    r = cli(["drafts", "show", str(did)], stdout_tty=True)
    assert r.exit_code == 0
    assert "\x1b[" in r.stdout and "# Autumn" not in r.stdout  # rendered, not raw
    assert "lighthouse keeper" in r.stdout and "bell" in r.stdout
    assert "owned" not in r.stdout and "\x07" not in r.stdout and "\x1b]" not in r.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["drafts", "show", "99"], "there is no draft 99"),
        (["drafts", "show", "1@7"], "has no version 7"),
        (["drafts", "show", "twelve"], "is not a draft id"),
        (["drafts", "show", "1@0"], "is not a draft id"),
        (["drafts", "diff", "1"], "only one version"),
        (["drafts", "export", "1", "--out", "x.md", "--all", "d"], "--all"),
        (["drafts", "rm", "1@1", "--yes"], "rm removes whole drafts"),
        (["drafts", "revise", "99", "shorter"], "there is no draft 99"),
    ],
)
def test_errors_are_one_line_with_a_hint(
    cli: Callable, store: Store, args: list[str], fragment: str
) -> None:
    add(store, "one version only")
    r = cli(args)
    assert r.exit_code == UsageError.exit_code
    assert fragment in r.stderr.splitlines()[0] and only_error_lines(r.stderr)
    assert "Traceback" not in r.stderr


# -- open ---------------------------------------------------------------------------------


def editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text("import sys\npath = sys.argv[1]\n" + body)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


def test_open_saves_the_edited_text_as_a_new_version(
    cli: Callable, store: Store, tmp_path: Path
) -> None:
    did = add(store, POEM)
    ed = editor(
        tmp_path,
        "text = open(path, encoding='utf-8').read()\n"
        "open(path, 'w', encoding='utf-8').write(text.replace('calm', 'wild'))\n",
    )
    r = cli(["drafts", "open", str(did)], environ={"EDITOR": ed, "VISUAL": ""})
    assert r.exit_code == 0, r.stderr
    assert f"saved as draft {did} v2" in r.stderr
    v = store.draft_version(did)
    assert v is not None and v.version == 2 and v.note == "edited"
    assert v.content == POEM.replace("calm", "wild")
    assert v.meta["from_version"] == 1


def test_open_keeps_an_edit_even_when_the_editor_fails(
    cli: Callable, store: Store, tmp_path: Path
) -> None:
    did = add(store, POEM)
    ed = editor(tmp_path, "open(path, 'a').write('More.\\n')\nsys.exit(3)\n")
    r = cli(["drafts", "open", f"{did}@1"], environ={"VISUAL": ed})
    assert r.exit_code == 0, r.stderr
    assert "the editor exited with 3" in r.stderr
    v = store.draft_version(did)
    assert v is not None and v.version == 2 and v.content == POEM + "More.\n"


def test_open_unchanged_makes_no_version(cli: Callable, store: Store, tmp_path: Path) -> None:
    did = add(store, "no final newline")  # the editor sees it with one; still unchanged
    ed = editor(tmp_path, "open(path, 'a').close()\n")
    r = cli(["drafts", "open", str(did)], environ={"VISUAL": ed})
    assert r.exit_code == 0, r.stderr
    assert "no change" in r.stderr
    d = store.draft(did)
    assert d is not None and d.versions == 1


def test_open_without_an_editor_says_how_to_set_one(cli: Callable, store: Store) -> None:
    did = add(store, POEM)
    r = cli(["drafts", "open", str(did)], environ={"EDITOR": "", "VISUAL": ""})
    assert r.exit_code == UsageError.exit_code
    assert "no editor" in r.stderr and "hint: " in r.stderr and "EDITOR" in r.stderr
    r = cli(["drafts", "open", str(did)], environ={"EDITOR": "no-such-editor-quill"})
    assert r.exit_code == UsageError.exit_code and "cannot run the editor" in r.stderr


# -- diff ---------------------------------------------------------------------------------


def test_diff_piped_is_a_unified_diff_that_patch_applies(
    cli: Callable, store: Store, tmp_path: Path
) -> None:
    new = POEM.replace("was calm", "was wild and grey") + "Gulls cried.\n"
    did = add(store, POEM, new)
    r = cli(["drafts", "diff", str(did)])
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"--- draft-{did}@1" and lines[1] == f"+++ draft-{did}@2"
    assert lines[2].startswith("@@ ") and "-The sea was calm." in lines
    assert "+The sea was wild and grey." in lines and "+Gulls cried." in lines
    assert "\x1b" not in r.stdout
    if shutil.which("patch") is None:
        pytest.skip("no patch program")
    target = tmp_path / "poem.md"
    target.write_text(POEM)
    subprocess.run(["patch", "-s", str(target)], input=r.stdout, text=True, check=True)
    assert target.read_text() == new


def test_diff_on_a_terminal_is_a_coloured_word_diff(cli: Callable, store: Store) -> None:
    did = add(store, "The quick brown fox.\n", "A slow brown fox.\n", "A slow brown fox\x1b[2J.\n")
    r = cli(["drafts", "diff", f"{did}@1", "@2"], stdout_tty=True)
    assert r.exit_code == 0, r.stderr
    assert "\x1b[9;31mThe quick" in r.stdout and "\x1b[32mA slow" in r.stdout  # struck red, green
    assert r.stdout.endswith(" brown fox.\n")
    assert f"draft {did} v1 → v2: +2 −2 words" in r.stderr
    plain = cli(["drafts", "diff", f"{did}@1", "@2"], stdout_tty=True, environ={"NO_COLOR": "1"})
    assert plain.stdout == "[-The quick-]{+A slow+} brown fox.\n"
    escape = cli(["drafts", "diff", f"{did}@2", "@3"], stdout_tty=True)
    assert escape.exit_code == 0 and "\x1b[2J" not in escape.stdout


def test_diff_compares_chinese_by_character(cli: Callable, store: Store) -> None:
    did = add(store, "今天天气很好，我们去海边。", "今天天气不好，我们去山上。")
    r = cli(["drafts", "diff", str(did), "--word"])
    assert r.stdout == "今天天气[-很-]{+不+}好，我们去[-海边-]{+山上+}。\n"


def test_diff_defaults_and_version_pairs(cli: Callable, store: Store) -> None:
    did = add(store, "alpha\n", "beta\n", "gamma\n")
    assert "-beta" in cli(["drafts", "diff", str(did)]).stdout.splitlines()  # v2 → v3
    r = cli(["drafts", "diff", f"{did}@1"])  # v1 → latest
    assert "-alpha" in r.stdout.splitlines() and "+gamma" in r.stdout.splitlines()
    r = cli(["drafts", "diff", str(did), "@2"])  # v1 → v2
    assert "-alpha" in r.stdout.splitlines() and "+beta" in r.stdout.splitlines()
    same = cli(["drafts", "diff", f"{did}@3", "@3"])
    assert same.stdout == "" and "no differences" in same.stderr


# -- revise -------------------------------------------------------------------------------


def test_revise_streams_and_saves_the_next_version(
    cli: Callable, store: Store, tmp_path: Path
) -> None:
    did = add(store, POEM, meta={"command": "draft"})
    engine = FakeEngine("Here is the revised piece:\n\n# Autumn\n\nThe keeper slept.")
    out = tmp_path / "out.md"
    r = cli(
        ["drafts", "revise", str(did), "make it shorter", "--seed", "7", "--out", str(out)],
        engine=engine,
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "# Autumn\n\nThe keeper slept.\n"  # the preamble is dropped
    _system, user = engine.calls[0]
    assert "make it shorter" in user.content and "lighthouse keeper" in user.content
    assert engine.params[0].seed == 7 and engine.params[0].max_tokens >= 256
    v = store.draft_version(did)
    assert v is not None and v.version == 2 and v.status == "complete"
    assert v.note == "revised: make it shorter" and v.content == "# Autumn\n\nThe keeper slept."
    assert v.meta["instruction"] == "make it shorter" and v.meta["from_version"] == 1
    assert v.meta["command"] == "revise" and v.meta["seed"] == 7
    assert v.meta["model"]["name"] == "fake"
    assert f"saved as draft {did} v2" in r.stderr
    assert out.read_text() == "# Autumn\n\nThe keeper slept.\n"
    # revising an older version records where it started
    r = cli(["drafts", "revise", f"{did}@1", "warmer"], engine=FakeEngine("Warm."))
    assert r.exit_code == 0, r.stderr
    v3 = store.draft_version(did)
    assert v3 is not None and v3.version == 3 and v3.meta["from_version"] == 1


def test_revise_refuses_an_empty_instruction(cli: Callable, store: Store) -> None:
    did = add(store, POEM)
    engine = FakeEngine("x")
    r = cli(["drafts", "revise", str(did), "  "], engine=engine)
    assert r.exit_code == InputError.exit_code and "instruction is empty" in r.stderr
    assert engine.calls == []


# -- export / import ---------------------------------------------------------------------


def test_front_matter_round_trips_exactly() -> None:
    meta = {
        "command": "draft",
        "brief": 'a "quoted" brief\nover two lines: yes # not a comment',
        "model": {"name": "qwen", "n_ctx": 4096},
        "seed": 42,
        "odd": "\u2028\x85\x9b[31m",
        "none": None,
        "list": [1, 2.5, True],
    }
    d = Draft(7, "Title: with colon", "summary", 1.0, 2.0, 3, None)
    v = DraftVersion(7, 3, "---\nnot front matter\n", "note", 1714550000.123456, meta=meta)
    text = to_markdown(d, v)
    assert text.startswith('---\ntitle: "Title: with colon"\nid: 7\nversion: 3\n')
    assert all(ch not in text for ch in "\u2028\x85\x9b")
    front, body = parse_markdown(text)
    assert front is not None and is_quill_front(front)
    assert body == v.content and front["meta"] == meta and front["title"] == d.title
    assert front["version"] == 3 and front["kind"] == "summary"
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return
    loaded = yaml.safe_load(text.split("---\n")[1])
    assert loaded["meta"] == meta and loaded["title"] == d.title


def test_parse_markdown_leaves_ordinary_markdown_alone() -> None:
    text = "---\n\nA paragraph after a rule.\n\n---\n"
    assert parse_markdown(text) == (None, text)
    front, body = parse_markdown("---\ntitle: My post\ntags:\n  - a\n---\nBody\n")
    assert front == {"title": "My post", "tags": ["a"]} and body == "Body\n"
    assert not is_quill_front(front)


def test_export_import_round_trip(cli: Callable, store: Store, tmp_path: Path) -> None:
    meta = {"command": "summary", "source": {"path": "/r.md", "sha256": "ab"}, "seed": 3}
    did = add(store, "v1 text", "# Report\n\nIt rained.", meta=None)
    store.add_draft_version(did, "# Report\n\nIt rained 今天.", "revised: x", meta=meta)
    store.set_draft_title(did, "The report")
    out = tmp_path / "report.md"
    r = cli(["drafts", "export", str(did), "--out", str(out)])
    assert r.exit_code == 0, r.stderr
    assert cli(["drafts", "export", str(did), "--out", str(out)]).exit_code == (
        OutputError.exit_code
    )
    assert cli(["drafts", "export", str(did)]).stdout == out.read_text()
    r = cli(["drafts", "import", str(out)])
    assert r.exit_code == 0, r.stderr
    new = max(d.id for d in store.drafts())
    d, v = store.draft(new), store.draft_version(new)
    assert d is not None and v is not None
    assert d.title == "The report" and v.content == "# Report\n\nIt rained 今天."
    assert v.meta.pop("imported_from") == str(out.resolve())
    original = v.meta.pop("imported")
    assert original["id"] == did and original["version"] == 3
    assert original["note"] == "revised: x" and original["created"].startswith("20")
    assert v.meta == meta and v.status == "complete" and v.finish == "stop"
    # an older version, by --version or ID@N
    assert cli(["drafts", "export", f"{did}@1"]).stdout.endswith("\n---\n\nv1 text")
    assert "version: 2\n" in cli(["drafts", "export", str(did), "--version", "2"]).stdout


def test_export_all_writes_one_file_per_draft(cli: Callable, store: Store, tmp_path: Path) -> None:
    a = add(store, "# Linen shirt\n\nCool.")
    b = add(store, "# 秋天的诗\n\n天高云淡。", status="interrupted", finish="interrupted")
    folder = tmp_path / "export"
    r = cli(["drafts", "export", "--all", str(folder)])
    assert r.exit_code == 0, r.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"{a:04d}-linen-shirt.md", f"{b:04d}-秋天的诗.md"]
    front, body = parse_markdown((folder / names[1]).read_text())
    assert (
        front is not None
        and front["status"] == "interrupted"
        and body == "# 秋天的诗\n\n天高云淡。"
    )
    again = cli(["drafts", "export", "--all", str(folder)])
    assert again.exit_code == OutputError.exit_code and "--force" in again.stderr
    assert cli(["drafts", "export", "--all", str(folder), "--force"]).exit_code == 0
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp files left


def test_import_plain_markdown_and_bad_files(cli: Callable, store: Store, tmp_path: Path) -> None:
    plain = tmp_path / "notes.md"
    plain.write_text("Some notes\n\nabout tea.\n")
    binary = tmp_path / "x.pdf"
    binary.write_bytes(b"%PDF-1.4 ...")
    empty = tmp_path / "empty.md"
    empty.write_text("\n")
    r = cli(["drafts", "import", str(plain), str(binary), str(tmp_path / "gone.md")])
    assert r.exit_code == 0
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 2 and "x.pdf" in errors[0] and "gone.md" in errors[1]
    d = store.drafts()[0]
    assert d.title == "Some notes" and d.latest is not None
    assert d.latest.content == "Some notes\n\nabout tea.\n" and d.latest.note == "imported"
    assert d.latest.meta["imported_from"] == str(plain.resolve())
    r = cli(["drafts", "import", str(binary), str(empty)])
    assert r.exit_code == InputError.exit_code
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]) == 2
    r = cli(["drafts", "import", "-"], stdin="# From a pipe\n\ntext")
    assert r.exit_code == 0 and store.drafts()[0].title == "From a pipe"
    gbk = tmp_path / "gbk.md"
    gbk.write_bytes("# 茶馆笔记\n\n松风茶馆。\n".encode("gbk"))
    r = cli(["drafts", "import", str(gbk)])
    assert r.exit_code == InputError.exit_code and "--encoding" in r.stderr
    r = cli(["drafts", "import", "--encoding", "gbk", str(gbk)])
    assert r.exit_code == 0 and store.drafts()[0].title == "茶馆笔记"


# -- rm -----------------------------------------------------------------------------------


def tty_env(make_env: Callable[..., Environment], answer: str) -> Environment:
    env = make_env(stderr_tty=True)
    env.stdin = Streams(answer)
    env.stdin_tty = True
    return env


def test_rm_with_yes_and_without(
    cli: Callable, store: Store, make_env: Callable[..., Environment]
) -> None:
    a, b, c = add(store, "# One\n\n1"), add(store, "# Two\n\n2"), add(store, "# Three\n\n3")
    r = cli(["drafts", "rm", str(a)])  # not a terminal, no --yes: refused
    assert r.exit_code == UsageError.exit_code and "--yes" in r.stderr
    assert store.draft(a) is not None
    r = cli(["drafts", "rm", str(a), f"#{b}", "--yes"])
    assert r.exit_code == 0, r.stderr
    assert store.draft(a) is None and store.draft(b) is None
    env = tty_env(make_env, "n\n")
    r = cli(["drafts", "rm", str(c)], env=env)
    assert r.exit_code == 0 and "Three" in r.stderr and "nothing removed" in r.stderr
    assert store.draft(c) is not None
    r = cli(["drafts", "rm", str(c)], env=tty_env(make_env, "y\n"))
    assert r.exit_code == 0 and store.draft(c) is None
    assert cli(["drafts", "rm", str(c), "--yes"]).exit_code == UsageError.exit_code


# -- search -------------------------------------------------------------------------------


def test_search_finds_a_word_only_an_older_version_has(cli: Callable, store: Store) -> None:
    did = add(store, "The lighthouse keeper slept.", "The keeper slept.")
    other = add(store, "No match here.")
    r = cli(["drafts", "search", "LIGHTHOUSE"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(f"{did}@1 ") and str(other) + "@" not in r.stdout
    assert "The lighthouse keeper slept." in r.stdout
    hits = json.loads(cli(["drafts", "search", "keeper", "--json"]).stdout)
    assert hits[0]["id"] == did and hits[0]["versions"] == [2, 1]
    start, end = hits[0]["match"]
    assert hits[0]["snippet"][start:end] == "keeper"
    tty = cli(["drafts", "search", "lighthouse"], stdout_tty=True)
    assert "\x1b[" in tty.stdout and "lighthouse" in tty.stdout
    none = cli(["drafts", "search", "zebra"])
    assert none.exit_code == 0 and none.stdout == "" and "no draft contains" in none.stderr
    cjk = add(store, "今天天气很好。")
    assert cli(["drafts", "search", "天气"]).stdout.startswith(f"{cjk}@1 ")


# -- a real process, no model -------------------------------------------------------------


def test_import_then_list_json_in_a_real_process(quill_home: Path, tmp_path: Path) -> None:
    f = tmp_path / "piece.md"
    f.write_text("# A real process\n\nNo model needed.\n")
    env = {"QUILL_HOME": str(quill_home), "QUILL_MODEL": str(tmp_path / "no-model.gguf")}
    r = run_quill(["drafts", "import", str(f)], env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    r = run_quill(["drafts", "list", "--json"], env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [d["title"] for d in data] == ["A real process"] and data[0]["words"] == 6


def test_help_lists_every_subcommand() -> None:
    from typer.testing import CliRunner

    from quill.cli.app import app

    r = CliRunner().invoke(app, ["drafts", "--help"], obj=Environment(stdout=io.StringIO()))
    for name in ("list", "show", "search", "open", "revise", "diff", "export", "import", "rm"):
        assert f"  {name} " in r.output


@pytest.mark.model
def test_revise_on_the_real_model(real_env: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "shirt.md"
    f.write_text("# Linen shirt\n\nOur linen shirt is made from pure flax. It comes in white.\n")
    assert run_quill(["drafts", "import", str(f)], env=real_env).returncode == 0
    args = ["drafts", "revise", "1", "add a call to action", "--temperature", "0"]
    r = run_quill([*args, "--seed", "1", "--max-tokens", "80"], env=real_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() and "saved as draft 1 v2" in r.stderr
    meta = json.loads(run_quill(["drafts", "show", "1", "--meta"], env=real_env).stdout)
    assert meta["instruction"] == "add a call to action" and meta["from_version"] == 1
    assert meta["stats"]["generated_tokens"] > 0 and meta["seed"] == 1
    assert "<<<" not in r.stdout
