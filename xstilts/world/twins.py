"""Embedded twins: every task's data, rendered from the synthetic world in its real source's schema.

One function per Hub source (this module: sentence and sentence-pair tasks;
twins_tokens.py: QA, tagging, CCGbank, retrieval) (and one for CCGbank's AUTO files). Each writes the same repo, config
and split names, the same columns and `datasets` features, and the same label encodings
(ClassLabel order, -1 / "" placeholders of unlabeled test rows, string labels where the source
has them) as the real dataset, so profile tiny runs the paper profile's loaders and normalizers.

The tasks are built so that each is learnable from the world's structure, not from surface
cues: NLI labels follow from how the hypothesis frame was derived from the premise frame; QA
answers are constituents of a sentence of the paragraph; multiple-choice distractors come from
the same vocabulary as the right answer; paraphrase negatives swap who does what to whom (PAWS).
Evaluation sets in other languages render the same frames (they are translations, as the real
XNLI, XQuAD, MLQA, Tatoeba, BUCC and XQuAD-R are).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from xstilts.core import schemas, tasks
from xstilts.world.grammar import (
    CLASSES,
    VERBS,
    Renderer,
    _np,
    contradict,
    hub_path,
    nli_pair,
    qa_item,
    random_frame,
    render_qa,
    rng_for,
    text_of,
)


def _features():
    return schemas.features()  # the sources' real schemas, shared with the fixture mirror


class Writer:
    def __init__(self, out: Path):
        self.out, self.features, self.files = out, _features(), 0

    def __call__(self, repo: str, config: str, split: str, rows: list[dict], features: str) -> None:
        import datasets
        columns = list(self.features[features])
        for r in rows:  # the source's own columns, in its order (the twin must not grow extra ones)
            if set(r) != set(columns) and not (features == "xquad_r" and set(r) - set(columns) == {"title"}):
                raise ValueError(f"{repo}:{config}: columns {sorted(r)} differ from the source's {columns}")
        rows = [{c: r[c] for c in columns} for r in rows]
        path = hub_path(self.out, repo, config, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_list(rows, features=self.features[features]).to_parquet(str(path))
        self.files += 1


def _uid(*parts) -> str:
    return hashlib.md5("-".join(map(str, parts)).encode()).hexdigest()[:24]


# --- NLI family: MNLI, XNLI, ANLI, SNLI --------------------------------------------------------
def nli_items(seed, purpose, n):
    """(premise frame, hypothesis frame), label index; labels cycle then get shuffled."""
    rng = rng_for(seed, "nli", purpose)
    items = [(nli_pair(rng, tasks.NLI_LABELS[k % 3]), k % 3) for k in range(n)]
    rng_for(seed, "shuffle", purpose).shuffle(items)
    return items


def nli_rows(r: Renderer, items, unlabeled=False):
    return [{"premise": text_of(r.sentence(p)), "hypothesis": text_of(r.sentence(h)),
             "label": -1 if unlabeled else label} for (p, h), label in items]


def write_nli(w: Writer, seed: int, world, renderers: dict[str, Renderer]) -> None:
    en = renderers["en"]
    mnli_train = nli_items(seed, "mnli-train", world.train_examples)
    splits = {"train": mnli_train, "validation_matched": nli_items(seed, "mnli-dev-m", world.dev_examples),
              "validation_mismatched": nli_items(seed, "mnli-dev-mm", world.dev_examples // 2),
              "test_matched": nli_items(seed, "mnli-test-m", world.dev_examples // 2),
              "test_mismatched": nli_items(seed, "mnli-test-mm", world.dev_examples // 2)}
    for split, items in splits.items():
        rows = nli_rows(en, items, unlabeled=split.startswith("test"))
        w("nyu-mll/glue", "mnli", split, [dict(row, idx=k) for k, row in enumerate(rows)], "glue_mnli")
    xnli_eval = {"validation": nli_items(seed, "xnli-dev", world.eval_per_language),
                 "test": nli_items(seed, "xnli-test", world.eval_per_language)}
    for code, r in renderers.items():
        # XNLI's train split is MNLI (English) or its machine translation (other languages)
        w("facebook/xnli", code, "train", nli_rows(r, mnli_train), "xnli")
        for split, items in xnli_eval.items():
            w("facebook/xnli", code, split, nli_rows(r, items), "xnli")
    # ANLI: three rounds (public test labels); SNLI: some rows without a gold label (-1) everywhere
    per_round = max(1, world.train_examples // 6)
    for rnd in (1, 2, 3):
        for split, n in (("train", per_round), ("dev", world.dev_examples // 6), ("test", world.dev_examples // 6)):
            rows = [dict(row, uid=_uid("anli", rnd, split, k), reason="")
                    for k, row in enumerate(nli_rows(en, nli_items(seed, f"anli-{split}-r{rnd}", n)))]
            w("facebook/anli", "plain_text", f"{split}_r{rnd}", rows, "anli")
    for split, n in (("train", world.train_examples // 2), ("validation", world.dev_examples),
                     ("test", world.dev_examples)):
        rows = nli_rows(en, nli_items(seed, f"snli-{split}", n))
        for k in range(0, len(rows), 50):  # no gold consensus
            rows[k]["label"] = -1
        w("stanfordnlp/snli", "plain_text", split, rows, "snli")


# --- paraphrase: QQP (English questions), PAWS-X (word-order adversaries) ----------------------
def _swap(frame):
    """Who does what to whom, reversed: same words, another meaning (PAWS's adversaries)."""
    return dict(frame, subj=frame["obj"], obj=frame["subj"])


def _swappable(frame) -> bool:
    return "P" in VERBS[frame["verb"]][3] and "pron" not in frame["subj"] and frame["subj"] != frame["obj"]


def paws_items(seed, purpose, n):
    rng = rng_for(seed, "paws", purpose)
    items = []
    while len(items) < n:
        f = random_frame(rng)
        if not _swappable(f) or f["obj"].get("noun") not in (None, *CLASSES["P"]):
            continue
        fronted = rng.random() < 0.5  # the locative may move in either class: not a shortcut
        if len(items) % 2 == 0:  # paraphrase: the same event
            items.append((f, f, fronted, 1))
        else:  # adversary: the same words, who does what to whom reversed
            items.append((f, _swap(f), fronted, 0))
    return items


def write_paraphrase(w: Writer, seed: int, world, renderers) -> None:
    en = renderers["en"]
    for code, r in renderers.items():
        splits = {"validation": world.eval_per_language, "test": world.eval_per_language}
        if code == "en":
            splits = {"train": world.train_examples // 2, "validation": world.dev_examples,
                      "test": world.eval_per_language}
        for split, n in splits.items():
            purpose = f"paws-{split}" if code == "en" or split == "train" else f"pawsx-{split}"
            rows = [{"id": k, "sentence1": text_of(r.sentence(a)), "label": label,
                     "sentence2": text_of(r.sentence(b, front_loc=fronted))}
                    for k, (a, b, fronted, label) in enumerate(paws_items(seed, purpose, n))]
            w("google-research-datasets/paws-x", code, split, rows, "paws")

    def qqp_rows(purpose, n, unlabeled=False):
        rng = rng_for(seed, "qqp", purpose)
        rows = []
        for k in range(n):
            f = dict(random_frame(rng), neg=False)
            ask = rng.choice(["subj", "obj"])
            q1 = text_of(en.question(f, ask))
            other = "obj" if ask == "subj" else "subj"
            if k % 2 == 0:  # duplicate: the same question, the other constituent's adjective dropped
                g = dict(f, **{other: {key: v for key, v in f[other].items() if key != "adj"}})
                q2, label = text_of(en.question(g, ask)), 1
            else:  # not a duplicate: the other constituent is asked about
                q2, label = text_of(en.question(f, other)), 0
            rows.append({"question1": q1, "question2": q2, "label": -1 if unlabeled else label, "idx": k})
        return rows

    w("nyu-mll/glue", "qqp", "train", qqp_rows("train", world.train_examples), "qqp")
    w("nyu-mll/glue", "qqp", "validation", qqp_rows("dev", world.dev_examples), "qqp")
    w("nyu-mll/glue", "qqp", "test", qqp_rows("test", world.dev_examples // 2, unlabeled=True), "qqp")


# --- multiple choice: HellaSwag, Cosmos QA, CommonsenseQA, COPA / XCOPA ------------------------
def _other_object(rng, frame):
    """The same event with an object the verb cannot take (a wrong ending)."""
    wrong = [c for c in CLASSES if c not in VERBS[frame["verb"]][3]] or ["L"]
    return dict(frame, obj=_np(rng, rng.choice(wrong), allow_plural=False))


def write_multiple_choice(w: Writer, seed: int, world, renderers) -> None:
    """HellaSwag, Cosmos QA and CommonsenseQA (English), SuperGLUE COPA and XCOPA (each an RNG of its own)."""
    en = renderers["en"]
    write_hellaswag(w, seed, world, en)
    write_cosmosqa(w, seed, world, en)
    write_commonsenseqa(w, seed, world, en)
    write_copa(w, seed, world, renderers)


def _mc_splits(world) -> tuple[tuple[str, int], ...]:
    """The English multiple-choice sets' splits and sizes (HellaSwag, Cosmos QA, CommonsenseQA)."""
    return ("train", world.train_examples // 2), ("validation", world.dev_examples), ("test", world.dev_examples // 2)


def write_hellaswag(w: Writer, seed: int, world, en: Renderer) -> None:
    for split, n in _mc_splits(world):
        rng = rng_for(seed, "hellaswag", split)
        rows = []
        for k in range(n):  # ctx_a: an event; ctx_b: the next sentence's subject; endings: its rest
            f = random_frame(rng)
            g = dict(random_frame(rng), subj=f["subj"])
            endings = [g, contradict(rng, _other_object(rng, g)), _other_object(rng, g), _other_object(rng, g)]
            order = list(range(4))
            rng.shuffle(order)
            rendered = [en.sentence(endings[j]) for j in order]
            subj = [t for t in rendered[0] if t[2] == "subj"]
            ctx_b = text_of(subj)
            ends = [text_of([t for t in toks if t[2] != "subj"]) for toks in rendered]
            rows.append({"ind": k, "activity_label": g["verb"], "ctx_a": text_of(en.sentence(f)), "ctx_b": ctx_b,
                         "ctx": f"{text_of(en.sentence(f))} {ctx_b}", "endings": ends, "source_id": _uid("hs", k),
                         "split": split if split != "validation" else "val", "split_type": "indomain",
                         "label": "" if split == "test" else str(order.index(0))})
        w("Rowan/hellaswag", "default", split, rows, "hellaswag")


def write_cosmosqa(w: Writer, seed: int, world, en: Renderer) -> None:
    for split, n in _mc_splits(world):
        rng = rng_for(seed, "cosmos", split)
        rows = []
        for k in range(n):  # distractors: answers to other questions about the same paragraph
            frames, i, ask = qa_item(rng)
            context, question, answer, _ = render_qa(en, frames, i, ask)
            others = sorted({render_qa(en, frames, j, a)[2] for j in range(len(frames)) for a in ("subj", "obj")
                             if (j, a) != (i, ask)} - {answer})
            choices = [answer, *rng.sample(others, min(3, len(others)))]
            choices += ["nobody", "nothing", "nowhere"][:4 - len(choices)]
            rng.shuffle(choices)
            rows.append({"id": _uid("cosmos", split, k), "context": context, "question": question,
                         **{f"answer{j}": c for j, c in enumerate(choices)},
                         "label": -1 if split == "test" else choices.index(answer)})
        w("allenai/cosmos_qa", "default", split, rows, "cosmosqa")


def write_commonsenseqa(w: Writer, seed: int, world, en: Renderer) -> None:
    restricted = sorted(v for v, spec in VERBS.items() if len(spec[3]) <= 3)
    for split, n in _mc_splits(world):
        rng = rng_for(seed, "csqa", split)
        rows = []
        for k in range(n):  # which kind of thing can this happen to? (the verb's selectional restriction)
            f = dict(random_frame(rng, rng.choice(restricted)), neg=False)
            right = rng.choice(CLASSES[rng.choice(VERBS[f["verb"]][3])])
            wrong_classes = [c for c in CLASSES if c not in VERBS[f["verb"]][3]]
            wrong = rng.sample(sorted({x for c in wrong_classes for x in CLASSES[c]}), 4)
            texts = [right, *wrong]
            rng.shuffle(texts)
            rows.append({"id": _uid("csqa", split, k), "question": text_of(en.question(f, "obj")),
                         "question_concept": f["verb"],
                         "choices": {"label": list("ABCDE"), "text": texts},
                         "answerKey": "" if split == "test" else "ABCDE"[texts.index(right)]})
        w("tau/commonsense_qa", "default", split, rows, "commonsenseqa")


def copa_items(seed: int, purpose: str, n: int):
    """(premise frame, question, (choice1, choice2) frames, label): effect = what follows from the
    premise, cause = what the premise follows from; the wrong choice contradicts the right one."""
    rng = rng_for(seed, "copa", purpose)
    items = []
    for k in range(n):
        p, h = nli_pair(rng, "entailment")
        question = "effect" if k % 2 == 0 else "cause"
        premise, right = (p, h) if question == "effect" else (h, p)
        wrong = contradict(rng, right)
        label = rng.randrange(2)
        items.append((premise, question, (right, wrong) if label == 0 else (wrong, right), label))
    return items


def write_copa(w: Writer, seed: int, world, renderers) -> None:
    """SuperGLUE COPA (English; test unlabeled) and XCOPA (every other language: translations)."""
    en = renderers["en"]
    copa_splits = (("train", world.train_examples // 4, False), ("validation", world.dev_examples // 2, False),
                   ("test", world.dev_examples // 2, True))
    for split, n, unlabeled in copa_splits:
        rows = [{"premise": text_of(en.sentence(p)), "choice1": text_of(en.sentence(c[0])),
                 "choice2": text_of(en.sentence(c[1])), "question": q, "idx": k, "label": -1 if unlabeled else label}
                for k, (p, q, c, label) in enumerate(copa_items(seed, split, n))]
        w("aps/super_glue", "copa", split, rows, "copa")
    xcopa = {"validation": copa_items(seed, "x-val", world.eval_per_language // 3),
             "test": copa_items(seed, "x-test", world.eval_per_language)}
    for code, r in renderers.items():
        if code == "en":  # XCOPA has no English
            continue
        for split, items in xcopa.items():
            rows = [{"premise": text_of(r.sentence(p)), "choice1": text_of(r.sentence(c[0])),
                     "choice2": text_of(r.sentence(c[1])), "question": q, "label": label, "idx": k, "changed": False}
                    for k, (p, q, c, label) in enumerate(items)]
            w("cambridgeltl/xcopa", code, split, rows, "xcopa")
