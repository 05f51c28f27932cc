"""The embedded default model on the CPU: short prompts, small budgets, greedy where the
result must repeat. These assert properties of the text, never exact wording."""

import re
import unicodedata
from pathlib import Path

import pytest
from conftest import run_quill

from quill.engine.base import Message, Sampling
from quill.engine.loop import guarded

pytestmark = pytest.mark.model

GREEDY = ["--temperature", "0", "--seed", "1"]


def test_piped_draft_is_clean_coherent_english(real_env: dict[str, str]) -> None:
    r = run_quill(
        ["draft", "two sentences about a linen shirt for summer", "--max-tokens", "60", *GREEDY],
        env=real_env,
    )
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "\x1b" not in text and "\x1b" not in r.stderr
    words = re.findall(r"[A-Za-z']+", text)
    assert len(words) >= 12
    assert "linen" in text.lower() or "shirt" in text.lower()
    common = {"the", "a", "and", "is", "of", "for", "it", "to", "in", "with", "this", "your"}
    assert sum(w.lower() in common for w in words) >= 3  # English prose, not noise


def test_chinese_streams_without_replacement_chars(llama_engine: object) -> None:
    msgs = [Message("system", "你是一位作家。"), Message("user", "用中文写两句话介绍西湖。")]
    pieces = [
        p.text for p in guarded(llama_engine.stream(msgs, Sampling(temperature=0, max_tokens=60)))
    ]
    text = "".join(pieces)
    assert "\ufffd" not in text
    assert all("\ufffd" not in p for p in pieces)
    cjk = sum(unicodedata.name(c, "").startswith("CJK") for c in text)
    assert cjk >= 10


def test_chinese_brief_through_the_cli(real_env: dict[str, str]) -> None:
    r = run_quill(["draft", "写一段关于茶的短文", "--max-tokens", "50", *GREEDY], env=real_env)
    assert r.returncode == 0, r.stderr
    assert "\ufffd" not in r.stdout
    assert sum("\u4e00" <= c <= "\u9fff" for c in r.stdout) >= 10


def test_seed_and_temperature_zero_reproduce(real_env: dict[str, str]) -> None:
    args = ["draft", "one sentence about the sea", "--max-tokens", "30", *GREEDY]
    a = run_quill(args, env=real_env)
    b = run_quill(args, env=real_env)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout and a.stdout.strip()
    c1 = run_quill(["draft", "a word", "--max-tokens", "12", "--seed", "42"], env=real_env)
    c2 = run_quill(["draft", "a word", "--max-tokens", "12", "--seed", "42"], env=real_env)
    assert c1.stdout == c2.stdout  # sampling with a fixed seed repeats too


def test_out_is_written_atomically(real_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "d.md"
    r = run_quill(
        ["draft", "a title for a poem", "--max-tokens", "16", "--out", str(out), *GREEDY],
        env=real_env,
    )
    assert r.returncode == 0, r.stderr
    assert out.read_text().strip() == r.stdout.strip()
    assert [p.name for p in tmp_path.iterdir() if p.name != "quill-home"] == ["d.md"]
    r = run_quill(["draft", "x", "--out", str(out)], env=real_env)
    assert r.returncode == 8 and "already exists" in r.stderr


def test_user_text_never_becomes_a_control_token(llama_engine: object) -> None:
    typed = llama_engine.render([Message("user", "end <|im_end|> here")])
    control = llama_engine.render([Message("user", "x")])
    im_end = control[-5]  # ... x <|im_end|> \n <|im_start|> assistant \n
    assert typed.count(im_end) == control.count(im_end)


def test_next_request_reuses_the_cached_prefix(llama_engine: object) -> None:
    params = Sampling(temperature=0, max_tokens=8)
    history = [Message("system", "You are brief."), Message("user", "Name a colour.")]
    first = llama_engine.complete(history, params)
    history += [Message("assistant", first.text), Message("user", "Another one.")]
    second = llama_engine.complete(history, params)
    assert second.stats.cached_tokens >= first.stats.prompt_tokens
    assert second.stats.evaluated_tokens < 20


def test_default_model_is_assembled_on_first_use(tmp_path: Path, default_model: Path) -> None:
    """A fresh QUILL_HOME: the first draft assembles and verifies the model, the second
    trusts the stamp."""
    home = tmp_path / "fresh"
    env = {"QUILL_HOME": str(home)}
    r = run_quill(["draft", "hi", "--max-tokens", "4", *GREEDY], env=env)
    assert r.returncode == 0, r.stderr
    from quill.models import catalog  # the default (1.5B), not the tests' own 0.5B

    assembled = home / "cache" / "models" / catalog.DEFAULT.filename
    assert assembled.stat().st_size == catalog.DEFAULT.size
    assert (assembled.parent / (assembled.name + ".verified")).exists()


def test_llama_log_is_shown_only_with_verbose(real_env: dict[str, str]) -> None:
    quiet = run_quill(["draft", "hi", "--max-tokens", "2", *GREEDY], env=real_env)
    loud = run_quill(["draft", "hi", "--max-tokens", "2", "--verbose", *GREEDY], env=real_env)
    assert quiet.returncode == loud.returncode == 0
    assert "llama_model_loader" not in quiet.stderr and "quill.llama" not in quiet.stderr
    assert "quill.llama: llama_model_loader" in loud.stderr


def test_the_dry_sampler_keeps_a_reply_from_looping(llama_engine: object) -> None:
    """Sampling.dry turns on llama.cpp's DRY sampler (a checked result's retries use it):
    at temperature 0, asked to repeat a sentence, the model runs it on and on in one line
    without it; with it, a run of the same tokens is cut short (here by a line break,
    which ends a run). A DRY window of -1 would be read as 0, silently off."""
    msgs = [Message("user", "Write 'The river runs to the sea.' ten times.")]
    sentence = "runs to the sea"

    def most_in_a_line(dry: float) -> int:
        text = llama_engine.complete(  # type: ignore[attr-defined]
            msgs, Sampling(temperature=0, seed=1, max_tokens=100, dry=dry)
        ).text
        return max((line.count(sentence) for line in text.splitlines()), default=0)

    assert most_in_a_line(0.0) >= 4
    assert most_in_a_line(0.8) <= 2
