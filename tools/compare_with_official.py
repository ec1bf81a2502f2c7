"""Differential check of xstilts/eval/scorer.py against the official scorer.

Writes random prediction/label folders in the leaderboard layout (every task and official language
of XTREME and XTREME-R, with the edge cases the official scripts treat specially: unanswered
questions, duplicate BUCC pairs, empty normalized answers, Arabic/Chinese MLQA text, UPOS tags such
as SCONJ/SYM/INTJ, Mewsli-X golds outside the top 20), scores each with google-research/xtreme's
evaluate.py and with xstilts, and reports every number that differs by more than --tolerance.

The official code is not part of this repository. Run with a checkout of google-research/xtreme and
a Python that has seqeval==0.0.13 (the version its published numbers and evaluate_test.py's golden
values come from; it pulls in Keras, so keep it in its own venv):

    python -m venv /tmp/sq && /tmp/sq/bin/pip install seqeval==0.0.13
    python tools/compare_with_official.py --xtreme /path/to/xtreme --official-python /tmp/sq/bin/python
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from xstilts.core import tasks  # noqa: E402
from xstilts.eval import layout, scorer  # noqa: E402

UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
IOB = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
WORDS = {"en": ["the", "a", "an", "cat", "dog", "run", "3", "x-y", "Paris,", "!"],
         "es": ["el", "la", "los", "gato", "perro", "¡hola!", "casa"],
         "de": ["der", "die", "das", "ein", "Hund", "Katze", "«Haus»"],
         "ar": ["الكتاب", "مالك", "في", "ال", "بيت", "،"],
         "hi": ["का", "घर", "।", "राम"], "vi": ["của", "là", "nhà", "mèo", "những"],
         "zh": ["北京", "市", "，", "2008年", "abc", "中国"]}
OFFICIAL_NAME = {"xtreme": "xtreme", "xtreme_r": "xtreme-r"}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def squad_file(questions) -> str:
    qas = [{"id": q, "question": "", "answers": [{"answer_start": 0, "text": a} for a in answers]}
           for q, answers in questions]
    return json.dumps({"data": [{"paragraphs": [{"context": "", "qas": qas}]}], "version": "1.1"}, ensure_ascii=False)


def random_folder(root: Path, benchmark: str, rnd: random.Random) -> None:
    def mutate(seq, choices, rate):
        return [rnd.choice(choices) if rnd.random() < rate else x for x in seq]

    def phrase(lang):
        words = WORDS.get(lang, WORDS["en"] + WORDS["de"] + WORDS["zh"])
        return " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 4)))

    for task in tasks.BENCHMARK_TARGETS[benchmark]:
        if task == "lareqa":  # evaluate.py cannot score it (no languages, no metric)
            continue
        for lang in tasks.TARGETS[task].languages[benchmark]:
            gold_path, pred_path = (root / side / task / f"test-{lang}" for side in ("labels", "predictions"))
            n = rnd.randint(1, 12)
            kind = layout.kind(task).name
            if kind in ("classification", "bitext"):
                values = {"pawsx": ["0", "1"], "xnli": ["entailment", "neutral", "contradiction"]}.get(
                    task, [str(i) for i in range(6)])
                gold = [rnd.choice(values) for _ in range(n)]
                write(gold_path.with_suffix(".tsv"), "".join(f"{x}\n" for x in gold))
                write(pred_path.with_suffix(".tsv"), "".join(f"{x}\n" for x in mutate(gold, values, 0.5)))
            elif kind == "multiple_choice":
                gold = [rnd.randint(0, 1) for _ in range(n)]
                write(gold_path.with_suffix(".jsonl"),
                      "".join(json.dumps({"label": x, "premise": "p"}) + "\n" for x in gold))
                write(pred_path.with_suffix(".jsonl"),
                      "".join(json.dumps({"label": x}) + "\n" for x in mutate(gold, [0, 1], 0.5)))
            elif kind == "tagging":
                values = IOB if task == "panx" else UPOS
                gold = [[rnd.choice(values) for _ in range(rnd.randint(1, 9))] for _ in range(rnd.randint(1, 4))]
                for path, sentences in ((gold_path, gold), (pred_path, [mutate(s, values, 0.3) for s in gold])):
                    write(path.with_suffix(".tsv"), "\n".join("".join(f"{t}\n" for t in s) for s in sentences))
            elif kind == "mining":
                gold = [f"{lang}-{i:09d}\ten-{rnd.randint(0, 20):09d}" for i in range(n)]
                pred = [x if rnd.random() < 0.6 else f"{lang}-{rnd.randint(0, 20):09d}\ten-{rnd.randint(0, 20):09d}"
                        for x in gold] + ([gold[0]] if rnd.random() < 0.3 else [])
                write(gold_path.with_suffix(".tsv"), "".join(f"{x}\n" for x in gold))
                write(pred_path.with_suffix(".tsv"), "".join(f"{x}\n" for x in pred))
            elif kind == "qa":
                questions = [(f"q{i}", [phrase(lang) for _ in range(rnd.randint(1, 3))]) for i in range(n)]
                pred = {}
                for q, answers in questions:
                    r = rnd.random()
                    if r < 0.1:
                        continue  # unanswered: scores 0
                    pred[q] = (rnd.choice(answers) if r < 0.4 else
                               rnd.choice(answers) + " " + phrase(lang) if r < 0.7 else phrase(lang))
                write(gold_path.with_suffix(".json"), squad_file(questions))
                write(pred_path.with_suffix(".json"), json.dumps(pred, ensure_ascii=False))
            elif kind == "ranking":  # Mewsli-X
                gold = {f"e{i}": [f"Q{rnd.randint(0, 30)}"] for i in range(n)}
                pred = {e: [f"Q{rnd.randint(0, 30)}" for _ in range(rnd.randint(0, 25))]
                        for e in gold if rnd.random() < 0.9}
                write(gold_path.with_suffix(".json"), json.dumps(gold))
                write(pred_path.with_suffix(".json"), json.dumps(pred))


def differences(official, ours, path, tolerance, found):
    if isinstance(official, dict):
        if set(official) != set(ours):
            found.append((path, f"keys differ: {sorted(set(official) ^ set(ours))}"))
        for k in official:
            if k in ours:
                differences(official[k], ours[k], path + [k], tolerance, found)
        return 0
    if abs(official - ours) > tolerance:
        found.append((path, f"official {official!r} vs ours {ours!r}"))
    return 1


def count(x) -> int:
    return sum(count(v) for v in x.values()) if isinstance(x, dict) else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xtreme", required=True, type=Path, help="a checkout of google-research/xtreme")
    ap.add_argument("--official-python", default=sys.executable, help="a Python with seqeval==0.0.13")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--tolerance", type=float, default=1e-9)
    args = ap.parse_args()
    found, compared = [], 0
    for seed in range(args.seeds):
        for benchmark in tasks.BENCHMARKS:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                random_folder(root, benchmark, random.Random(seed))
                out = root / "official.json"
                proc = subprocess.run([args.official_python, "evaluate.py",
                                       "--prediction_folder", str(root / "predictions"),
                                       "--label_folder", str(root / "labels"), "--output_file", str(out),
                                       "--xtreme_version", OFFICIAL_NAME[benchmark]],
                                      cwd=args.xtreme, capture_output=True, text=True)
                if not out.exists():
                    sys.exit(f"evaluate.py failed (seed {seed}, {benchmark}):\n{proc.stderr[-2000:]}")
                official = json.loads(out.read_text())
                ours, _ = scorer.evaluate(root / "predictions", root / "labels", benchmark)
                differences(official, ours, [seed, benchmark], args.tolerance, found)
                compared += count(official)
    print(f"| seeds | benchmarks | numbers compared | differences (> {args.tolerance:g}) |")
    print("|---:|---|---:|---:|")
    print(f"| {args.seeds} | {', '.join(tasks.BENCHMARKS)} | {compared} | {len(found)} |")
    for path, what in found[:30]:
        print(f"  {'/'.join(map(str, path))}: {what}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
