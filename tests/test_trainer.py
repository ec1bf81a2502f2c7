"""The trainer's arithmetic on CPU: micro-batches with accumulation give the whole batch's loss and
gradients for every trainable kind, bf16 autocast runs, batches are seeded and resumable, the
runtime's settings are checked, a step the fp16 loss scaler skips counts for nothing, DDP over two
gloo processes (one task, and multi-task with MLM) matches one process. (Killing and resuming a
real stage, and DDP on a real stage, are in tests/test_runtime_stages.py.)"""
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
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b)
                   for b in (sh.next() for _ in range(steps)))
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


class Tok:
    pad_token_id = PAD


class Kept:
    """A checkpoint that keeps every state the trainer saves (what a rerun would resume from) and has
    nothing to resume from itself."""
    dir = Path("kept-in-memory")

    def __init__(self):
        self.states = []

    def save(self, state, rank, rng):
        import copy
        self.states.append(copy.deepcopy(state))  # as written then (the optimizer's state changes in place)

    def load(self, rank):
        return None


def fp16_accelerator():
    """What runtime.start gives on a GPU without bf16 (fp16 autocast and accelerate's loss scaler), on
    CPU: accelerate makes no scaler there (and runtime.start refuses fp16 on CPU), so the accelerator
    gets torch's CPU GradScaler, where on CUDA accelerate puts torch's CUDA one."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    runtime.start(RT)  # threads and determinism, as for every run here
    AcceleratorState._reset_state(reset_partial_state=True)
    acc = Accelerator(cpu=True, mixed_precision="fp16")
    assert acc.scaler is None
    acc.native_amp, acc.scaler = True, torch.amp.GradScaler("cpu", init_scale=2.0 ** 4)  # no overflow of its own
    return acc


def test_fp16_step_the_loss_scaler_skips_advances_nothing():
    """Issue 26 §1.5: the 4th batch's gradients overflow (inf); the scaler skips that step. With the
    fused AdamW, accelerate's optimizer_step_was_skipped never says so (the scaler calls the fused
    step every time, which skips internally), so the trainer used to count the step and advance the
    LR schedule. Now the step is redone with the next batch: the step count, the schedule, AdamW's
    own step, the curve and the resume state all run as if the overflow had never happened."""
    import math
    kind = kinds.get("classification")
    acc = fp16_accelerator()
    torch.manual_seed(0)
    model = TaskModel(encoder(), {"task": (kind, kind.head(32, 3))})
    weight = model.heads["task"].out.weight
    seen = []  # the head's weights at each backward pass (after as many optimizer steps)

    def overflow_the_fourth(grad):
        seen.append(weight.detach().clone())
        return grad * float("inf") if len(seen) == 4 else grad
    weight.register_hook(overflow_the_fourth)
    dtypes = set()
    model.encoder.encoder.layer[0].intermediate.dense.register_forward_hook(lambda m, i, o: dtypes.add(o.dtype))
    feats = [{**f, "labels": k % 3} for k, f in enumerate(features("classification", 64))]
    tp = config.TrainParams(lr=1e-3, warmup_ratio=0.5, weight_decay=0.01, max_grad_norm=1.0, early_stopping_examples=0,
                            eval_every=1000, patience=1, tasks={}, log_every=1)
    hp = config.TaskHparams(batch_size=8, epochs=1, max_seq_length=32)
    rt = config.RuntimeParams(**{**vars(RT), "checkpoint_every": 1})
    kept, curve = Kept(), []
    member = trainer.Member("task", kind, [], [], hp, ("a", "b", "c"), train_feats=feats)
    log, stats = trainer.train(model, [member], Tok(), tp, 0, acc, rt, total_steps=6, checkpoint=kept, curve=curve)

    assert len(seen) == 7 and stats.steps == 6  # 6 steps took 7 batches: the skipped one is not a step
    assert torch.equal(seen[4], seen[3])         # the skipped step left the weights alone
    assert not torch.equal(seen[5], seen[4])     # and training went on
    assert [st["step"] for st in kept.states] == [1, 2, 3, 4, 5]  # a checkpoint every step (none at the last)
    warmup, total = 3, 6
    for st in kept.states:
        k = st["step"]
        assert st["scheduler"]["last_epoch"] == k, k                        # the LR schedule: one tick a step
        assert st["optimizer"]["param_groups"][0]["lr"] == pytest.approx(
            1e-3 * ((k + 1) / warmup if k < warmup else (total - k) / (total - warmup))), k
        assert {int(v["step"]) for v in st["optimizer"]["state"].values()} == {k}, k  # AdamW's own count
        assert st["scaler"]["scale"] == (16.0 if k < 4 else 8.0), k          # halved by the overflow
        assert sum(st["drawn"].values()) == k and len(st["curve"]) == k
    assert [c["step"] for c in curve] == [1, 2, 3, 4, 5, 6] and all(math.isfinite(c["loss"]) for c in curve)
    assert stats.skipped_steps == 1 and dtypes == {torch.float16}  # fp16 autocast, as on such a GPU


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


def test_multitask_with_mlm_on_two_ddp_processes_matches_one_process(tmp_path):
    """Issue 26 §1.6: the multi-task intermediate stage's training (two member tasks with dev rows, and
    masked-LM with an LM head tied to the embeddings; one member drawn per step) over two gloo
    processes, each half the batch in micro-batches, against one process: every process draws the
    same member each step (else DDP would reduce different heads' gradients, or hang), masks the
    same tokens, and the same weights, gradients, losses, dev scores and draws come out."""
    import subprocess
    import sys

    from conftest import ROOT
    script = ROOT / "tests" / "ddp_train.py"
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    subprocess.run([sys.executable, str(script), str(one), "0", "multitask"], check=True, cwd=tmp_path, timeout=300)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                    str(script), str(two), "2", "multitask"], check=True, cwd=tmp_path, timeout=300)
    a, b = torch.load(one), torch.load(two)
    assert (a["processes"], b["processes"]) == (1, 2) and a["tokens"] == b["tokens"] and a["steps"] == b["steps"] == 9
    drawn = a["log"][-1]["steps_per_task"]
    assert min(drawn.values()) > 0 and sum(drawn.values()) == 9, drawn  # every member trained
    assert [r["steps_per_task"] for r in a["log"]] == [r["steps_per_task"] for r in b["log"]]
    for ra, rb in zip(a["log"], b["log"], strict=True):
        assert ra["dev_scores"] == pytest.approx(rb["dev_scores"]) and ra["loss"] == pytest.approx(rb["loss"], rel=1e-5)
        assert ra["best"] == rb["best"]
    worst = max(float((a["state"][k] - b["state"][k]).abs().max()) for k in a["state"])
    moved = max(float((a["state"][k] - a["initial"][k]).abs().max()) for k in a["state"])
    assert worst < 1e-5 < 1e-3 < moved, (worst, moved)
    assert a["grads"].keys() == b["grads"].keys() == {"nli", "pos", "mlm"}
    for member in a["grads"]:  # one more batch of each member: AdamW would hide a gradient off by a constant factor
        assert a["grads"][member].keys() == b["grads"][member].keys()
        for k in a["grads"][member]:
            assert torch.allclose(a["grads"][member][k], b["grads"][member][k], rtol=1e-4, atol=1e-7), (member, k)
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
        assert proc.poll() is None and time.time() - t0 < 90, (
            proc.stdout.read() if proc.poll() is not None else "timeout")
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert ((tmp_path / "term-0").read_text() == "saved"
            and (tmp_path / "term-1").read_text() == "saved"), proc.stdout.read()
