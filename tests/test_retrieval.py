"""Retrieval algorithms: hand-worked margin scores and mining, BUCC threshold tuning and F1, AP@k,
and chunked search against brute force."""
import math
import random

import pytest
import torch

from xstilts.metrics import retrieval as R
from xstilts.model import search as S


def rows_with_cosines(cos: list[list[float]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Sources = standard basis vectors; each target is a unit vector whose first coordinates are its
    cosines with the sources, so cos(src_i, tgt_j) = cos[i][j] exactly as written."""
    n, m = len(cos), len(cos[0])
    src = torch.eye(n, n + 1, dtype=torch.float64)
    tgt = torch.zeros(m, n + 1, dtype=torch.float64)
    for j in range(m):
        col = [cos[i][j] for i in range(n)]
        tgt[j, :n] = torch.tensor(col)
        tgt[j, n] = math.sqrt(1 - sum(c * c for c in col))
    return src, tgt


# Example A (k=2). cos:      y0   y1    y2
#                      x0   0.9  0.5   0.2
#                      x1   0.1  0.45  0.6
# knn means: x0 (0.9+0.5)/2=0.7, x1 (0.6+0.45)/2=0.525; y0 (0.9+0.1)/2=0.5, y1 0.475, y2 0.4.
COS_A = [[0.9, 0.5, 0.2], [0.1, 0.45, 0.6]]


def test_normalize_rows():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]])
    assert torch.allclose(S.normalize(x), torch.tensor([[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]]))


def test_knn_mean_similarity_hand_worked_and_k_clipped():
    src, tgt = rows_with_cosines(COS_A)
    assert S.knn_mean_similarity(src, tgt, k=2).tolist() == pytest.approx([0.7, 0.525], abs=1e-6)
    # 3 sources asked for k=4 clip to the 2 there are
    assert S.knn_mean_similarity(tgt, src, k=4).tolist() == pytest.approx([0.5, 0.475, 0.4], abs=1e-6)
    # k=1 is the plain max
    assert S.knn_mean_similarity(src, tgt, k=1).tolist() == pytest.approx([0.9, 0.6], abs=1e-6)


def test_margin_scores_hand_worked():
    src, tgt = rows_with_cosines(COS_A)
    fwd_ind, fwd_score, bwd_ind, bwd_score = S.margin_scores(src, tgt, k=2)
    # score = cos / ((m_x + m_y) / 2)
    assert fwd_ind.tolist() == [[0, 1], [2, 1]]
    assert fwd_score.tolist()[0] == pytest.approx([0.9 / 0.6, 0.5 / 0.5875], abs=1e-5)
    assert fwd_score.tolist()[1] == pytest.approx([0.6 / 0.4625, 0.45 / 0.5], abs=1e-5)
    assert bwd_ind.tolist() == [[0, 1], [0, 1], [1, 0]]
    assert bwd_score.tolist()[1] == pytest.approx([0.5 / 0.5875, 0.45 / 0.5], abs=1e-5)
    assert bwd_score.tolist()[2] == pytest.approx([0.6 / 0.4625, 0.2 / 0.55], abs=1e-5)


def test_mine_pairs_hand_worked_margin_and_one_to_one():
    src, tgt = rows_with_cosines(COS_A)
    got = S.mine_pairs(src, tgt, ["s0", "s1"], ["t0", "t1", "t2"], k=2)
    # Forward bests: s0->t0 (1.5), s1->t2 (1.2973). Backward: t0->s0, t2->s1, and t1->s1 (0.9), where
    # the margin overrules the cosine (s0 is closer to t1, 0.5 > 0.45, but scores only 0.851).
    # (s1, t1) is then dropped because s1 is already taken by the higher-scoring (s1, t2).
    assert [(s, t) for s, t, _ in got] == [("s0", "t0"), ("s1", "t2")]
    assert [score for _, _, score in got] == pytest.approx([1.5, 0.6 / 0.4625], abs=1e-5)


def test_mine_pairs_keeps_backward_only_pairs():
    # k=1. cos: x0 [0.6, 0.1]; x1 [0.5, 0.4]; means x0 0.6, x1 0.5, y0 0.6, y1 0.4. Forward: x0->y0
    # (0.6/0.6), x1->y0 (0.5/0.55). Backward: y0->x0 (1.0), y1->x1 (0.4/0.45). y0 goes to x0; (x1, y1)
    # exists only backward and survives: XTREME's retrieval='max', not 'intersect' (only (x0, y0)).
    src, tgt = rows_with_cosines([[0.6, 0.1], [0.5, 0.4]])
    got = S.mine_pairs(src, tgt, ["s0", "s1"], ["t0", "t1"], k=1)
    assert [(s, t) for s, t, _ in got] == [("s0", "t0"), ("s1", "t1")]
    assert [score for _, _, score in got] == pytest.approx([1.0, 0.4 / 0.45], abs=1e-5)


def test_mine_pairs_drops_non_positive_scores():
    # k=2. cos: x0 [0.9, 0.6]; x1 [-0.3, -0.1]. Means x0 0.75, x1 -0.2, y0 0.3, y1 0.25. x1's best is
    # y1 with score -0.1 / ((-0.2 + 0.25) / 2) = -4; y1 is still free after (x0, y0) (1.714) takes x0,
    # but mine_bitext writes only scores above its threshold 0.
    src, tgt = rows_with_cosines([[0.9, 0.6], [-0.3, -0.1]])
    fwd_ind, fwd_score, _, _ = S.margin_scores(src, tgt, k=2)
    assert fwd_ind[1].tolist() == [1, 0] and fwd_score[1].tolist() == pytest.approx([-4.0, -6.0], abs=1e-4)
    got = S.mine_pairs(src, tgt, ["s0", "s1"], ["t0", "t1"], k=2)
    assert [(s, t) for s, t, _ in got] == [("s0", "t0")]
    assert got[0][2] == pytest.approx(0.9 / 0.525, abs=1e-5)


def test_mine_pairs_random_is_one_to_one_sorted_and_chunk_invariant():
    g = torch.Generator().manual_seed(0)
    src, tgt = torch.randn(37, 8, generator=g), torch.randn(29, 8, generator=g)
    sid, tid = [f"s{i}" for i in range(37)], [f"t{j}" for j in range(29)]
    full = S.mine_pairs(src, tgt, sid, tid, k=4)
    chunked = S.mine_pairs(src, tgt, sid, tid, k=4, chunk=5)
    assert [p[:2] for p in full] == [p[:2] for p in chunked]
    assert [p[2] for p in full] == pytest.approx([p[2] for p in chunked], abs=1e-5)
    scores = [p[2] for p in full]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert len({p[0] for p in full}) == len(full) == len({p[1] for p in full})
    # brute force: the best margin score overall is always mined, and it is the first pair
    x, y = S.normalize(src), S.normalize(tgt)
    cos = x @ y.T
    mx, my = cos.topk(4, dim=1).values.mean(1), cos.T.topk(4, dim=1).values.mean(1)
    margin = cos / ((mx[:, None] + my[None, :]) / 2)
    i, j = divmod(int(margin.argmax()), 29)
    assert full[0][:2] == (sid[i], tid[j]) and full[0][2] == pytest.approx(float(margin.max()), abs=1e-5)


def test_mine_bucc_unifies_and_drops_repeated_sentences():
    src, tgt = rows_with_cosines([[0.6, 0.1], [0.5, 0.4]])
    # a third source row repeats s1's text under another id: it is not mined (first occurrence only)
    # and s1's pair is dropped afterwards because its text maps to two ids
    src3 = torch.cat([src, src[1:]])
    got = S.mine_bucc(src3, tgt, ["s0", "s1", "s9"], ["t0", "t1"], ["a", "b", "b"], ["A", "B"], k=1)
    assert [(s, t) for s, t, _ in got] == [("s0", "t0")]
    assert S.unify_sentences(["a", "b", "a", "c"]) == ([0, 1, 3], [True, False, False])


def test_bucc_f1_known_sets():
    gold = {("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")}
    pred = {("a", "1"), ("b", "2"), ("c", "9")}
    s = R.bucc_f1(pred, gold)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(0.5)
    assert s["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert R.bucc_f1({("x", "y")}, gold) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_tune_threshold_hand_worked():
    gold = {("a", "1"), ("b", "2"), ("c", "3"), ("z", "26")}  # ("z","26") never mined
    cands = [("a", "1", 2.0), ("x", "7", 1.8), ("b", "2", 1.6), ("c", "3", 1.5), ("y", "8", 1.2),
             ("w", "9", 1.1)]
    # prefix F1s: 1 item 2/5, 2 items 1/3, 3 items 4/7, 4 items 6/8=0.75 (best), 5 items 2/3, 6 items 0.6
    th = R.tune_threshold(cands, gold)
    assert th == pytest.approx((1.5 + 1.2) / 2)
    kept = R.apply_threshold(cands, th)
    assert kept == {("a", "1"), ("x", "7"), ("b", "2"), ("c", "3")}
    assert R.bucc_f1(kept, gold)["f1"] == pytest.approx(0.75)
    # order of the input list does not matter; duplicates keep their max score
    assert R.tune_threshold(list(reversed(cands)) + [("c", "3", 0.1)], gold) == pytest.approx(th)
    # best prefix = everything: the threshold keeps everything (XTREME would raise IndexError)
    assert R.tune_threshold([("a", "1", 3.0), ("b", "2", 1.0)], gold) == 1.0
    # nothing correct: XTREME's initial threshold 0
    assert R.tune_threshold([("x", "7", 3.0)], gold) == 0.0


@pytest.mark.parametrize("seed", range(20))
def test_tune_threshold_maximises_f1(seed):
    rng = random.Random(seed)
    cands = [(f"s{i}", f"t{i}", rng.uniform(0.5, 2.0)) for i in range(30)]
    gold = {(s, t) for s, t, _ in cands if rng.random() < 0.5} | {("gone", "gone")}
    if len(gold) == 1:
        gold.add(cands[0][:2])
    th = R.tune_threshold(cands, gold)
    best = max(R.bucc_f1(R.apply_threshold(cands, c[2]), gold)["f1"] for c in cands)
    assert R.bucc_f1(R.apply_threshold(cands, th), gold)["f1"] == pytest.approx(best)


def test_average_precision_hand_worked():
    # hits at ranks 1, 3, 5: (1/1 + 2/3 + 3/5) / 3
    assert R.average_precision_at_k(list("axbyc"), set("abc")) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    # relevant item beyond rank k earns nothing; divisor min(|relevant|, k) = 2
    assert R.average_precision_at_k(list("xayb"), set("ab"), k=2) == pytest.approx(0.25)
    assert R.average_precision_at_k(list("xayb"), set("ab"), k=4) == pytest.approx((1 / 2 + 2 / 4) / 2)
    # |relevant| > k: divisor is k, so a perfect top-k scores 1 (a |relevant| divisor would give 0.4)
    assert R.average_precision_at_k(list("ab"), set("abcde"), k=2) == pytest.approx(1.0)
    # repeated prediction counts once
    assert R.average_precision_at_k(list("aab"), set("ab")) == pytest.approx((1 + 2 / 3) / 2)
    assert R.average_precision_at_k([], {"a"}) == 0.0
    with pytest.raises(ValueError):
        R.average_precision_at_k(["a"], set())


def test_mean_average_precision_and_mewslix_reciprocal_rank():
    rankings = [list("axbyc"), list("xayb"), []]
    relevant = [set("abc"), set("ab"), {"q"}]
    assert R.mean_average_precision_at_k(rankings, relevant, k=2) == pytest.approx((1 / 2 + 1 / 4 + 0) / 3)
    # one gold entity (Mewsli-X): AP@20 = reciprocal rank within the top 20, 0 below
    ranked = [f"e{i}" for i in range(30)]
    mean_ap = R.mean_average_precision_at_k([ranked] * 3, [{"e0"}, {"e4"}, {"e25"}])
    assert mean_ap == pytest.approx((1 + 1 / 5) / 3)
    with pytest.raises(ValueError):
        R.mean_average_precision_at_k([ranked], [])


def test_nearest_neighbours_hand_worked_and_ties():
    src, tgt = rows_with_cosines(COS_A)
    assert S.nearest_neighbours(src, tgt) == [0, 2]
    assert S.nearest_neighbours(tgt, src) == [0, 0, 1]
    # scale does not matter (cosine); exact ties go to the lowest index, also across chunks
    cands = torch.tensor([[0.0, 1.0], [2.0, 0.0], [5.0, 0.0], [1.0, 0.0]])
    assert S.nearest_neighbours(torch.tensor([[1.0, 0.1]]), cands) == [1]
    assert S.nearest_neighbours(torch.tensor([[1.0, 0.1]]), cands, chunk=1) == [1]


def test_nearest_neighbours_chunked_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    q, c = torch.randn(50, 16, generator=g), torch.randn(43, 16, generator=g)
    brute = (S.normalize(q) @ S.normalize(c).T).argmax(1).tolist()
    for chunk in (1, 7, 4096):
        assert S.nearest_neighbours(q, c, chunk=chunk) == brute


def test_rank_chunked_matches_full_sort():
    g = torch.Generator().manual_seed(2)
    q, c = torch.randn(23, 16, generator=g), torch.randn(61, 16, generator=g)
    ids = [f"c{j}" for j in range(61)]
    order = (S.normalize(q) @ S.normalize(c).T).argsort(dim=1, descending=True)
    want = [[ids[j] for j in row[:20]] for row in order.tolist()]
    for chunk in (3, 16, 4096):
        assert S.rank(q, c, ids, k=20, chunk=chunk) == want
    # k larger than the pool is clipped
    small = (S.normalize(q[:2]) @ S.normalize(c[:5]).T).argsort(dim=1, descending=True).tolist()
    assert S.rank(q[:2], c[:5], ids[:5], k=20) == [[ids[j] for j in row] for row in small]


def test_knn_mean_chunked_matches_brute_force():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(40, 12, generator=g), torch.randn(33, 12, generator=g)
    brute = (S.normalize(x) @ S.normalize(y).T).topk(4, dim=1).values.mean(1)
    for chunk in (1, 5, 4096):
        assert torch.allclose(S.knn_mean_similarity(x, y, k=4, chunk=chunk), brute, atol=1e-6)


def brute_force_mine(src, tgt, k):
    """XTREME's mine_bitext(retrieval='max') written with full matrices, as an independent check."""
    cos = S.normalize(src).double() @ S.normalize(tgt).double().T
    kx, ky = min(k, cos.shape[1]), min(k, cos.shape[0])
    mx, my = cos.topk(kx, dim=1).values.mean(1), cos.T.topk(ky, dim=1).values.mean(1)
    margin = cos / ((mx[:, None] + my[None, :]) / 2)
    pool = []
    for i in range(cos.shape[0]):  # forward: best margin among the kx cosine-nearest targets
        j = max(cos[i].topk(kx).indices.tolist(), key=lambda j: margin[i, j])
        pool.append((float(margin[i, j]), i, j))
    for j in range(cos.shape[1]):  # backward
        i = max(cos[:, j].topk(ky).indices.tolist(), key=lambda i: margin[i, j])
        pool.append((float(margin[i, j]), i, j))
    out, seen_i, seen_j = [], set(), set()
    for score, i, j in sorted(pool, key=lambda p: -p[0]):
        if i not in seen_i and j not in seen_j:
            seen_i.add(i), seen_j.add(j)
            if score > 0:
                out.append((i, j, score))
    return out


# (k=1 is left out: there every mutual nearest pair scores exactly 1, so the order is all ties)
@pytest.mark.parametrize("n,m,k", [(37, 29, 4), (12, 3, 4), (3, 12, 4), (25, 25, 2)])
def test_mine_pairs_matches_brute_force(n, m, k):
    g = torch.Generator().manual_seed(n * 100 + m)
    src, tgt = torch.randn(n, 6, generator=g), torch.randn(m, 6, generator=g)
    sid, tid = [f"s{i}" for i in range(n)], [f"t{j}" for j in range(m)]
    want = brute_force_mine(src, tgt, k)
    got = S.mine_pairs(src, tgt, sid, tid, k=k, chunk=4)
    assert [(s, t) for s, t, _ in got] == [(sid[i], tid[j]) for i, j, _ in want]
    # float32 vs float64: a knn mean near 0 blows the ratio up, hence a relative tolerance
    assert [x for _, _, x in got] == pytest.approx([x for _, _, x in want], rel=1e-4)
