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
from xstilts.core import stage
from xstilts.eval.summary import write_scores

if __name__ == "__main__":
    stage.run(write_scores)
