"""Featurization, the training loop and prediction, for every trainable task type.

The whole loop is visible in `train`: AdamW, linear warmup then linear decay, gradient clipping,
early stopping on the first N dev examples (the paper's protocol: N = 500), best weights restored.
Seeded: the same params and seed give the same numbers on CPU.
"""
from __future__ import annotations

import copy
import math
import time

import torch

from stages import metrics

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
def train(model, task_type: str, train_rows: list[dict], dev_rows: list[dict], tokenizer, tp, hp,
          seed: int, labels=(), no_answer: bool = False) -> list[dict]:
    """Train in place; restore the weights with the best early-stopping dev score. Returns the log."""
    feats = featurize(task_type, train_rows, tokenizer, hp, labels)
    dev_rows = dev_rows[:tp.early_stopping_examples]
    steps_per_epoch = math.ceil(len(feats) / hp.batch_size)
    total = max(1, int(steps_per_epoch * hp.epochs))
    warmup = int(tp.warmup_ratio * total)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": tp.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=tp.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    gen = torch.Generator().manual_seed(seed)
    log, running, best, bad, step, t0 = [], [], (-math.inf, None, 0), 0, 0, time.time()
    model.train()
    while step < total:
        order = torch.randperm(len(feats), generator=gen).tolist()
        for i in range(0, len(order), hp.batch_size):
            batch = collate([feats[k] for k in order[i:i + hp.batch_size]], tokenizer.pad_token_id)
            loss, _ = model(**batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tp.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad()
            running.append(loss.item())
            step += 1
            if step % tp.eval_every == 0 or step == total:
                preds = predict(model, task_type, dev_rows, tokenizer, hp, labels, tp.eval_batch_size, no_answer)
                score = dev_score(task_type, dev_rows, preds, no_answer)
                log.append({"step": step, "loss": sum(running) / len(running), "dev_score": score,
                            "seconds": round(time.time() - t0, 1)})
                running = []
                if score > best[0]:
                    best, bad = (score, copy.deepcopy(model.state_dict()), step), 0
                else:
                    bad += 1
                if bad >= tp.patience:
                    step = total
            if step >= total:
                break
    if best[1] is not None:
        model.load_state_dict(best[1])
    for row in log:
        row["best"] = row["step"] == best[2]
    return log
