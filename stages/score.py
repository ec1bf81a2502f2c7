"""Stage `score`: the benchmark's official scores of both arms (xstilts/eval/scorer.py, evaluate.py's
rules) on the leaderboard layout the pipeline writes: predictions in
data/predictions/<arm>/<task>/<split>-<lang>.<suffix>, gold labels in data/labels/<task>/; and the
gains' intervals over evaluation examples (xstilts/eval/intervals.py: a paired bootstrap, 1000
resamples of each language file's examples, the same for both arms; 95%).

It writes four small git-tracked files (`cache: false`):
  reports/metrics.json  the headline numbers of evaluate.py's output for this experiment's arm, on the
                        `eval_split`: all_task (only when every task of the benchmark ran), the group
                        scores, and per task avg_metric (QA: also avg_exact_match, avg_f1); the same
                        under `baseline` (no intermediate training) and `gain` (arm - baseline);
                        `gain_interval`: each of those gains' {low, high} over evaluation examples; and
                        `variant`: the settings behind the numbers. The one DVC metrics file of the
                        stage: what `dvc exp show` shows.
  reports/metrics_by_language.json  the rest of evaluate.py's output, in the same nesting: per task
                        {metric: {lang: value}} and its other averages, for the arm, `baseline` and
                        `gain` (`dvc metrics diff <rev> --targets reports/metrics_by_language.json`).
                        xstilts/eval/headline.py's `read_metrics` merges the two files back into one tree.
  reports/scores.json   what was scored (per task: split, languages; tasks left out), the command
                        that reproduces each arm's numbers, where the numbers came from, how the
                        intervals were drawn, and `notes`: what was scored anyway but should be known
                        (QA questions without a prediction, scored 0; predictions for no question).
  reports/metrics_by_split.json  both arms' evaluate.py output on every split, {split: {arm: ...}}, and
                        beside them `gain_interval` (the bootstrap's settings, {split: intervals}):
                        what `xstilts grid` / `xstilts claim` collect from each experiment's commit.
`xstilts score --predictions data/predictions/<arm> --labels data/labels ...` prints exactly the arm's
block of the two files merged (tests/test_pipeline.py).
"""
from xstilts.core import stage
from xstilts.eval.summary import write_scores

if __name__ == "__main__":
    stage.run(write_scores)
