"""Helper of tests/test_trainer.py (not a test): a few trainer steps of a dropout-free model on
fixed features, saved by the main process. Run alone (1 process) or under torchrun (DDP, gloo).

`ddp_train.py OUT MAX_DEVICE_BATCH` trains one tagging task; `ddp_train.py OUT MAX_DEVICE_BATCH
multitask` trains a multi-task intermediate stage's model: two member tasks (classification and
tagging, each with dev rows for early stopping) and masked-LM with an LM head tied to the word
embeddings, one member drawn per step, as xstilts/train/intermediate.py sets it up."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_trainer import PAD, VOCAB, encoder, features  # noqa: E402

from xstilts import kinds  # noqa: E402
from xstilts.core import config  # noqa: E402
from xstilts.model.heads import TaskModel  # noqa: E402
from xstilts.train import runtime, trainer  # noqa: E402


def main(out: str, max_device_batch: str, what: str = "single") -> None:
    rt = config.RuntimeParams(device="cpu", precision="fp32", max_device_batch=int(max_device_batch) or None,
                              processes=1, deterministic=True, threads=1, checkpoint_every=1000, progress_every=1000)
    if what == "multitask":
        return multitask(out, rt)
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
        torch.save({"state": model.state_dict(), "grads": grads, "initial": initial, "curve": curve,
                    "processes": used.processes, "tokens": stats.tokens}, out)


class WordTokenizer:
    """Just enough of a tokenizer for the kinds' featurize and MLM's masking: each word is a token id
    ("17"), one sub-word; <s> 0, <pad> 1, </s> 2, <mask> 3."""
    pad_token_id, mask_token_id, all_special_ids = PAD, 3, [0, 1, 2, 3]

    class Encoding(dict):
        def __init__(self, ids, words):
            super().__init__(input_ids=ids)
            self.words = words

        def word_ids(self, i):
            return self.words[i]

    def __len__(self):
        return VOCAB

    def __call__(self, first, second=None, is_split_into_words=False, truncation=True, max_length=None):
        ids, words = [], []
        for k, text in enumerate(first):
            a = text if is_split_into_words else text.split()
            seq, w = [0, *map(int, a), 2], [None, *range(len(a)), None]
            if second is not None:
                b = second[k].split()
                seq, w = seq + [2, *map(int, b), 2], w + [None] * (len(b) + 2)
            ids.append(seq[:max_length])
            words.append(w[:max_length])
        return self.Encoding(ids, words)


def rows(n: int, seed: int) -> dict[str, list[dict]]:
    """n rows of each member task, of different lengths (so that row and token weighting differ)."""
    g = torch.Generator().manual_seed(seed)

    def words(k):
        return [str(t) for t in torch.randint(4, VOCAB, (3 + (k * 5) % 13,), generator=g).tolist()]
    nli = [{"text_a": " ".join(words(k)), "text_b": " ".join(words(k + 1)), "label": "abc"[k % 3]} for k in range(n)]
    pos = []
    for k in range(n):
        w = words(k)
        pos.append({"tokens": w, "tags": ["ABCDE"[int(t) % 5] for t in w]})
    mlm = [{"text": " ".join(words(k) + words(k + 2))} for k in range(n)]
    return {"nli": nli, "pos": pos, "mlm": mlm}


def multitask(out: str, rt) -> None:
    """Issue 26 §1.6: the multi-task intermediate stage (xstilts/train/intermediate.py's setup) under DDP."""
    from transformers.models.xlm_roberta.modeling_xlm_roberta import XLMRobertaLMHead
    acc, used = runtime.start(rt, multitask=True)  # DDP finds the heads a step does not use
    enc = encoder()
    torch.manual_seed(0)
    cls, tag, mlm = kinds.get("classification"), kinds.get("tagging"), kinds.get("mlm")
    heads = {"nli": (cls, cls.head(32, 3)), "pos": (tag, tag.head(32, 5))}
    for _, head in heads.values():
        head.dropout.p = 0.0
    lm_head = XLMRobertaLMHead(enc.config)
    lm_head.decoder.weight = enc.embeddings.word_embeddings.weight  # tied, as encoders.load_mlm_head ties it
    heads["mlm"] = (mlm, lm_head)
    model = TaskModel(enc, heads)
    train, dev = rows(30, 1), rows(12, 2)
    train["pos"] = train["pos"][:21]  # its epoch's last batch is 1 row: the second process gets none of it
    hp = config.TaskHparams(batch_size=10, epochs=1, max_seq_length=64)
    members = [trainer.Member("nli", cls, train["nli"], dev["nli"], hp, ("a", "b", "c")),
               trainer.Member("pos", tag, train["pos"], dev["pos"], hp, tuple("ABCDE")),
               trainer.Member("mlm", mlm, train["mlm"], [], hp)]
    tp = config.TrainParams(lr=1e-3, warmup_ratio=0.2, weight_decay=0.01, max_grad_norm=1.0, early_stopping_examples=12,
                            eval_every=3, patience=10, tasks={}, log_every=1, eval_batch_size=4)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    curve, tok = [], WordTokenizer()
    # 3 + 3 supervised steps (one epoch at batch 10), scaled up by their 51/81 share of the draws: 9;
    # dev predictions in batches of 4: each process predicts some of them (gathered)
    log, stats = trainer.train(model, members, tok, tp, 0, acc, rt, mlm_probability=0.3, curve=curve)
    wrapped = acc.prepare(model)  # and one more batch of each member: its gradients, after DDP's all-reduce
    grads = {}
    for m in members:
        feats = m.kind.featurize(m.train_rows[:10], tok, hp, m.labels)
        feats = m.kind.prepare_train(feats, tok, {"generator": torch.Generator().manual_seed(5), "probability": 0.3})
        model.zero_grad()
        trainer.backward_batch(wrapped, acc, m.name, m.kind, feats, PAD, rt.max_device_batch)
        grads[m.name] = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    if acc.is_main_process:
        torch.save({"state": model.state_dict(), "grads": grads, "initial": initial, "curve": curve, "log": log,
                    "processes": used.processes, "tokens": stats.tokens, "steps": stats.steps}, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
