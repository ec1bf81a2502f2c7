"""Normalizer of token-tagging sources (UD-POS, PAN-X / WikiANN) to canonical rows {id, tokens: [...],
tags: [...]}, the tags as names. CCGbank is not on the Hub: sources.load_ccgbank reads it directly."""
from __future__ import annotations

from xstilts.data.normalize.faults import BadLabel, check_text, fail, label_name, label_names, require


def token_tags(column):
    """Tokens and one tag per token (a ClassLabel, mapped by name). A row whose tokens and tags
    differ in length is an error; rows without tokens, or with a placeholder tag (-1 / ''), are
    dropped ("empty or untagged")."""
    def normalize(ds, task, source, lang, where, dropped):
        require(ds, where, "tokens", column)
        names = label_names(ds, column)
        memo: dict = {}
        rows = []
        for k, (tokens, raw) in enumerate(zip(ds["tokens"][:], ds[column][:])):
            if tokens is None or raw is None:
                which = "tokens" if tokens is None else column
                raise fail(where, k, which, "expected a list, found null")
            if len(tokens) != len(raw):
                raise fail(where, k, column, f"{len(raw)} tags for {len(tokens)} tokens (column 'tokens')")
            for token in tokens:
                check_text(where, k, "tokens", token)
            tags = []
            for t in raw:
                if t not in memo:
                    try:
                        memo[t] = label_name(t, names, task.labels)
                    except BadLabel as e:
                        raise fail(where, k, column, str(e)) from None
                tags.append(memo[t])
            if not tokens or None in tags:
                dropped.add("empty or untagged")
                continue
            rows.append({"id": str(k), "tokens": list(tokens), "tags": tags})
        return rows
    return normalize

