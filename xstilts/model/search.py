"""Retrieval search over sentence embeddings, for the targets with no training data (BUCC, Tatoeba) and the XTREME-R
retrieval targets (LAReQA, Mewsli-X): nearest neighbours, BUCC margin mining, threshold tuning and
(xstilts/metrics/retrieval.py: the metrics). Pure torch; the stages wire them to encoders and files.

Everything follows google-research/xtreme (read at HEAD 838c13b):
  third_party/utils_retrieve.py   knnCPU/knnGPU, score, mine_bitext (BUCC mining), read_candidate2score,
                                  bucc_optimize, bucc_extract, similarity_search (Tatoeba)
  evaluate.py                     bucc_f1 (F1 over sets of ID pairs), accuracy (Tatoeba)
  third_party/utils_lareqa.py     average_precision_at_k, mean_avg_prec_at_k (LAReQA mAP@20)
  third_party/utils_mewslix.py    evaluate / mean_reciprocal_rank (Mewsli-X "map@20")
XTREME uses faiss exact (flat) inner-product search on L2-normalised float32 vectors. Here the same
search is a chunked matrix product with a running top-k, so no N x M similarity matrix is ever held:
BUCC test has ~400k sentences per side, and 400k x 400k float32 would be 640 GB.
"""
from __future__ import annotations

import torch

# Rows per block on each side of a similarity block: 4096 x 4096 float32 = 64 MiB.
CHUNK = 4096


def normalize(x: torch.Tensor) -> torch.Tensor:
    """L2-normalise each row (float32), as faiss.normalize_L2 does before every XTREME search.
    An all-zero row stays zero (faiss leaves it alone; torch clamps the norm at 1e-12)."""
    return torch.nn.functional.normalize(x.float(), p=2, dim=1)


def _topk(queries: torch.Tensor, candidates: torch.Tensor, k: int, chunk: int = CHUNK):
    """Exact k largest inner products of each query row with the candidate rows.

    Returns (values, indices), each [n_queries, k], best first: what faiss IndexFlatIP.search gives.
    Queries and candidates are both processed `chunk` rows at a time; for each query block a running
    top-k is merged with each candidate block's top-k, so memory is O(chunk * chunk + n * k).
    Exactly tied similarities are not ordered deterministically (torch.topk, like faiss, leaves it open).
    """
    n, m = len(queries), len(candidates)
    if not 1 <= k <= m:
        raise ValueError(f"k={k} with {m} candidates")
    values = torch.empty(n, k, dtype=torch.float32, device=queries.device)
    indices = torch.empty(n, k, dtype=torch.long, device=queries.device)
    for q0 in range(0, n, chunk):
        q = queries[q0:q0 + chunk]
        best_v = torch.full((len(q), 0), float("-inf"), device=q.device)
        best_i = torch.zeros((len(q), 0), dtype=torch.long, device=q.device)
        for c0 in range(0, m, chunk):
            sims = q @ candidates[c0:c0 + chunk].to(q.device).T
            v, i = sims.topk(min(k, sims.shape[1]), dim=1)
            # merge: the k best of (running best, this block's best)
            v, i = torch.cat([best_v, v], dim=1), torch.cat([best_i, i + c0], dim=1)
            v, pos = v.topk(min(k, v.shape[1]), dim=1)
            best_v, best_i = v, i.gather(1, pos)
        values[q0:q0 + chunk], indices[q0:q0 + chunk] = best_v, best_i
    return values, indices


# ----------------------------------------------------------------------------------------------
# Tatoeba

def nearest_neighbours(queries: torch.Tensor, candidates: torch.Tensor, chunk: int = CHUNK) -> list[int]:
    """Index of the most cosine-similar candidate row for each query row (Tatoeba's prediction).

    XTREME's similarity_search L2-normalises both sides and takes the 1-NN under L2 distance,
    which on unit vectors is the cosine argmax. Ties go to the lowest candidate index (torch.argmax
    returns the first maximum; a later block must be strictly better to replace an earlier one).
    Direction: XTREME's evaluate_retrieval.py calls similarity_search(x=non-English, y=English),
    which indexes x and searches with y, i.e. the *English* sentences are its queries. Which side is
    `queries` here is the caller's choice.
    """
    q_all, c_all = normalize(queries), normalize(candidates)
    if len(c_all) == 0:
        raise ValueError("no candidates")
    out = []
    for q0 in range(0, len(q_all), chunk):
        q = q_all[q0:q0 + chunk]
        best_v = torch.full((len(q),), float("-inf"), device=q.device)
        best_i = torch.zeros(len(q), dtype=torch.long, device=q.device)
        for c0 in range(0, len(c_all), chunk):
            v, i = (q @ c_all[c0:c0 + chunk].to(q.device).T).max(dim=1)
            better = v > best_v
            best_v = torch.where(better, v, best_v)
            best_i = torch.where(better, i + c0, best_i)
        out.extend(best_i.tolist())
    return out


# ----------------------------------------------------------------------------------------------
# BUCC: margin-based mining (Artetxe & Schwenk 2019, via LASER, via XTREME)

def knn_mean_similarity(x: torch.Tensor, y: torch.Tensor, k: int, chunk: int = CHUNK) -> torch.Tensor:
    """For each row of x, the mean cosine similarity to its k nearest rows of y, with k clipped to
    len(y). This is mine_bitext's x2y_mean = knn(x, y, min(len(y), neighborhood)).sim.mean(axis=1)."""
    values, _ = _topk(normalize(x), normalize(y), min(k, len(y)), chunk)
    return values.mean(dim=1)


def margin_scores(src: torch.Tensor, tgt: torch.Tensor, k: int = 4, chunk: int = CHUNK):
    """Candidates and ratio-margin scores in both directions, as mine_bitext(margin='ratio') builds them.

    With unit vectors x, y and knn means m_x (x's k nearest targets) and m_y (y's k nearest sources):
        score(x, y) = cos(x, y) / ((m_x + m_y) / 2)
    (utils_retrieve.score with margin = a / b). Only each row's k nearest neighbours are candidates
    (score_candidates over x2y_ind / y2x_ind), k clipped to the other side's size.

    Returns (fwd_ind [n, k], fwd_score [n, k], bwd_ind [m, k'], bwd_score [m, k']): fwd_ind[i] are the
    target rows nearest to source i and fwd_score[i] their margin scores; bwd_* the same from targets.
    """
    x, y = normalize(src), normalize(tgt)
    fwd_sim, fwd_ind = _topk(x, y, min(k, len(y)), chunk)
    bwd_sim, bwd_ind = _topk(y, x, min(k, len(x)), chunk)
    fwd_mean, bwd_mean = fwd_sim.mean(dim=1), bwd_sim.mean(dim=1)
    # the similarities of the candidates are already in fwd_sim/bwd_sim: no need to recompute dot products
    fwd_score = fwd_sim / ((fwd_mean[:, None] + bwd_mean[fwd_ind]) / 2)
    bwd_score = bwd_sim / ((bwd_mean[:, None] + fwd_mean[bwd_ind]) / 2)
    return fwd_ind, fwd_score, bwd_ind, bwd_score


def mine_pairs(src_emb, tgt_emb, src_ids: list[str], tgt_ids: list[str], k: int = 4,
               chunk: int = CHUNK) -> list[tuple[str, str, float]]:
    """BUCC candidate pairs, as XTREME's mine_bitext with its defaults (mode='mine', retrieval='max',
    margin='ratio', neighborhood=4, threshold=0, cosine, no embedding shift).

    1. Forward: each source's best target = the argmax of the margin score among its k nearest
       targets (not simply the cosine argmax). Backward: each target's best source, likewise.
    2. retrieval='max' (not 'intersect'): pool all n forward and m backward candidates, walk them
       by descending score and keep a pair only if neither its source nor its target was taken
       by an earlier (higher-scoring) pair, so the result is one-to-one; a pair found in both
       directions is kept once. XTREME sorts with np.argsort(-scores) (unstable); here equal
       scores keep pool order (forward candidates by source index, then backward by target index).
    3. Keep pairs with score > 0 (mine_bitext's threshold=0, strict).

    Returns (src_id, tgt_id, score) sorted by score descending. XTREME mines on unique sentence
    texts and then drops sentences whose text repeats; `mine_bucc` does that around this function.
    """
    if len(src_emb) != len(src_ids) or len(tgt_emb) != len(tgt_ids):
        raise ValueError("one id per embedding row")
    if len(src_ids) == 0 or len(tgt_ids) == 0:
        return []
    fwd_ind, fwd_score, bwd_ind, bwd_score = margin_scores(src_emb, tgt_emb, k, chunk)
    fwd_max, fwd_pos = fwd_score.max(dim=1)
    bwd_max, bwd_pos = bwd_score.max(dim=1)
    fwd_best = fwd_ind.gather(1, fwd_pos[:, None])[:, 0]
    bwd_best = bwd_ind.gather(1, bwd_pos[:, None])[:, 0]
    n, m = len(src_ids), len(tgt_ids)
    src_rows = torch.cat([torch.arange(n, device=bwd_best.device), bwd_best]).tolist()
    tgt_rows = torch.cat([fwd_best, torch.arange(m, device=fwd_best.device)]).tolist()
    scores = torch.cat([fwd_max, bwd_max])
    order = torch.sort(scores, descending=True, stable=True).indices.tolist()
    scores = scores.tolist()
    seen_src, seen_tgt, pairs = set(), set(), []
    for j in order:
        s, t = src_rows[j], tgt_rows[j]
        if s in seen_src or t in seen_tgt:
            continue
        seen_src.add(s)
        seen_tgt.add(t)
        if scores[j] > 0:
            pairs.append((src_ids[s], tgt_ids[t], scores[j]))
    return pairs


def unify_sentences(texts: list[str]) -> tuple[list[int], list[bool]]:
    """XTREME's duplicate handling for BUCC, split into its two effects.

    keep: the row of the first occurrence of each distinct text, in order (text_load_unify +
      unique_embeddings: mining runs on unique sentences only).
    repeated: for each kept row, whether its text occurs more than once. read_sent2id maps a sentence
      text back to an ID and deletes texts seen with several IDs, so every candidate involving such a
      sentence is dropped after mining (it still took part in the one-to-one assignment).
    XTREME unifies on the raw line and maps back on the stripped line; callers pass stripped texts.
    """
    first, count = {}, {}
    for i, t in enumerate(texts):
        first.setdefault(t, i)
        count[t] = count.get(t, 0) + 1
    keep = list(first.values())
    return keep, [count[texts[i]] > 1 for i in keep]


def mine_bucc(src_emb, tgt_emb, src_ids: list[str], tgt_ids: list[str], src_texts: list[str],
              tgt_texts: list[str], k: int = 4, chunk: int = CHUNK) -> list[tuple[str, str, float]]:
    """The full XTREME candidate list for one BUCC split: unify sentences, mine_pairs on the unique
    ones, drop candidates with a repeated sentence (read_candidate2score). Sorted by score descending."""
    src_keep, src_rep = unify_sentences(src_texts)
    tgt_keep, tgt_rep = unify_sentences(tgt_texts)
    bad_src = {src_ids[i] for i, r in zip(src_keep, src_rep) if r}
    bad_tgt = {tgt_ids[i] for i, r in zip(tgt_keep, tgt_rep) if r}
    pairs = mine_pairs(src_emb[src_keep], tgt_emb[tgt_keep], [src_ids[i] for i in src_keep],
                       [tgt_ids[i] for i in tgt_keep], k, chunk)
    return [p for p in pairs if p[0] not in bad_src and p[1] not in bad_tgt]


# ----------------------------------------------------------------------------------------------
# LAReQA and Mewsli-X: ranking and mAP@k

def rank(queries: torch.Tensor, candidates: torch.Tensor, candidate_ids: list[str], k: int = 20,
         chunk: int = CHUNK) -> list[list[str]]:
    """The ids of the k most cosine-similar candidates for each query, best first (k clipped to the
    pool size). LAReQA scores dot products of L2-normalised encodings (the retrieval models return
    normalised [CLS] vectors); Mewsli-X searches a faiss IndexFlatIP of normalised entity encodings,
    whose ranking per query equals the cosine ranking. Exact ties are ordered arbitrarily."""
    if len(candidates) != len(candidate_ids):
        raise ValueError("one id per candidate row")
    _, idx = _topk(normalize(queries), normalize(candidates), min(k, len(candidate_ids)), chunk)
    return [[candidate_ids[j] for j in row] for row in idx.tolist()]
