"""Stage `score`: the benchmark's official scores of both arms (xstilts/eval/scorer.py, evaluate.py's
rules) on the leaderboard layout the pipeline writes: predictions in
data/predictions/<arm>/<task>/<split>-<lang>.<suffix>, gold labels in data/labels/<task>/.

It writes three small git-tracked files (`cache: false`):
  reports/metrics.json  evaluate.py's output for this experiment's arm, on the `eval_split`:
                        all_task (only when every task of the benchmark ran), group scores, and per
                        task {metric: {lang: value}, avg_<metric>, avg_metric}; the same under
                        `baseline` (no intermediate training) and `gain` (arm - baseline); and
                        `variant`: the settings behind the numbers.
  reports/scores.json   what was scored (per task: split, languages; tasks left out), the command
                        that reproduces each arm's numbers, where the numbers came from, and
                        `notes`: what was scored anyway but should be known (QA questions without a
                        prediction, scored 0; predictions for no question), one line each.
  reports/metrics_by_split.json  both arms' evaluate.py output on every split, {split: {arm: ...}}:
                        what `xstilts grid` / `xstilts claim` collect from each experiment's commit.
`xstilts score --predictions data/predictions/<arm> --labels data/labels ...` prints exactly the arm's
block of metrics.json (tests/test_pipeline.py).
"""
import json
import sys

from xstilts.core import io, paths, stage
from xstilts.eval import summary as summaries


def main(params) -> None:
    try:
        summary, scores, by_split = summaries.build(params)
    except BaseException:
        # DVC removed this stage's outputs before running it, the git-tracked metrics among them: say so
        gone = [str(p) for p in (paths.METRICS, paths.SCORES, paths.BY_SPLIT) if not p.exists()]
        if gone:
            print(f"note: scoring failed, and DVC removed {', '.join(gone)} before it ran; `git checkout -- "
                  f"{' '.join(gone)}` brings back the committed ones (docs/failures.md)", file=sys.stderr)
        raise
    io.atomic_write_text(paths.BY_SPLIT, json.dumps(by_split, indent=1) + "\n")
    io.atomic_write_text(paths.METRICS, json.dumps(summary, indent=2) + "\n")
    io.atomic_write_text(paths.SCORES, json.dumps(scores, indent=2) + "\n")
    line = ", ".join(f"{t} {summary[t]['avg_metric']:.1f} ({summary['gain'][t]['avg_metric']:+.1f})"
                     for t in scores["scored"])
    for note in scores["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(f"score ({params.intermediate} vs baseline, {params.eval_split}): {line}; "
          f"{summaries.overall_line(summary, params.benchmark)}")


if __name__ == "__main__":
    stage.run(main)
