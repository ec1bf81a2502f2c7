"""Featurization, the training loop and prediction, for every trainable task type.

The whole loop is visible in `train`: AdamW, linear warmup then linear decay, gradient clipping,
early stopping on the first N dev examples (the paper's protocol: N = 500), best weights restored.
Seeded: the same params and seed give the same numbers on CPU.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from stages import data, metrics

MAX_ANSWER_TOKENS = 30


def setup(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


# --- featurization ----------------------------------------------------------------------------
def featurize(task_type: str, rows: list[dict], tokenizer, hp, labels=()) -> list[dict]:
    """Model inputs per row (QA: per window of a long context; `example` points back to the row)."""
    label_id = {name: i for i, name in enumerate(labels)}
    feats = []
    if task_type == "classification":
        enc = tokenizer([r["text_a"] for r in rows], [r["text_b"] for r in rows], truncation=True,
                        max_length=hp.max_seq_length)
        for i, r in enumerate(rows):
            feats.append({"input_ids": enc["input_ids"][i], "labels": label_id[r["label"]], "example": i})
    elif task_type == "multiple_choice":
        # Each choice is scored as a pair (context + question, choice); the head ranks the pairs.
        firsts = [" ".join(x for x in (r["context"], r["question"]) if x) for r in rows]
        enc = tokenizer([firsts[i] for i, r in enumerate(rows) for _ in r["choices"]],
                        [c for r in rows for c in r["choices"]], truncation=True, max_length=hp.max_seq_length)
        k = 0
        for i, r in enumerate(rows):
            n = len(r["choices"])
            feats.append({"choice_ids": enc["input_ids"][k:k + n], "labels": r["label"], "example": i})
            k += n
    elif task_type == "tagging":
        enc = tokenizer([r["tokens"] for r in rows], is_split_into_words=True, truncation=True,
                        max_length=hp.max_seq_length)
        for i, r in enumerate(rows):
            word_ids = enc.word_ids(i)
            tags, prev = [], None
            for w in word_ids:  # first sub-word of each word carries its tag; the rest are ignored
                tags.append(label_id[r["tags"][w]] if w is not None and w != prev else -100)
                prev = w
            feats.append({"input_ids": enc["input_ids"][i], "labels": tags, "word_ids": word_ids, "example": i})
    elif task_type == "qa":
        enc = tokenizer([r["question"] for r in rows], [r["context"] for r in rows], truncation="only_second",
                        max_length=hp.max_seq_length, stride=hp.doc_stride, return_overflowing_tokens=True,
                        return_offsets_mapping=True)
        for j, ex in enumerate(enc["overflow_to_sample_mapping"]):
            seq_ids = enc.sequence_ids(j)
            offsets = [o if s == 1 else None for o, s in zip(enc["offset_mapping"][j], seq_ids)]
            start_pos = end_pos = 0  # <s>: the answer is not in this window
            answers = rows[ex]["answers"]
            if answers:
                a_start = answers[0]["start"]
                a_end = a_start + len(answers[0]["text"])
                s = [k for k, o in enumerate(offsets) if o is not None and o[0] <= a_start < o[1]]
                e = [k for k, o in enumerate(offsets) if o is not None and o[0] < a_end <= o[1]]
                if s and e:
                    start_pos, end_pos = s[0], e[0]
            feats.append({"input_ids": enc["input_ids"][j], "start_positions": start_pos,
                          "end_positions": end_pos, "offsets": offsets, "example": ex})
    else:
        raise ValueError(f"cannot featurize task type '{task_type}'")
    return feats


def featurize_mlm(rows: list[dict], tokenizer, hp) -> list[dict]:
    """Masked-LM inputs: one corpus line per row (masking happens per batch, in training)."""
    enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=hp.max_seq_length)
    return [{"input_ids": ids, "example": i} for i, ids in enumerate(enc["input_ids"])]


def collate(feats: list[dict], pad_id: int) -> dict:
    if "choice_ids" in feats[0]:  # multiple choice: every (row, choice) pair is one sequence
        n = len(feats[0]["choice_ids"])
        if any(len(f["choice_ids"]) != n for f in feats):
            raise ValueError("multiple-choice rows of one task must have the same number of choices")
        sequences = [ids for f in feats for ids in f["choice_ids"]]
    else:
        n, sequences = None, [f["input_ids"] for f in feats]
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if n is not None:
        batch["n_choices"] = n
    if "labels" in feats[0]:
        if isinstance(feats[0]["labels"], list):
            labels = torch.full((len(feats), width), -100, dtype=torch.long)
            for i, f in enumerate(feats):
                labels[i, :len(f["labels"])] = torch.tensor(f["labels"])
            batch["labels"] = labels
        else:
            batch["labels"] = torch.tensor([f["labels"] for f in feats])
    if "start_positions" in feats[0]:
        batch["start_positions"] = torch.tensor([f["start_positions"] for f in feats])
        batch["end_positions"] = torch.tensor([f["end_positions"] for f in feats])
    return batch


# --- prediction -------------------------------------------------------------------------------
def predict(model, task_type: str, rows: list[dict], tokenizer, hp, labels=(), batch_size: int = 128,
            no_answer: bool = False) -> list:
    """One prediction per row: a label name, a choice index, a list of tag names, or an answer
    string ('' = no answer, only when the task has unanswerable questions)."""
    feats = featurize(task_type, rows, tokenizer, hp, labels)
    model.eval()
    outs = []
    if task_type == "multiple_choice" and feats:  # batch_size counts sequences: a row has several
        batch_size = max(1, batch_size // len(feats[0]["choice_ids"]))
    with torch.no_grad():
        for i in range(0, len(feats), batch_size):
            chunk = feats[i:i + batch_size]
            batch = collate(chunk, tokenizer.pad_token_id)
            _, out = model(batch["input_ids"], batch["attention_mask"], n_choices=batch.get("n_choices"))
            if task_type == "qa":
                outs.extend(zip(out[0].tolist(), out[1].tolist()))
            else:
                outs.extend(out.argmax(-1).tolist())
    model.train()
    if task_type == "classification":
        return [labels[k] for k in outs]
    if task_type == "multiple_choice":
        return outs
    if task_type == "tagging":
        fallback = next((t for t in ("O", "X") if t in labels), labels[0])
        preds = []
        for f, row, out in zip(feats, rows, outs):  # one feature per row for tagging
            tags = [fallback] * len(row["tokens"])  # words cut by max_seq_length get the catch-all tag
            prev = None
            for k, w in enumerate(f["word_ids"]):
                if w is not None and w != prev:
                    tags[w] = labels[out[k]]
                prev = w
            preds.append(tags)
        return preds
    # QA: best span over all windows of a row, start <= end, within the context, bounded length.
    # SQuAD v2: the null answer scores start+end logits at <s>; the lowest over a row's windows
    # competes with the best span (threshold 0, as HF's run_qa with version_2_with_negative).
    best = [(-math.inf, "") for _ in rows]
    null = [math.inf for _ in rows]
    for f, (start_logits, end_logits) in zip(feats, outs):
        null[f["example"]] = min(null[f["example"]], start_logits[0] + end_logits[0])
        ctx = [k for k, o in enumerate(f["offsets"]) if o is not None]
        if not ctx:
            continue
        top_s = sorted(ctx, key=lambda k: start_logits[k], reverse=True)[:20]
        top_e = sorted(ctx, key=lambda k: end_logits[k], reverse=True)[:20]
        for s in top_s:
            for e in top_e:
                if s <= e < s + MAX_ANSWER_TOKENS:
                    score = start_logits[s] + end_logits[e]
                    if score > best[f["example"]][0]:
                        context = rows[f["example"]]["context"]
                        best[f["example"]] = (score, context[f["offsets"][s][0]:f["offsets"][e][1]])
    if no_answer:
        return ["" if n > score else text for (score, text), n in zip(best, null)]
    return [text for _, text in best]


def dev_score(task_type: str, rows: list[dict], preds: list, no_answer: bool = False) -> float:
    """The early-stopping metric on English dev, a fraction: accuracy, token accuracy, or (EM+F1)/2
    (SQuAD v2.0's rules when the task has unanswerable questions)."""
    if task_type in ("classification", "multiple_choice"):
        return metrics.accuracy([r["label"] for r in rows], preds)
    if task_type == "tagging":
        return metrics.token_accuracy([r["tags"] for r in rows], preds)
    return metrics.squad_dev({r["id"]: [a["text"] for a in r["answers"]] for r in rows},
                             {r["id"]: p for r, p in zip(rows, preds)}, no_answer)


# --- training ---------------------------------------------------------------------------------
@dataclass
class Member:
    """One task of a (possibly multi-task) run: its own head over the shared encoder."""
    name: str
    task_type: str          # classification | multiple_choice | tagging | qa | mlm
    model: torch.nn.Module  # TaskModel; every member's model holds the same encoder object
    train_rows: list[dict]
    dev_rows: list[dict]    # empty for MLM: it takes no part in early stopping
    hp: object              # config.TaskHparams
    labels: tuple = ()
    no_answer: bool = False


def sampling_weights(sizes: dict[str, int], sampler: str = "proportional", examples_cap: int = 2 ** 17,
                     temperature: float = 1.0) -> dict[str, float]:
    """Probability of drawing each task for an optimizer step. proportional: min(n_m, K) / sum_k
    min(n_k, K) (the paper's, after Raffel et al.; K = examples_cap); temperature: the same
    weights raised to 1/T before normalizing (T = 1 is proportional); uniform: 1 / #tasks."""
    if sampler == "uniform":
        weights = {m: 1.0 for m in sizes}
    elif sampler in ("proportional", "temperature"):
        t = 1.0 if sampler == "proportional" else temperature
        weights = {m: min(n, examples_cap) ** (1.0 / t) for m, n in sizes.items()}
    else:
        raise ValueError(f"unknown sampler '{sampler}'; valid: proportional, temperature, uniform")
    total = sum(weights.values())
    return {m: w / total for m, w in weights.items()}


def draw_member(rng: random.Random, probs: dict[str, float]) -> str:
    """The member one optimizer step trains, drawn with the sampler's probabilities."""
    names = list(probs)
    return names[0] if len(names) == 1 else rng.choices(names, weights=[probs[n] for n in names])[0]


def _batches(n: int, batch_size: int, gen: torch.Generator):
    """Endless epochs of shuffled index batches (the last batch of an epoch may be short)."""
    while True:
        order = torch.randperm(n, generator=gen).tolist()
        for i in range(0, n, batch_size):
            yield order[i:i + batch_size]


def mask_tokens(input_ids: torch.Tensor, attention_mask: torch.Tensor, tokenizer, probability: float,
                gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: `probability` of the real tokens are predicted; of those 80% become <mask>,
    10% a random token, 10% stay."""
    labels = input_ids.clone()
    special = torch.tensor([[t in tokenizer.all_special_ids for t in row] for row in input_ids.tolist()])
    chosen = (torch.rand(input_ids.shape, generator=gen) < probability) & attention_mask.bool() & ~special
    labels[~chosen] = -100
    inputs = input_ids.clone()
    to_mask = chosen & (torch.rand(input_ids.shape, generator=gen) < 0.8)
    inputs[to_mask] = tokenizer.mask_token_id
    to_random = chosen & ~to_mask & (torch.rand(input_ids.shape, generator=gen) < 0.5)
    inputs[to_random] = torch.randint(len(tokenizer), input_ids.shape, generator=gen)[to_random]
    return inputs, labels


def train(model, task_type: str, train_rows: list[dict], dev_rows: list[dict], tokenizer, tp, hp,
          seed: int, labels=(), no_answer: bool = False, curve: list | None = None) -> list[dict]:
    """Single-task training: `train_members` with one member."""
    return train_members([Member("task", task_type, model, train_rows, dev_rows, hp, tuple(labels), no_answer)],
                         tokenizer, tp, seed, curve=curve)


def train_members(members: list[Member], tokenizer, tp, seed: int, sampler: str = "proportional",
                  examples_cap: int = 2 ** 17, temperature: float = 1.0, mlm_probability: float = 0.15,
                  lr: float | None = None, curve: list | None = None) -> list[dict]:
    """Train in place; restore the weights with the best early-stopping dev score. Returns the log
    (one row per evaluation); `curve`, when given, receives the mean training loss of every
    `tp.log_every` steps (the loss curve of reports/curves).

    Each optimizer step draws one member (`sampling_weights`) and takes one batch of it; with one
    member this is plain single-task training. The early-stopping score is the mean over members
    of their dev metric on the first `early_stopping_examples` dev rows (MLM has none). The number
    of steps is what the supervised members need for their epochs (a task's examples capped at K),
    scaled up by MLM's share of the draws so the supervised tasks still get their epochs."""
    feats = {m.name: (featurize(m.task_type, m.train_rows, tokenizer, m.hp, m.labels)
                      if m.task_type != "mlm" else featurize_mlm(m.train_rows, tokenizer, m.hp)) for m in members}
    dev = {m.name: m.dev_rows[:tp.early_stopping_examples] for m in members if m.dev_rows}
    if not dev:
        raise ValueError("no member has dev data for early stopping")
    probs = sampling_weights({m.name: len(feats[m.name]) for m in members}, sampler, examples_cap, temperature)
    supervised = [m for m in members if m.task_type != "mlm"]
    total = sum(math.ceil(min(len(feats[m.name]), examples_cap) / m.hp.batch_size) * m.hp.epochs for m in supervised)
    total = max(1, int(total / max(1e-9, sum(probs[m.name] for m in supervised))))
    warmup = int(tp.warmup_ratio * total)

    params = {}  # the encoder is shared: every parameter once
    for m in members:
        for n, p in m.model.named_parameters():
            params.setdefault(id(p), (f"{m.name}.{n}", p))
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {"params": [p for n, p in params.values() if not any(k in n for k in no_decay)], "weight_decay": tp.weight_decay},
        {"params": [p for n, p in params.values() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=lr if lr is not None else tp.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    streams = {m.name: _batches(len(feats[m.name]), m.hp.batch_size,
                                torch.Generator().manual_seed(seed + i)) for i, m in enumerate(members)}
    draw = random.Random(seed)  # which member each step trains (unused with one member)
    mlm_gen = torch.Generator().manual_seed(seed + 7919)
    by_name = {m.name: m for m in members}

    def snapshot():
        return [p.detach().clone() for _, p in params.values()]

    log, running, best, bad, step, t0 = [], [], (-math.inf, None, 0), 0, 0, time.time()
    since_log = []  # losses since the last loss-curve point
    drawn = {m.name: 0 for m in members}
    for m in members:
        m.model.train()
    while step < total:
        name = draw_member(draw, probs)
        m = by_name[name]
        drawn[name] += 1
        batch = collate([feats[name][k] for k in next(streams[name])], tokenizer.pad_token_id)
        if m.task_type == "mlm":
            batch["input_ids"], batch["labels"] = mask_tokens(batch["input_ids"], batch["attention_mask"],
                                                              tokenizer, mlm_probability, mlm_gen)
        loss, _ = m.model(**batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params.values()], tp.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad()
        running.append(loss.item())
        since_log.append(running[-1])
        step += 1
        if curve is not None and (step % tp.log_every == 0 or step == total):
            curve.append({"step": step, "loss": sum(since_log) / len(since_log)})
            since_log = []
        if step % tp.eval_every == 0 or step == total:
            scores = {}
            for n, rows in dev.items():
                d = by_name[n]
                preds = predict(d.model, d.task_type, rows, tokenizer, d.hp, d.labels, tp.eval_batch_size, d.no_answer)
                scores[n] = dev_score(d.task_type, rows, preds, d.no_answer)
            score = sum(scores.values()) / len(scores)
            row = {"step": step, "loss": sum(running) / len(running), "dev_score": score,
                   "seconds": round(time.time() - t0, 1)}
            if len(members) > 1:
                row.update(dev_scores=scores, steps_per_task=dict(drawn))
            log.append(row)
            running = []
            if score > best[0]:
                best, bad = (score, snapshot(), step), 0
            else:
                bad += 1
            if bad >= tp.patience:
                break
    if best[1] is not None:
        with torch.no_grad():
            for (_, p), saved in zip(params.values(), best[1]):
                p.copy_(saved)
    for row in log:
        row["best"] = row["step"] == best[2]
    return log


CURVES = Path("reports/curves")


def write_curves(name: str, runs: dict[str, tuple[list[dict], list[dict]]]) -> None:
    """The training curves `dvc plots show` draws (dvc.yaml, top-level `plots`), small CSVs (cached DVC outs):
    reports/curves/loss/<name>.csv (step, loss: mean training loss of every log_every steps) and
    reports/curves/dev/<name>.csv (step, dev_score: the early-stopping score at every evaluation),
    with a `run` column (the intermediate task; for fine-tuning the language of a translate-train
    model, `en` for zero-shot, `all` for translate-train-all). A stage
    that trains nothing (the baseline's intermediate phase, a skipped target) writes the headers only."""
    for kind, column in (("loss", "loss"), ("dev", "dev_score")):
        lines = [f"run,step,{column}"]
        for run, (curve, log) in runs.items():
            lines += [f"{run},{r['step']},{r[column]:.6f}" for r in (curve if kind == "loss" else log)]
        data.atomic_write_text(CURVES / kind / f"{name}.csv", "\n".join(lines) + "\n")
