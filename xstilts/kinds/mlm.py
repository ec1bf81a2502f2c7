"""Masked-LM as a member of intermediate training (intermediate_mlm): corpus lines, masked per batch
with BERT's recipe, the pretrained LM head. It has no dev score and no leaderboard files."""
from __future__ import annotations

from xstilts.kinds.base import Kind, labelled_tokens, pad, pad_labels


class MLM(Kind):
    name = "mlm"
    supervised = False

    def featurize(self, rows, tokenizer, hp, labels=()):
        """One corpus line per row (masking happens per training batch, in prepare_train)."""
        enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=hp.max_seq_length)
        return [{"input_ids": ids, "example": i} for i, ids in enumerate(enc["input_ids"])]

    def head(self, hidden, n_labels):
        raise ValueError("an MLM member needs the pretrained LM head: model.encoders.load_mlm_head")

    def collate(self, feats, pad_id):
        batch = pad([f["input_ids"] for f in feats], pad_id)
        if "labels" in feats[0]:
            batch["labels"] = pad_labels(feats, batch["input_ids"].shape)
        return batch

    def loss(self, out, targets):
        from torch.nn.functional import cross_entropy
        return cross_entropy(out.flatten(0, 1).float(), targets["labels"].flatten(), ignore_index=-100)

    def prepare_train(self, feats, tokenizer, state):
        """state: {"generator": the masking RNG, "probability": the share of tokens predicted}. The
        whole (effective) batch is masked at once, before it is split into micro-batches or over
        processes, so neither changes which tokens are masked."""
        if not feats:
            return feats
        lengths = [len(f["input_ids"]) for f in feats]
        flat, labels = mask_tokens([t for f in feats for t in f["input_ids"]], set(tokenizer.all_special_ids),
                                   tokenizer.mask_token_id, len(tokenizer), state["probability"], state["generator"])
        out, start = [], 0
        for f, n in zip(feats, lengths):
            out.append({**f, "input_ids": flat[start:start + n], "labels": labels[start:start + n]})
            start += n
        return out

    def loss_units(self, feats):
        return labelled_tokens(feats)


def mask_tokens(ids: list[int], special: set, mask_id: int, vocab_size: int, probability: float, gen):
    """BERT's masking of a sequence of token ids (a batch's sequences, concatenated): `probability`
    of its non-special tokens are predicted; of those 80% become <mask>, 10% a random token, 10%
    stay. The one masker of the project: tiny pretraining and intermediate MLM both use it.
    Returns (input ids, labels with -100 elsewhere)."""
    import torch
    n = len(ids)
    real = torch.tensor([t not in special for t in ids])
    chosen = (torch.rand(n, generator=gen) < probability) & real
    masked = chosen & (torch.rand(n, generator=gen) < 0.8)
    randomized = chosen & ~masked & (torch.rand(n, generator=gen) < 0.5)
    replacement = torch.randint(vocab_size, (n,), generator=gen)
    inputs = torch.tensor(ids)
    inputs[masked] = mask_id
    inputs[randomized] = replacement[randomized]
    labels = torch.where(chosen, torch.tensor(ids), torch.tensor(-100))
    return inputs.tolist(), labels.tolist()
