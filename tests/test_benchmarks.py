"""The trainer benchmark's code path (benchmarks/train_throughput.py), not its numbers: a timed test
is not a benchmark. The race's rules are checked: both samplers sort 50-batch windows, warm-up steps
are untimed, each trainer runs three times."""
import sys

from conftest import ROOT, run


def test_train_throughput_runs_a_fair_race_and_prints_its_table():
    out = run([sys.executable, str(ROOT / "benchmarks" / "train_throughput.py"), "--configs", "tiny-xlmr/xnli",
               "--steps", "2", "--repeats", "3"], cwd=ROOT).stdout
    rows = [line.split() for line in out.splitlines() if line.startswith("tiny-xlmr/xnli ")]
    assert [r[1] for r in rows] == ["default", "best", "xstilts"], out
    assert ("3 warm-up steps untimed; medians of 3 runs each" in out
            and out.splitlines()[-1].startswith("ratio_vs_default="))
    assert all(float(r[-3].replace(",", "")) > 0 for r in rows)  # real tokens/s


def test_both_length_grouping_samplers_sort_the_same_windows():
    """HF's LengthGroupedSampler sorts min(n / (4 x batch), 50) batches at a time; xstilts' Shuffler 50:
    the benchmark gives each trainer enough examples that both sort 50-batch windows."""
    import importlib.util

    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from xstilts.train.batches import Shuffler
    spec = importlib.util.spec_from_file_location("train_throughput", ROOT / "benchmarks" / "train_throughput.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    batch = 4
    feats = bench.features(bench.CONFIGS["xlmr-base/xnli"], batch * 4 * bench.WINDOW_BATCHES)
    lengths = [len(f["input_ids"]) for f in feats]
    hf = list(LengthGroupedSampler(batch, lengths=lengths, generator=torch.Generator().manual_seed(0)))
    ours = Shuffler(lengths, batch, seed=0, group_by_length=True).order(0)
    window = batch * bench.WINDOW_BATCHES

    def sorted_runs(order):  # the length of each descending run: a window sorted longest first
        runs, n = [], 1
        for a, b in zip(order, order[1:]):
            if lengths[b] <= lengths[a]:
                n += 1
            else:
                runs.append(n)
                n = 1
        return runs + [n]
    assert max(sorted_runs(ours)) >= window - 1 and max(sorted_runs(hf)) >= window - 1
