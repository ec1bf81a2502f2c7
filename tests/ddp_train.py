"""Helper of tests/test_trainer.py (not a test): a few trainer steps of a dropout-free model on
fixed features, saved by the main process. Run alone (1 process) or under torchrun (DDP, gloo)."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_trainer import PAD, encoder, features  # noqa: E402

from xstilts import kinds  # noqa: E402
from xstilts.core import config  # noqa: E402
from xstilts.model.heads import TaskModel  # noqa: E402
from xstilts.train import runtime, trainer  # noqa: E402


def main(out: str, max_device_batch: str) -> None:
    rt = config.RuntimeParams(device="cpu", precision="fp32", max_device_batch=int(max_device_batch) or None,
                              processes=1, deterministic=True, threads=1, checkpoint_every=1000, progress_every=1000)
    acc, used = runtime.start(rt)
    kind = kinds.get("tagging")
    torch.manual_seed(0)
    head = kind.head(32, 5)
    head.dropout.p = 0.0
    model = TaskModel(encoder(), {"task": (kind, head)})
    tp = config.TrainParams(lr=1e-3, warmup_ratio=0.0, weight_decay=0.01, max_grad_norm=1.0, early_stopping_examples=0,
                            eval_every=1000, patience=1, tasks={})
    hp = config.TaskHparams(batch_size=10, epochs=1, max_seq_length=64)

    class Tok:
        pad_token_id = PAD
    feats = features("tagging", 40)
    tp = config.TrainParams(**{**vars(tp), "log_every": 1})
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    curve = []
    _, stats = trainer.train(model, [trainer.Member("task", kind, [], [], hp, train_feats=feats)], Tok(), tp, 0, acc,
                             rt, total_steps=6, curve=curve)
    wrapped = acc.prepare(model)  # and one more batch's gradients, as DDP leaves them after its all-reduce
    model.zero_grad()
    trainer.backward_batch(wrapped, acc, "task", kind, feats[:10], PAD, rt.max_device_batch)
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    if acc.is_main_process:
        torch.save({"state": model.state_dict(), "grads": grads, "initial": initial, "curve": curve, "processes": used.processes,
                    "tokens": stats.tokens}, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
