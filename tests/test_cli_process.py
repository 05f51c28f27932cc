"""quill as a child process: start-up imports, real pipes, real signals (FakeEngine)."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from conftest import quill_cmd, run_quill

HEAVY = ("llama_cpp", "prompt_toolkit", "rich.markdown")


def test_help_and_version_import_nothing_heavy(quill_home: Path) -> None:
    code = (
        "import sys\n"
        "from quill.cli.app import main\n"
        "try:\n    main([sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        f"bad = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', bad)\n"
    )
    for flag in ("--help", "--version"):
        out = subprocess.run(
            [sys.executable, "-c", code, flag], capture_output=True, text=True, check=True
        ).stdout
        assert "HEAVY []" in out, out


def _fake_env(quill_home: Path, **extra: str) -> dict[str, str]:
    env = {"QUILL_HOME": str(quill_home), "QUILL_ENGINE": "fake", "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def test_pipe_gets_only_content(quill_home: Path) -> None:
    r = run_quill(
        ["draft", "x", "--stats"],
        env=_fake_env(quill_home, QUILL_FAKE_REPLY="# Title\n\nBody *text*."),
    )
    assert r.returncode == 0
    assert r.stdout == "# Title\n\nBody *text*.\n"
    assert "\x1b" not in r.stdout and "\x1b" not in r.stderr
    assert "stats:" in r.stderr


def test_error_exit_codes_without_traceback(quill_home: Path, tmp_path: Path) -> None:
    notgguf = tmp_path / "notes.txt"
    notgguf.write_text("hello")
    cases = [
        (["draft", "x", "--model", str(tmp_path / "missing.gguf")], None, 4),
        (["draft", "x", "--model", str(notgguf)], None, 5),
        (["draft", "x", "--model", "no-such-name"], None, 4),
        (["draft"], "", 3),
        (["draft", "x", "--gpu-layers", "lots"], None, 2),
    ]
    for args, stdin, code in cases:
        r = run_quill(args, env={"QUILL_HOME": str(quill_home)}, input=stdin)
        assert r.returncode == code, (args, r.stderr)
        assert r.stderr.startswith("error: "), r.stderr
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) <= 2


def test_quill_debug_shows_traceback(quill_home: Path) -> None:
    r = run_quill(
        ["draft", "x", "--model", "no-such-name"],
        env={"QUILL_HOME": str(quill_home), "QUILL_DEBUG": "1"},
    )
    assert r.returncode != 0 and "Traceback" in r.stderr


def _interrupt(quill_home: Path, tmp_path: Path, sig: int) -> tuple[int, str, str]:
    out = tmp_path / f"partial-{sig}.md"
    # A reply that outlasts any wait (a minute), so the signal never races its end.
    reply = " ".join(f"word{i}" for i in range(6000))
    env = dict(os.environ)
    env.update(_fake_env(quill_home, QUILL_FAKE_REPLY=reply, QUILL_FAKE_DELAY="0.01"))
    p = subprocess.Popen(
        quill_cmd("draft", "x", "--stats", "--out", str(out), "--max-tokens", "6000"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert p.stdout is not None
    got = ""
    while "word20 " not in got:  # wait until the reply is well under way
        ch = p.stdout.read(1)
        assert ch, "quill ended before it could be interrupted"
        got += ch
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    return p.returncode, out.read_text() if out.exists() else "", err


def test_sigint_keeps_partial_text(quill_home: Path, tmp_path: Path) -> None:
    code, saved, err = _interrupt(quill_home, tmp_path, signal.SIGINT)
    assert code == 130
    assert saved.startswith("word0 word1") and "word20" in saved and "word5999" not in saved
    assert "interrupted" in err and "Traceback" not in err
    generated = re.search(r"generated (\d+) tok", err)
    assert generated and int(generated.group(1)) >= 20  # the engine was stopped cleanly


def test_sigterm_keeps_partial_text(quill_home: Path, tmp_path: Path) -> None:
    code, saved, _ = _interrupt(quill_home, tmp_path, signal.SIGTERM)
    assert code == 143
    assert saved.startswith("word0 word1") and "word5999" not in saved


def test_broken_pipe_is_quiet(quill_home: Path) -> None:
    reply = "\n".join(f"line {i}" for i in range(2000))
    env = dict(os.environ)
    env.update(_fake_env(quill_home, QUILL_FAKE_REPLY=reply))
    r = subprocess.run(
        f"{sys.executable} -m quill draft x | head -n 2",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert r.stdout.splitlines() == ["line 0", "line 1"]
    assert "Traceback" not in r.stderr


def test_doctor_reports_and_succeeds(quill_home: Path) -> None:
    r = run_quill(["doctor"], env={"QUILL_HOME": str(quill_home)})
    assert r.returncode == 0, r.stderr
    for key in (
        "quill",
        "python",
        "llama-cpp-python",
        "gpu offload",
        "default model",
        "threads",
        "config",
        "data",
        "cache",
    ):
        assert any(line.startswith(key) for line in r.stdout.splitlines()), key
