"""Does ``--style`` carry a writer's voice? Drafts with a style against drafts without,
on the same model, seed and settings, in one run, measured with the same code.

Three voices whose samples are written here (terse first person with contractions;
formal third person with long sentences; a Chinese first-person voice), each with four
briefs split into tune and report halves. For each model, voice, brief and seed:

- plain: `quill draft BRIEF` (quill.writing.draft.build_messages and the draft filters);
- styled: `quill draft BRIEF --style VOICE`: the same, plus the voice (the writer's
  passages closest to the brief, as earlier replies, and the figures as instructions;
  with --tone, the tone named by the same model as `quill style learn --tone` does),
  checked by the same code and retried once with another seed when it strays far
  (quill.writing.style_check.CheckedDraft);
- styled, first try: the styled draft before the check (what the check adds).

Scored: the stylometric distance of each draft to the voice's samples
(quill.writing.stylometry: 0 is the samples' own figures), sentence length, headings,
the share of drafts that stray far, and copy (the share of the draft's 6-word or
8-character shingles found in the samples: a voice is imitated, not pasted).

    .venv/bin/python benchmarks/style_eval.py                       # report half, seed 0
    .venv/bin/python benchmarks/style_eval.py --split tune --seeds 0,1
    .venv/bin/python benchmarks/style_eval.py --model qwen2.5-coder-1.5b --model default \\
        --json style.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from quill.engine.base import Engine, Message, Sampling  # noqa: E402
from quill.engine.generation import generate  # noqa: E402
from quill.writing import draft as drafting  # noqa: E402
from quill.writing import style  # noqa: E402
from quill.writing import stylometry as sm  # noqa: E402
from quill.writing.cleanup import draft_filters  # noqa: E402
from quill.writing.presets import sampling  # noqa: E402
from quill.writing.style_check import CheckedDraft  # noqa: E402
from quill.writing.verbs import with_style  # noqa: E402

PRESET = "balanced"  # what `quill draft` uses


@dataclass(frozen=True)
class Voice:
    name: str
    samples: tuple[str, ...]
    tune: tuple[str, ...]
    report: tuple[str, ...]


TERSE = Voice(
    "terse",
    (
        """I bought a bike in March. It's old. The paint's gone chalky and the bell sticks. \
I don't care. I ride it to work most days, down the canal path, past the lock keeper's \
cottage. He waves. I wave back. We've never spoken.

Some mornings the towpath floods. I walk then. It takes twice as long and I'm late, and \
nobody minds. The ducks don't move for anyone. I've learned to go round them.

I oiled the chain last Sunday. Took an hour. My hands still smell of it. Worth it, \
though. It doesn't squeak now. I miss the squeak a little.""",
        """I bake bread on Saturdays. Nothing fancy. Flour, water, salt, yeast. I'm not \
patient, so the dough rises while I read. Sometimes it rises too far. I bake it anyway.

The first loaf was a brick. I ate it. The second was better. By the tenth I'd stopped \
counting. My neighbour gets the heels. She says she likes them. I don't believe her.

There's a crack in the oven door. Heat leaks out. I've meant to fix it for a year. I \
won't. The bread doesn't seem to mind, and neither do I.""",
        """It rained all week. I didn't go out. I made soup on Monday and ate it till \
Thursday. Then I made more.

The roof leaks over the stairs. I've put a pot there. It plinks. At night it's almost a \
tune. I lie awake and count the drops. I lose count around forty.

Friday the sun came out. I went for a walk. The park was all mud and dogs. I'm glad I \
went. I'm also glad it's raining again.""",
    ),
    ("a short blog post about morning walks", "a note about learning to swim as an adult"),
    ("a short piece about fixing an old radio", "a blog post about the first snow of the year"),
)

FORMAL = Voice(
    "formal",
    (
        """The municipal library of the town, which was founded in 1887 by a committee of \
merchants who wished to provide the working population with an alternative to the public \
house, occupies a modest building of red brick on the corner of the market square. Its \
reading room, though small, has been in continuous use for more than a century; \
generations of clerks, schoolteachers and apprentices have spent their evenings at its \
long oak tables, and several of them later recorded their gratitude in the visitors' book \
that is still kept beside the door.

The collection reflects the priorities of its founders rather than the fashions of any \
particular decade. Works of practical instruction, such as manuals of bookkeeping, \
surveying and agriculture, outnumber novels by a considerable margin, and the few volumes \
of poetry that were acquired in the early years were, according to the minutes of the \
committee, purchased only after prolonged debate. The librarians who followed have \
generally respected this inheritance, adding to it cautiously and discarding little.""",
        """For most of the nineteenth century the prosperity of the valley depended upon \
the river, which carried coal, timber and grain to the coast and returned with \
manufactured goods that could not be produced locally. The barges that worked the lower \
reaches were owned for the most part by families who had operated them for several \
generations; the skills of navigation, which required an intimate knowledge of shifting \
sandbanks and seasonal currents, were passed from father to son and were seldom written \
down.

The arrival of the railway in 1854 altered this arrangement within a single decade. \
Freight that had previously taken three days to reach the harbour could now be delivered \
in a matter of hours, and the merchants, who were not sentimental about the means by \
which their goods were conveyed, transferred their custom accordingly. By 1870 fewer than \
a dozen barges remained in regular service, and the wharves that had once employed \
several hundred men were given over to storage or allowed to decay.""",
        """The orchard that lies to the south of the old manor house is among the oldest of \
its kind in the county, and the varieties of apple that it contains, several of which are \
no longer grown commercially, have attracted the attention of botanists and historians \
alike. The trees were planted in regular rows by a steward whose accounts survive in the \
county archive; these accounts record not only the cost of each sapling but also the name \
of the nursery from which it was obtained and, in many cases, the reason for its \
selection.

Although the orchard was neglected for some thirty years after the estate was sold, a \
local society undertook its restoration in 1998. The volunteers who carried out the work \
were careful to preserve the original arrangement of the trees, replacing those that had \
died with grafts taken from the survivors, so that the orchard as it stands today is, in \
a meaningful sense, a continuation of the one that the steward planted.""",
    ),
    (
        "an article about the history of a small harbour town",
        "a piece about the old railway station of a market town",
    ),
    (
        "an article about a village bakery that has been open for a century",
        "a piece about the canal that runs through an industrial city",
    ),
)

CHINESE = Voice(
    "zh",
    (
        """去年秋天，我搬了家。新家在老城区，离菜市场很近。每天早上，我都能听见楼下卖豆浆的\
吆喝声。刚搬来的时候，我很不习惯。屋子小了，窗户也旧了，一下雨就漏风。后来我买了几盆花，\
放在窗台上。屋里一下子亮堂了。

邻居是一位退休的老师。她每天傍晚都在院子里浇花，见了我总要问一句：“吃了吗？”我说吃了。\
她就笑。日复一日，我们慢慢熟了起来。现在我出门前，会先看看她在不在院子里。""",
        """三十岁那年，我开始学钢琴。朋友们都说我疯了。我自己也觉得有点晚。可是我想，晚一点\
总比不学好。

第一节课，老师让我弹音阶。我的手指僵得像木头。弹了十分钟，我就出汗了。回家以后，我每天练\
半个小时。一个月过去了，我终于能弹完一首短曲。那天晚上，我把录音发给了妈妈。她听了很久，\
只回了两个字：“不错。”我高兴了好几天。""",
        """今年的第一场雪来得很突然。早上拉开窗帘，外面已经白了一片。我煮了一壶茶，坐在窗前\
看雪。楼下的孩子们跑出来了，在雪地里追来追去，笑声一阵一阵传上来。

我想起了小时候。那时候家里没有暖气，冬天冷得很。可是一下雪，我们就什么都忘了，堆雪人，\
打雪仗，玩到天黑才回家。妈妈总是一边骂，一边给我们烤火。现在想想，那些日子真是无忧无虑。\
雪还在下。我又添了一杯茶。""",
    ),
    ("写一篇短文，讲讲周末去爬山", "写一篇博客，讲讲学做饭"),
    ("写一篇短文，讲讲第一次养猫", "写一篇短文，讲讲在火车上遇到的人"),
)

VOICES = (TERSE, FORMAL, CHINESE)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def score(profile: style.Profile, text: str, samples: tuple[str, ...]) -> dict[str, Any]:
    fig = sm.measure(text, profile.script)
    rows = sm.compare(profile.figures, fig, profile.script)
    key = "sentence_chars" if profile.script == sm.ZH else "sentence_words"
    return {
        "distance": sm.overall(rows),
        "sentence": fig.get(key, 0.0),
        "headings": fig.get("headings_per_100", 0.0),
        "strays": sm.strays(profile.figures, fig, profile.script),
        "copy": sm.copy_share(text, samples, profile.script),
        "figures": fig,
    }


def learn(engine: Engine, voice: Voice, tone: bool) -> style.Profile:
    """The profile `quill style learn` builds: figures and passages by code, and with
    ``tone`` (`--tone`) the tone named by the same model."""
    named = ""
    if tone:
        p = sampling("precise", 24, temperature=0.2, seed=0)
        named = generate(engine, style.learn_messages(voice.samples, engine.count), p).text()
    return style.new_profile(voice.name, list(voice.samples), ["sample"], named)


def draft_pair(
    engine: Engine, profile: style.Profile, brief: str, params: Sampling
) -> dict[str, Any]:
    base = drafting.build_messages(brief)

    def start_with(messages: list[Message]) -> Any:
        return lambda p: generate(
            engine, messages, p, transforms=draft_filters(drafting.opening(messages))
        )

    t0 = time.perf_counter()
    plain = start_with(base)(params).text()
    t1 = time.perf_counter()
    styled_messages = with_style(base, style.system_text(profile, brief))
    checked = CheckedDraft(start_with(styled_messages), params, profile)
    for _ in checked:
        pass
    styled = checked.close().text
    t2 = time.perf_counter()
    first = checked.attempts[0].result.text
    return {
        "plain": plain,
        "styled": styled,
        "first": first,
        "retried": len(checked.attempts) > 1,
        "notes": checked.notes,
        "seconds": {"plain": round(t1 - t0, 1), "styled": round(t2 - t1, 1)},
        "system": styled_messages[0].content,
    }


def run_model(
    spec: str | None, args: argparse.Namespace, done: list[dict[str, Any]]
) -> dict[str, Any]:
    from quill.env import EngineOptions, Environment

    env = Environment()
    engine = env.engine(EngineOptions(spec, args.ctx, args.gpu_layers, args.threads))
    name = engine.info.name
    log(f"model {name}")
    recs: list[dict[str, Any]] = []
    for voice in VOICES:
        if args.voices and voice.name not in args.voices:
            continue
        profile = learn(engine, voice, args.tone)
        log(f"  {voice.name}: tone {profile.tone!r}; " + "; ".join(style.instructions(profile)))
        briefs = voice.tune if args.split == "tune" else voice.report
        if args.split == "all":
            briefs = voice.tune + voice.report
        for brief in briefs:
            for seed in args.seed_list:
                params = sampling(PRESET, args.max_tokens, seed=seed)
                r = draft_pair(engine, profile, brief, params)
                rec = {"voice": voice.name, "brief": brief, "seed": seed, **r}
                for arm in ("plain", "first", "styled"):
                    rec[f"score_{arm}"] = score(profile, r[arm], voice.samples)
                recs.append(rec)
                if args.json:  # kept as it comes: a long run can be read while it runs
                    done.append({"model": name, "spec": spec, "records": recs})
                    partial = {"args": vars(args), "models": done}
                    Path(args.json).write_text(json.dumps(partial, ensure_ascii=False, indent=1))
                    done.pop()
                log(
                    f"    {brief[:40]!r} seed {seed}: distance plain "
                    f"{rec['score_plain']['distance']:.2f}, styled "
                    f"{rec['score_styled']['distance']:.2f}"
                    + (" (retried)" if r["retried"] else "")
                )
        recs.append({"voice": voice.name, "profile": style.dumps(profile)})
    return {"model": name, "spec": spec, "records": recs}


def table(result: dict[str, Any]) -> str:
    recs = [r for r in result["records"] if "brief" in r]
    out = [
        f"## {result['model']}\n",
        "| voice | drafts | distance plain | styled, first try | styled (checked) "
        "| closer | sentence len: samples / plain / styled | headings/100 plain / styled "
        "| stray plain / styled | retried | copy first try / styled |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for voice in VOICES:
        rs = [r for r in recs if r["voice"] == voice.name]
        if not rs:
            continue
        prof = next(r for r in result["records"] if r["voice"] == voice.name and "profile" in r)
        figs = style.loads(prof["profile"], voice.name).figures
        key = "sentence_chars" if voice is CHINESE else "sentence_words"

        def m(arm: str, k: str, rs: list[dict[str, Any]] = rs) -> float:
            return mean(float(r[f"score_{arm}"][k]) for r in rs)

        closer = sum(r["score_styled"]["distance"] < r["score_plain"]["distance"] for r in rs)
        stray = [sum(bool(r[f"score_{a}"]["strays"]) for r in rs) for a in ("plain", "styled")]
        out.append(
            f"| {voice.name} | {len(rs)} | {m('plain', 'distance'):.2f} "
            f"| {m('first', 'distance'):.2f} | {m('styled', 'distance'):.2f} "
            f"| {closer}/{len(rs)} | {figs.get(key, 0):.1f} / {m('plain', 'sentence'):.1f} / "
            f"{m('styled', 'sentence'):.1f} | {m('plain', 'headings'):.0f} / "
            f"{m('styled', 'headings'):.0f} | {stray[0]} / {stray[1]} "
            f"| {sum(r['retried'] for r in rs)} | {m('first', 'copy'):.2f} / "
            f"{m('styled', 'copy'):.2f} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", metavar="PATH|NAME", help="repeatable")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    ap.add_argument("--split", choices=("tune", "report", "all"), default="report")
    ap.add_argument("--voices", help="comma-separated: terse, formal, zh (default all)")
    ap.add_argument("--max-tokens", type=int, default=400, help="per draft (default 400)")
    ap.add_argument("--ctx", type=int, default=4096, help="context size (default 4096)")
    ap.add_argument("--gpu-layers", default="auto", help="auto, all or a number")
    ap.add_argument("--threads", type=int, help="CPU threads (default: all usable)")
    ap.add_argument("--tone", action="store_true", help="as `quill style learn --tone`")
    ap.add_argument("--json", metavar="FILE", help="write every text and score here")
    ap.add_argument("--show", metavar="FILE", help="print the tables of a saved --json run")
    args = ap.parse_args(argv)
    if args.show:
        saved = json.loads(Path(args.show).read_text())
        a = saved["args"]
        print(f"split {a['split']}, seeds {a['seeds']}, max tokens {a['max_tokens']}\n")
        for res in saved["models"]:
            print(table(res))
        return
    args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.voices = [v.strip() for v in args.voices.split(",")] if args.voices else []
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    for spec in args.model or [None]:
        results.append(run_model(spec, args, results))
    print("# quill style evaluation: drafts with --style against without\n")
    print(
        f"split {args.split}, seeds {args.seeds}, preset {PRESET}, max tokens "
        f"{args.max_tokens}, {time.perf_counter() - t0:.0f} s in all. Distance: "
        "quill.writing.stylometry, 0 = the samples' own figures; lower is closer.\n"
    )
    for res in results:
        print(table(res))
    if args.json:
        payload = {"args": vars(args), "models": results}
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
