"""Encoders per architecture, tokenizer training, task heads, sentence embeddings and
nearest-neighbour search (torch; import these modules only where tensors are computed)."""


