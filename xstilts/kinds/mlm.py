"""Masked-LM as a member of intermediate training (intermediate_mlm): corpus lines, masked per batch
with BERT's recipe, the pretrained LM head. It has no dev score and no leaderboard files."""
from __future__ import annotations

from xstilts.kinds.base import Kind


class MLM(Kind):
    name = "mlm"
    supervised = False

    def featurize(self, rows, tokenizer, hp, labels=()):
        """One corpus line per row (masking happens per batch, in train_batch)."""
        enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=hp.max_seq_length)
        return [{"input_ids": ids, "example": i} for i, ids in enumerate(enc["input_ids"])]

    def head(self, hidden, n_labels):
        raise ValueError("an MLM member needs the pretrained LM head: model.encoders.load_mlm_head")

    def loss(self, out, targets):
        from torch.nn.functional import cross_entropy
        return cross_entropy(out.flatten(0, 1), targets["labels"].flatten(), ignore_index=-100)

    def train_batch(self, batch, tokenizer, state):
        """state: {"generator": the masking RNG, "probability": the share of tokens predicted}."""
        batch["input_ids"], batch["labels"] = mask_tokens(batch["input_ids"], batch["attention_mask"], tokenizer,
                                                          state["probability"], state["generator"])
        return batch


def mask_tokens(input_ids, attention_mask, tokenizer, probability: float, gen):
    """BERT's masking: `probability` of the real tokens are predicted; of those 80% become <mask>,
    10% a random token, 10% stay."""
    import torch
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
