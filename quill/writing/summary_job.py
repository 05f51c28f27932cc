"""What a summary run is made of: the plan, the notes, the progress events and the job
that records every step (for the report, and to keep partial work on interruption)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from quill.engine.base import Finish, Message, Sampling, Stats
from quill.writing.chunk import Chunk

StepKind = Literal["map", "combine"]


@dataclass
class Plan:
    text: str
    title: str | None  # the file name, shown to the model; None for stdin
    tokens: int  # tokens in the document (engine.count)
    chunks: list[Chunk]  # the parts of the map pass; one part when single
    single: bool  # the whole document fits one step
    lang: str | None  # the summary's language (None: the document's, undetected)
    doc_lang: str | None  # the document's language, detected
    chunk_budget: int  # most tokens per part (0 when single)
    notes_tokens: int  # token budget of each notes step
    summary_tokens: int  # token budget of the summary


@dataclass
class Note:
    label: str  # "Part 2 of 5 (Results)", "Parts 1-4 of 5": for the writer
    text: str
    first: int  # first and last part it covers (1-based)
    last: int


@dataclass(frozen=True)
class PassStarted:
    kind: StepKind
    number: int  # 1 for the map pass, 2… for combine passes
    steps: int  # steps in this pass
    tokens: int  # input tokens of the pass (document tokens for the map pass)


@dataclass(frozen=True)
class StepDone:
    kind: StepKind
    done: int  # steps of this pass finished so far
    steps: int
    tokens: int  # input tokens of the step just done
    stats: Stats
    finish: Finish


Event = PassStarted | StepDone


@dataclass
class Job:
    """One document's summary in progress: what is done so far, for reports and for
    keeping partial work when the run is interrupted."""

    plan: Plan
    map_notes: list[Note | None] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # the notes the final step reads
    passes: int = 0  # passes begun, the final one included once it is ready
    stats: list[Stats] = field(default_factory=list)  # every model call, in order
    warnings: list[str] = field(default_factory=list)
    truncated: list[tuple[str, int]] = field(default_factory=list)  # notes cut at a limit
    current: tuple[StepKind, int, int] | None = None  # step running: kind, number, of
    interrupted: bool = False  # ``stop`` ended the run before the final step was ready
    messages: list[Message] | None = None  # the final step's prompt, once ready
    params: Sampling | None = None

    def record(self, stats: Stats) -> None:
        self.stats.append(stats)

    @property
    def total(self) -> Stats:
        """All model calls together."""
        return total_stats(self.stats)

    def partial_notes(self) -> str:
        """The notes finished so far, in document order, as Markdown."""
        done = [n for n in self.map_notes if n is not None]
        return "\n\n".join(f"### {n.label}\n\n{n.text.strip()}" for n in done)

    def problems(self) -> list[str]:
        out = list(self.warnings)
        if self.truncated:
            n = len(self.truncated)
            which = "; ".join(f"{label}: {cap} tokens" for label, cap in self.truncated[:4])
            out.append(
                f"the notes on {n} part{'s' if n > 1 else ''} reached their token limit "
                f"({which}{'; …' if n > 4 else ''}); the summary may miss the end of "
                f"{'those parts' if n > 1 else 'that part'}"
            )
        return out


def total_stats(stats: list[Stats]) -> Stats:
    """Token counts and times summed over model calls; the time to first token is the
    last call's (the one whose text a writer sees arrive)."""
    out = Stats()
    for s in stats:
        out.prompt_tokens += s.prompt_tokens
        out.evaluated_tokens += s.evaluated_tokens
        out.generated_tokens += s.generated_tokens
        out.prompt_s += s.prompt_s
        out.gen_s += s.gen_s
    if stats:
        out.ttft_s = stats[-1].ttft_s
    return out


@dataclass
class Summary:
    text: str
    finish: Finish
    job: Job
    note: str = ""
