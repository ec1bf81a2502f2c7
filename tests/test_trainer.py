"""The trainer's arithmetic on CPU: micro-batches with accumulation give the whole batch's loss and
gradients for every trainable kind, bf16 autocast runs, batches are seeded and resumable, the
runtime's settings are checked. (Killing and resuming a real stage, and DDP over two processes,
are in tests/test_runtime_stages.py.)"""
import os
from pathlib import Path

import pytest
import torch

from xstilts import kinds
from xstilts.core import config, io
from xstilts.model.heads import TaskModel
from xstilts.train import batches, runtime, trainer

RT = config.RuntimeParams(device="cpu", precision="fp32", max_device_batch=None, processes=1, deterministic=True,
                          threads=2, checkpoint_every=1000, progress_every=1000)
VOCAB, PAD = 60, 1


def encoder():
    from transformers import XLMRobertaConfig, XLMRobertaModel
    torch.manual_seed(0)
    return XLMRobertaModel(XLMRobertaConfig(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, pad_token_id=PAD, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        attn_implementation="sdpa"), add_pooling_layer=False)


def features(kind: str, n: int = 10) -> list[dict]:
    """Rows of different lengths, so that per-row and per-token weighting differ."""
    g = torch.Generator().manual_seed(1)

    def ids(k):
        length = 5 + (k * 7) % 19
        return [0, *torch.randint(4, VOCAB, (length,), generator=g).tolist(), 2]
    if kind == "classification":
        return [{"input_ids": ids(k), "labels": k % 3} for k in range(n)]
    if kind in ("tagging", "mlm"):
        out = []
        for k in range(n):
            x = ids(k)
            labels = [t % 5 if 0 < i < len(x) - 1 and (i + k) % 3 else -100 for i, t in enumerate(x)]
            out.append({"input_ids": x, "labels": labels if kind == "tagging" else
                        [t if lab != -100 else -100 for t, lab in zip(x, labels)]})
        return out
    if kind == "multiple_choice":
        return [{"choice_ids": [ids(k + c) for c in range(3)], "labels": k % 3} for k in range(n)]
    if kind == "qa":
        return [{"input_ids": ids(k), "start_positions": k % 4, "end_positions": k % 4 + 1} for k in range(n)]
    raise ValueError(kind)


def gradients(kind_name: str, max_device_batch):
    kind = kinds.get(kind_name)
    enc = encoder()
    torch.manual_seed(2)
    head = (torch.nn.Linear(32, VOCAB) if kind_name == "mlm" else kind.head(32, 5))
    model = TaskModel(enc, {"t": (kind, head)}).eval()  # no dropout: the two runs see the same function
    acc, _ = runtime.start(RT)
    loss, tokens, _ = trainer.backward_batch(model, acc, "t", kind, features(kind_name), PAD, max_device_batch)
    return float(loss), tokens, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("kind_name", ["classification", "tagging", "mlm", "multiple_choice", "qa"])
def test_micro_batches_give_the_whole_batch_loss_and_gradients(kind_name):
    loss, tokens, whole = gradients(kind_name, None)
    for mdb in (1, 3, 4):  # sequences per forward pass (multiple choice: 3 per row)
        micro_loss, micro_tokens, micro = gradients(kind_name, mdb)
        assert micro_loss == pytest.approx(loss, rel=1e-5, abs=1e-6) and micro_tokens == tokens
        assert whole.keys() == micro.keys()
        for name in whole:
            assert torch.allclose(micro[name], whole[name], rtol=1e-4, atol=1e-6), (kind_name, mdb, name)


def test_micro_batches_weighted_by_rows_would_be_wrong_for_tagging():
    """The test above can fail: for a per-token loss, weighting micro-batches by rows is not the
    whole batch's loss."""
    kind = kinds.get("tagging")
    enc = encoder()
    model = TaskModel(enc, {"t": (kind, kind.head(32, 5))}).eval()
    feats = features("tagging")
    with torch.no_grad():
        whole = model("t", **kind.collate(feats, PAD))[0]
        by_rows = sum(model("t", **kind.collate(feats[i:i + 3], PAD))[0] * len(feats[i:i + 3]) / len(feats)
                      for i in range(0, len(feats), 3))
    assert abs(float(by_rows) - float(whole)) > 1e-3


def test_micro_batches_partition_the_batch_across_processes():
    for n, processes, per in [(10, 1, None), (10, 2, 3), (7, 2, 2), (3, 2, 1), (32, 4, 5)]:
        parts = [batches.micro_batches(n, processes, r, per) for r in range(processes)]
        assert len({len(p) for p in parts}) == 1  # as many backward passes on every process
        covered = [i for p in parts for r in p for i in r]
        assert sorted(covered) == list(range(n))
        assert per is None or all(len(r) <= per for p in parts for r in p)


def test_length_grouped_batches_are_seeded_resumable_and_pad_less():
    lengths = [(i * 37) % 101 + 1 for i in range(400)]
    plain, grouped = batches.Shuffler(lengths, 8, 5), batches.Shuffler(lengths, 8, 5, group_by_length=True)

    def padding(sh, steps=100):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in (sh.next() for _ in range(steps)))
    assert padding(grouped) < 0.5 * padding(plain)
    a = batches.Shuffler(lengths, 8, 5, True)
    seen = [a.next() for _ in range(70)]  # into the second epoch
    b = batches.Shuffler(lengths, 8, 5, True)
    [b.next() for _ in range(30)]
    c = batches.Shuffler(lengths, 8, 5, True)
    c.restore(b.state())
    assert [c.next() for _ in range(40)] == seen[30:]
    epoch = [i for _ in range(50) for i in batches.Shuffler(lengths, 8, 5, True).next()] 
    assert len(set(batches.Shuffler(lengths, 8, 5, True).order(0))) == 400 and epoch


def test_bf16_autocast_trains_on_cpu():
    kind = kinds.get("classification")
    rt = config.RuntimeParams(**{**vars(RT), "precision": "bf16"})
    acc, used = runtime.start(rt)
    assert used.precision == "bf16" and used.device == "cpu"
    torch.manual_seed(0)
    model = TaskModel(encoder(), {"task": (kind, kind.head(32, 3))})
    seen = []
    model.encoder.encoder.layer[0].intermediate.dense.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    rows = [{"id": str(k), "label": "abc"[k % 3]} for k in range(40)]
    feats = [{**f, "labels": k % 3} for k, f in enumerate(features("classification", 40))]
    tp = config.TrainParams(lr=1e-3, warmup_ratio=0.1, weight_decay=0.0, max_grad_norm=1.0, early_stopping_examples=8,
                            eval_every=5, patience=10, tasks={})
    hp = config.TaskHparams(batch_size=8, epochs=1, max_seq_length=32)

    class Tok:
        pad_token_id = PAD
    member = trainer.Member("task", kind, rows, [], hp, ("a", "b", "c"), train_feats=feats)
    log, stats = trainer.train(model, [member], Tok(), tp, 0, acc, rt)
    assert stats.steps == 5 and stats.tokens > 0 and torch.bfloat16 in seen
    assert all(p.dtype == torch.float32 for p in model.parameters())  # fp32 master weights


def test_runtime_params_are_checked_and_overridable(monkeypatch, tmp_path):
    import yaml
    from conftest import ROOT
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = config.validate(raw)
    assert params.runtime().device == "cpu"
    monkeypatch.setenv("XSTILTS_PROCESSES", "2")
    assert params.runtime().processes == 2
    monkeypatch.setenv("XSTILTS_DEVICE", "tpu")
    with pytest.raises(config.ParamsError, match="unknown device in runtime.tiny 'tpu'.*Valid: auto, cpu, cuda"):
        params.runtime()
    monkeypatch.delenv("XSTILTS_DEVICE")
    monkeypatch.setenv("XSTILTS_THREADS", "0")
    with pytest.raises(config.ParamsError, match="runtime.tiny.threads must be a positive integer, got 0"):
        params.runtime()
    monkeypatch.delenv("XSTILTS_THREADS")
    raw["runtime"]["tiny"]["gpus"] = 2
    with pytest.raises(config.ParamsError, match="unknown key in params 'runtime.tiny' 'gpus'"):
        config.validate(raw)


def test_cuda_request_without_cuda_is_one_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the error is for machines without it")
    with pytest.raises(config.ParamsError, match="runtime device is 'cuda' but torch sees no CUDA device"):
        runtime.start(config.RuntimeParams(**{**vars(RT), "device": "cuda"}))


def test_earlier_temp_folders_are_removed_at_the_next_start(tmp_path):
    """What kill -9 leaves (any process's, dead or not: one stage writes an output) goes at the next write."""
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.tmp-{dead.pid}"
    stale.mkdir()
    (stale / "half.txt").write_text("half")
    other = tmp_path / f".out.tmp-{os.getppid()}"
    other.mkdir()
    unrelated = tmp_path / f".outer.tmp-{dead.pid}"
    unrelated.mkdir()
    with io.atomic_dir(tmp_path / "out") as tmp:
        (tmp / "done.txt").write_text("done")
    assert not stale.exists() and not other.exists() and unrelated.exists()
    assert (tmp_path / "out" / "done.txt").exists()


def test_pipeline_outputs_are_staged_where_no_dep_sees_them(tmp_path, monkeypatch):
    """A relative (pipeline) output is written under .staging/, not beside itself inside a folder
    another stage depends on (score depends on all of data/predictions)."""
    from xstilts.core import paths
    monkeypatch.chdir(tmp_path)
    out = Path("data/predictions/baseline/xnli")
    with io.atomic_dir(out) as tmp:
        assert tmp.parent == paths.STAGING and not str(tmp).startswith("data/")
        assert not (tmp_path / "data/predictions/baseline").exists() or not any(
            (tmp_path / "data/predictions/baseline").iterdir())
        (tmp / "test-en.tsv").write_text("x\n")
    assert (tmp_path / out / "test-en.tsv").exists() and list((tmp_path / paths.STAGING).iterdir()) == []


def test_sigterm_removes_the_stage_output_being_written(tmp_path):
    """SIGTERM (a scheduler's preemption, a Ctrl-C'd `dvc repro`) cleans up what the stage was writing."""
    import signal
    import subprocess
    import sys
    import time
    code = ("import time\nfrom pathlib import Path\nfrom xstilts.core import io, stage\n"
            "def main(params):\n"
            "    with io.atomic_dir(Path('data/out')) as tmp:\n"
            "        (tmp / 'half.txt').write_text('half')\n"
            "        print('writing', flush=True)\n"
            "        time.sleep(60)\n"
            "stage.run(main)\n")
    from conftest import ROOT
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    staged = list((tmp_path / ".staging").iterdir())
    assert len(staged) == 1 and (staged[0] / "half.txt").exists()
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143 and time.time() - t0 < 10
    assert list((tmp_path / ".staging").iterdir()) == [] and not (tmp_path / "data/out").exists()


def test_two_ddp_processes_match_one_process_without_dropout(tmp_path):
    """DDP over two gloo processes, each half the batch in micro-batches, against one process with
    the whole batch: the same weights after 6 steps (dropout off, so only summation order differs)."""
    import subprocess
    import sys
    from conftest import ROOT
    script = ROOT / "tests" / "ddp_train.py"
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    subprocess.run([sys.executable, str(script), str(one), "0"], check=True, cwd=tmp_path)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(script), str(two), "2"], check=True, cwd=tmp_path)
    a, b = torch.load(one), torch.load(two)
    assert (a["processes"], b["processes"]) == (1, 2) and a["tokens"] == b["tokens"]
    worst = max(float((a["state"][k] - b["state"][k]).abs().max()) for k in a["state"])
    moved = max(float((a["state"][k] - a["initial"][k]).abs().max()) for k in a["state"])
    assert worst < 1e-5 < 1e-3 < moved, (worst, moved)
    assert a["grads"].keys() == b["grads"].keys()
    for k in a["grads"]:  # AdamW would hide a gradient off by a constant factor: compare the gradients
        assert torch.allclose(a["grads"][k], b["grads"][k], rtol=1e-4, atol=1e-7), k
    assert [c["loss"] for c in a["curve"]] == pytest.approx([c["loss"] for c in b["curve"]], rel=1e-5)


RELAUNCHED = """
import os, signal, sys, time
from pathlib import Path
from xstilts.core import stage
from xstilts.train import runtime

out = Path(sys.argv[1])

class Rt:  # the runtime settings relaunch reads
    processes, device = 2, "cpu"

def main():
    runtime.relaunch(Rt)          # the launcher: torchrun with two ranks, then exits with its status
    rank = os.environ["LOCAL_RANK"]
    signal.signal(signal.SIGTERM, lambda *_: ((out / f"term-{rank}").write_text("saved"), sys.exit(0)))
    (out / f"ready-{rank}").write_text("")
    time.sleep(120)

signal.signal(signal.SIGTERM, stage._terminated)  # as stage.run installs it in every stage
main()
"""


def test_relaunch_forwards_sigterm_to_the_ranks_and_waits(tmp_path):
    """A scheduler's SIGTERM to a DDP stage's launching process reaches every rank (which checkpoints
    on it) and the launcher waits for them, instead of SIGKILLing torchrun on its way out."""
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "relaunched.py"
    script.write_text(RELAUNCHED)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.time()
    while not ((tmp_path / "ready-0").exists() and (tmp_path / "ready-1").exists()):
        assert proc.poll() is None and time.time() - t0 < 90, proc.stdout.read() if proc.poll() is not None else "timeout"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert (tmp_path / "term-0").read_text() == "saved" and (tmp_path / "term-1").read_text() == "saved", proc.stdout.read()
