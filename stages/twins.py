"""Embedded twins: every task's data, rendered from the synthetic world in its real source's schema.

One function per Hub source (and one for CCGbank's AUTO files). Each writes the same repo, config
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

from stages import tasks
from stages.world import (CLASSES, COLORS, NAMES, SURNAMES, VERBS, Renderer, _np, contradict,
                          hub_path, nli_pair, ner_tags, qa_item, random_frame, render_qa, rng_for, span_of, text_of)


def _features():
    from datasets import ClassLabel, Features, List, Sequence, Value
    string, int32, int64 = Value("string"), Value("int32"), Value("int64")
    answers = Sequence({"text": string, "answer_start": int32})  # a struct of parallel lists
    squad = Features({"id": string, "title": string, "context": string, "question": string, "answers": answers})
    span = {"start": int64, "end": int64}
    return {
        "glue_mnli": Features({"premise": string, "hypothesis": string,
                               "label": ClassLabel(names=list(tasks.NLI_LABELS)), "idx": int32}),
        "xnli": Features({"premise": string, "hypothesis": string, "label": ClassLabel(names=list(tasks.NLI_LABELS))}),
        "anli": Features({"uid": string, "premise": string, "hypothesis": string,
                          "label": ClassLabel(names=list(tasks.NLI_LABELS)), "reason": string}),
        "snli": Features({"premise": string, "hypothesis": string, "label": ClassLabel(names=list(tasks.NLI_LABELS))}),
        "qqp": Features({"question1": string, "question2": string,
                         "label": ClassLabel(names=list(tasks.QQP_LABELS)), "idx": int32}),
        "paws": Features({"id": int32, "sentence1": string, "sentence2": string,
                          "label": ClassLabel(names=list(tasks.PAWS_LABELS))}),
        "squad": squad,
        "xquad_r": Features({"id": string, "context": string, "question": string, "answers": answers}),
        "hellaswag": Features({"ind": int32, "activity_label": string, "ctx_a": string, "ctx_b": string,
                               "ctx": string, "endings": Sequence(string), "source_id": string, "split": string,
                               "split_type": string, "label": string}),
        "cosmosqa": Features({"id": string, "context": string, "question": string, "answer0": string,
                              "answer1": string, "answer2": string, "answer3": string, "label": int32}),
        "commonsenseqa": Features({"id": string, "question": string, "question_concept": string,
                                   "choices": Sequence({"label": string, "text": string}), "answerKey": string}),
        "copa": Features({"premise": string, "choice1": string, "choice2": string, "question": string,
                          "idx": int32, "label": ClassLabel(names=["choice1", "choice2"])}),
        "xcopa": Features({"premise": string, "choice1": string, "choice2": string, "question": string,
                           "label": int32, "idx": int32, "changed": Value("bool")}),
        "udpos": Features({"tokens": Sequence(string), "pos_tags": Sequence(ClassLabel(names=list(tasks.UPOS_TAGS)))}),
        "panx": Features({"tokens": Sequence(string), "ner_tags": Sequence(ClassLabel(names=list(tasks.NER_TAGS))),
                          "langs": Sequence(string)}),
        "tatoeba": Features({"source_sentence": string, "target_sentence": string, "source_lang": string,
                             "target_lang": string}),
        "bucc18": Features({"source_sentence": string, "target_sentence": string, "source_lang": string,
                            "target_lang": string}),
        "mteb_bucc": Features({"sentence1": List(string), "sentence2": List(string), "gold": List(List(int64))}),
        "mewslix": Features({
            "context": {"document_title": string, "document_url": string, "document_id": string,
                        "language": string, "text": string, "sentence_spans": List(span), "section_title": string},
            "mentions": List({"example_id": string, "mention_span": {"start": int64, "end": int64, "text": string},
                              "entity_id": string})}),
        "entities": Features({"entity_id": string, "title": string, "description": string,
                              "description_language": string, "description_url": string,
                              "sentence_spans": List(span)}),
    }


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


def write_nli(w: Writer, seed: int, wp, renderers: dict[str, Renderer]) -> None:
    en = renderers["en"]
    mnli_train = nli_items(seed, "mnli-train", wp.train_examples)
    splits = {"train": mnli_train, "validation_matched": nli_items(seed, "mnli-dev-m", wp.dev_examples),
              "validation_mismatched": nli_items(seed, "mnli-dev-mm", wp.dev_examples // 2),
              "test_matched": nli_items(seed, "mnli-test-m", wp.dev_examples // 2),
              "test_mismatched": nli_items(seed, "mnli-test-mm", wp.dev_examples // 2)}
    for split, items in splits.items():
        rows = nli_rows(en, items, unlabeled=split.startswith("test"))
        w("nyu-mll/glue", "mnli", split, [dict(row, idx=k) for k, row in enumerate(rows)], "glue_mnli")
    xnli_eval = {"validation": nli_items(seed, "xnli-dev", wp.eval_per_language),
                 "test": nli_items(seed, "xnli-test", wp.eval_per_language)}
    for code, r in renderers.items():
        # XNLI's train split is MNLI (English) or its machine translation (other languages)
        w("facebook/xnli", code, "train", nli_rows(r, mnli_train), "xnli")
        for split, items in xnli_eval.items():
            w("facebook/xnli", code, split, nli_rows(r, items), "xnli")
    # ANLI: three rounds (public test labels); SNLI: some rows without a gold label (-1) everywhere
    per_round = max(1, wp.train_examples // 6)
    for rnd in (1, 2, 3):
        for split, n in (("train", per_round), ("dev", wp.dev_examples // 6), ("test", wp.dev_examples // 6)):
            rows = [dict(row, uid=_uid("anli", rnd, split, k), reason="")
                    for k, row in enumerate(nli_rows(en, nli_items(seed, f"anli-{split}-r{rnd}", n)))]
            w("facebook/anli", "plain_text", f"{split}_r{rnd}", rows, "anli")
    for split, n in (("train", wp.train_examples // 2), ("validation", wp.dev_examples), ("test", wp.dev_examples)):
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


def write_paraphrase(w: Writer, seed: int, wp, renderers) -> None:
    en = renderers["en"]
    for code, r in renderers.items():
        splits = {"validation": wp.eval_per_language, "test": wp.eval_per_language}
        if code == "en":
            splits = {"train": wp.train_examples // 2, "validation": wp.dev_examples, "test": wp.eval_per_language}
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

    w("nyu-mll/glue", "qqp", "train", qqp_rows("train", wp.train_examples), "qqp")
    w("nyu-mll/glue", "qqp", "validation", qqp_rows("dev", wp.dev_examples), "qqp")
    w("nyu-mll/glue", "qqp", "test", qqp_rows("test", wp.dev_examples // 2, unlabeled=True), "qqp")


# --- extractive QA: SQuAD v1.1 / v2.0, XQuAD, MLQA, TyDiQA, XQuAD-R -----------------------------
def qa_rows(r: Renderer, seed, purpose, n, multi_answer, unanswerable=0.0, id_prefix=""):
    rng = rng_for(seed, "qa", purpose)
    rows = []
    for k in range(n):
        frames, i, ask = qa_item(rng)
        context, question, answer, start = render_qa(r, frames, i, ask)
        texts, starts = [answer], [start]
        if rng.random() < unanswerable:  # SQuAD v2: ask about an event the paragraph does not mention
            absent = sorted(set(VERBS) - {f["verb"] for f in frames})
            other = dict(random_frame(rng, rng.choice(absent)), neg=False)
            question, texts, starts = text_of(r.question(other, "obj")), [], []
        elif multi_answer:  # dev sets carry several annotators' answers; some omit the determiner
            words = answer.split(" ")
            if len(words) > 1 and rng.random() < 0.5:
                texts.append(" ".join(words[1:]))
                starts.append(start + len(words[0]) + 1)
            texts.append(answer)
            starts.append(start)
        title = frames[0]["subj"].get("name", "Story")
        rows.append({"id": id_prefix + _uid(purpose, k), "title": title, "context": context, "question": question,
                     "answers": {"text": texts, "answer_start": starts}})
    return rows


def write_qa(w: Writer, seed: int, wp, renderers) -> None:
    en = renderers["en"]
    w("rajpurkar/squad", "plain_text", "train", qa_rows(en, seed, "squad-train", wp.train_examples, False), "squad")
    w("rajpurkar/squad", "plain_text", "validation", qa_rows(en, seed, "squad-dev", wp.dev_examples, True), "squad")
    w("rajpurkar/squad_v2", "squad_v2", "train",
      qa_rows(en, seed, "squad2-train", wp.train_examples, False, unanswerable=1 / 3), "squad")
    w("rajpurkar/squad_v2", "squad_v2", "validation",
      qa_rows(en, seed, "squad2-dev", wp.dev_examples, True, unanswerable=1 / 3), "squad")
    tydi = {"train": [], "validation": []}
    for code, r in renderers.items():
        n = wp.eval_per_language
        w("google/xquad", f"xquad.{code}", "validation", qa_rows(r, seed, "xquad", n, True), "squad")
        for split in ("validation", "test"):
            w("google/xtreme", f"MLQA.{code}.{code}", split, qa_rows(r, seed, f"mlqa-{split}", n, True), "squad")
        w("google-research-datasets/xquad_r", code, "validation", qa_rows(r, seed, "xquad_r", n, False), "xquad_r")
        # TyDiQA-GoldP: one mixed config, each language written natively (not translated), ids
        # prefixed by the language name; XTREME trains on the English part of train only
        prefix = f"{tasks.WORLD_LANGUAGES[code].name.lower()}-"
        tydi["train"] += qa_rows(r, seed, f"tydi-train-{code}", wp.train_examples // 4 if code == "en" else n,
                                 False, id_prefix=prefix)
        tydi["validation"] += qa_rows(r, seed, f"tydi-dev-{code}", n, False, id_prefix=prefix)
    for split, rows in tydi.items():
        w("google/xtreme", "tydiqa", split, rows, "squad")


# --- multiple choice: HellaSwag, Cosmos QA, CommonsenseQA, COPA / XCOPA ------------------------
def _other_object(rng, frame):
    """The same event with an object the verb cannot take (a wrong ending)."""
    wrong = [c for c in CLASSES if c not in VERBS[frame["verb"]][3]] or ["L"]
    return dict(frame, obj=_np(rng, rng.choice(wrong), allow_plural=False))


def write_multiple_choice(w: Writer, seed: int, wp, renderers) -> None:
    en = renderers["en"]
    for split, n in (("train", wp.train_examples // 2), ("validation", wp.dev_examples), ("test", wp.dev_examples // 2)):
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

    for split, n in (("train", wp.train_examples // 2), ("validation", wp.dev_examples), ("test", wp.dev_examples // 2)):
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

    restricted = sorted(v for v, spec in VERBS.items() if len(spec[3]) <= 3)
    for split, n in (("train", wp.train_examples // 2), ("validation", wp.dev_examples), ("test", wp.dev_examples // 2)):
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

    def copa_items(purpose, n):
        rng = rng_for(seed, "copa", purpose)
        items = []
        for k in range(n):  # effect: what follows from the premise; cause: what the premise follows from
            p, h = nli_pair(rng, "entailment")
            question = "effect" if k % 2 == 0 else "cause"
            premise, right = (p, h) if question == "effect" else (h, p)
            wrong = contradict(rng, right)
            label = rng.randrange(2)
            items.append((premise, question, (right, wrong) if label == 0 else (wrong, right), label))
        return items

    for split, n, unlabeled in (("train", wp.train_examples // 4, False), ("validation", wp.dev_examples // 2, False),
                                ("test", wp.dev_examples // 2, True)):
        rows = [{"premise": text_of(en.sentence(p)), "choice1": text_of(en.sentence(c[0])),
                 "choice2": text_of(en.sentence(c[1])), "question": q, "idx": k, "label": -1 if unlabeled else label}
                for k, (p, q, c, label) in enumerate(copa_items(split, n))]
        w("aps/super_glue", "copa", split, rows, "copa")
    xcopa = {"validation": copa_items("x-val", wp.eval_per_language // 3),
             "test": copa_items("x-test", wp.eval_per_language)}
    for code, r in renderers.items():
        if code == "en":  # XCOPA has no English
            continue
        for split, items in xcopa.items():
            rows = [{"premise": text_of(r.sentence(p)), "choice1": text_of(r.sentence(c[0])),
                     "choice2": text_of(r.sentence(c[1])), "question": q, "label": label, "idx": k, "changed": False}
                    for k, (p, q, c, label) in enumerate(items)]
            w("cambridgeltl/xcopa", code, split, rows, "xcopa")


# --- tagging: UD-POS, PAN-X, CCGbank -----------------------------------------------------------
def tagged_sentences(r: Renderer, seed, purpose, n, questions=0.15):
    rng = rng_for(seed, "tag", purpose)
    out = []
    for _ in range(n):
        f = random_frame(rng)
        toks = r.question(f, rng.choice(["subj", "obj"])) if rng.random() < questions else r.sentence(f)
        out.append((f, toks))
    return out


def write_tagging(w: Writer, seed: int, wp, renderers, languages) -> None:
    for code, r in renderers.items():
        splits = {"validation": wp.eval_per_language, "test": wp.eval_per_language}
        if code == "en":
            splits = {"train": wp.train_examples // 2, "validation": wp.dev_examples, "test": wp.eval_per_language}
        for split, n in splits.items():
            rows = [{"tokens": [t[0] for t in toks], "pos_tags": [tasks.UPOS_TAGS.index(t[1]) for t in toks]}
                    for _, toks in tagged_sentences(r, seed, f"pos-{split}", n)]
            w("google/xtreme", f"udpos.{languages[code].name}", split, rows, "udpos")
            rows = []
            for f, toks in tagged_sentences(r, seed, f"ner-{split}", n, questions=0.0):
                tags = ner_tags(toks, f)
                rows.append({"tokens": [t[0] for t in toks], "ner_tags": [tasks.NER_TAGS.index(t) for t in tags],
                             "langs": [code] * len(toks)})
            w("google/xtreme", f"PAN-X.{code}", split, rows, "panx")


CCG_OF = {"DET": "NP[nb]/N", "ADJ": "N/N", "NOUN": "N", "NUM": "N/N", "PRON": "NP", "PUNCT": ".",
          "PART": "(S\\NP)\\(S\\NP)", "ADP": "((S\\NP)\\(S\\NP))/NP"}


def ccg_tags(tokens) -> list[str]:
    """CCG supertags of an English sentence of the world: a simplification of CCGbank's categories
    (transitive verbs, determiners, modifiers, do-support, wh-questions)."""
    tags = []
    for i, (form, upos, role) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if upos == "PROPN":  # a name's non-final words modify the last one (N/N N)
            tags.append("N/N" if nxt and nxt[1] == "PROPN" and nxt[2] == role else "N")
        elif upos == "VERB":
            tags.append("(S[b]\\NP)/NP" if i > 0 and tokens[i - 1][0] in ("not", "does", "do")
                        or any(t[2] == "wh" for t in tokens) else "(S[dcl]\\NP)/NP")
        elif upos == "AUX":
            tags.append("(S[q]/(S[b]\\NP))/NP" if role == "aux" else "(S[dcl]\\NP)/(S[b]\\NP)")
        elif role == "wh":
            tags.append("S[wq]/(S[dcl]\\NP)" if form == "who" else "S[wq]/(S[q]/NP)")
        else:
            tags.append(CCG_OF.get(upos, "N"))
    return tags


def write_ccgbank(out: Path, seed: int, wp, en: Renderer) -> None:
    """A CCGbank-shaped directory: data/AUTO/<section>/wsj_<section><nn>.auto, a header line and a
    derivation per sentence. The tree is flat (leaves under one node): the loader reads leaves only."""
    per_section = {s: (wp.train_examples // 2) // 19 if s < 19 else wp.dev_examples // 3 for s in range(25)}
    for section, n in per_section.items():
        lines = []
        for k, (_, toks) in enumerate(tagged_sentences(en, seed, f"ccg-{section}", n)):
            leaves = " ".join(f"(<L {tag} {upos} {upos} {form} {tag}>)"
                              for (form, upos, _), tag in zip(toks, ccg_tags(toks)))
            lines += [f"ID=wsj_{section:02d}00.{k + 1} PARSER=GOLD NUMPARSE=1", f"(<T S[dcl] 0 2> {leaves} )"]
        path = out / "ccgbank" / "data" / "AUTO" / f"{section:02d}" / f"wsj_{section:02d}00.auto"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- retrieval: Tatoeba, BUCC, Mewsli-X ---------------------------------------------------------
def write_retrieval(w: Writer, seed: int, wp, renderers, languages) -> None:
    en = renderers["en"]
    others = [c for c in renderers if c != "en"]
    rng = rng_for(seed, "tatoeba")
    frames = [random_frame(rng) for _ in range(wp.eval_per_language)]
    for code in others:  # google/xtreme kept each raw line's newline
        iso3 = languages[code].iso3
        rows = [{"source_sentence": text_of(renderers[code].sentence(f)) + "\n",
                 "target_sentence": text_of(en.sentence(f)) + "\n", "source_lang": iso3, "target_lang": "eng"}
                for f in frames]
        w("google/xtreme", f"tatoeba.{iso3}", "validation", rows, "tatoeba")

    for code in others:  # BUCC: parallel pairs hidden among sentences that have no translation
        r = renderers[code]
        for split, n_gold in (("validation", wp.eval_per_language // 3), ("test", wp.eval_per_language)):
            rng = rng_for(seed, "bucc", code, split)
            gold = [random_frame(rng) for _ in range(n_gold)]
            src = [(text_of(r.sentence(f)), k) for k, f in enumerate(gold)]
            src += [(text_of(r.sentence(random_frame(rng))), None) for _ in range(2 * n_gold)]
            tgt = [(text_of(en.sentence(f)), k) for k, f in enumerate(gold)]
            tgt += [(text_of(en.sentence(random_frame(rng))), None) for _ in range(2 * n_gold)]
            rng.shuffle(src)
            rng.shuffle(tgt)
            src_pos = {k: i for i, (_, k) in enumerate(src) if k is not None}
            tgt_pos = {k: j for j, (_, k) in enumerate(tgt) if k is not None}
            pairs = [{"source_sentence": src[src_pos[k]][0] + "\n", "target_sentence": tgt[tgt_pos[k]][0] + "\n",
                      "source_lang": f"{code}-{src_pos[k]:09d}", "target_lang": f"en-{tgt_pos[k]:09d}"}
                     for k in range(n_gold)]
            w("google/xtreme", f"bucc18.{code}", split, pairs, "bucc18")
            if split == "test":  # mteb/BUCC holds the test corpora: one row, 1-based gold indices
                w("mteb/BUCC", f"{code}-en", "test",
                  [{"sentence1": [s for s, _ in src], "sentence2": [t for t, _ in tgt],
                    "gold": [[src_pos[k] + 1, tgt_pos[k] + 1] for k in range(n_gold)]}], "mteb_bucc")

    # Mewsli-X: people (entities) with English descriptions; WikiNews-like articles mention them
    rng = rng_for(seed, "mewslix", "entities")
    people = [f"{first} {last}" for first in NAMES for last in SURNAMES]
    entities = []
    for k, name in enumerate(people):
        job = rng.choice(CLASSES["P"][:16])
        likes = rng.choice(CLASSES["A"] + CLASSES["F"])
        colour = rng.choice(COLORS)
        sentences = [f"{name} is a {job} .", f"{name} likes the {colour} {likes} ."]
        text, spans, pos = " ".join(sentences), [], 0
        for s in sentences:
            spans.append({"start": pos, "end": pos + len(s)})
            pos += len(s) + 1
        entities.append({"entity_id": f"Q{1000 + k}", "title": name, "description": text, "description_language": "en",
                         "description_url": f"https://en.wikipedia.org/wiki/{name.replace(' ', '_')}",
                         "sentence_spans": spans, "job": job, "likes": likes, "colour": colour})
    w("izhx/mewsli-x", "candidate_entities", "test",
      [{k: v for k, v in e.items() if k not in ("job", "likes", "colour")} for e in entities], "entities")
    for split in ("validation", "test"):
        rng = rng_for(seed, "mewslix", split)
        picks = [rng.choice(entities) for _ in range(wp.eval_per_language)]
        frames = []
        for e in picks:  # the mention's sentence says what the description says, in the article's language
            f = dict(random_frame(rng, "like"), neg=False)
            f["subj"] = {"name": e["title"], "ent": "PER"}
            f["obj"] = {"noun": e["likes"], "det": "the", "adj": e["colour"]}
            frames.append(f)
        for code, r in renderers.items():
            rows = []
            for k, (e, f) in enumerate(zip(picks, frames)):
                before = text_of(r.sentence(random_frame(rng)))
                toks = r.sentence(f)
                sentence = text_of(toks)
                start, mention = span_of(toks, "subj")
                text = f"{before} {sentence}"
                s0 = len(before) + 1
                rows.append({"context": {"document_title": f"News {k}", "document_url": f"https://{code}.wikinews.org/{k}",
                                         "document_id": f"{code}-{split}-{k}", "language": code, "text": text,
                                         "sentence_spans": [{"start": 0, "end": len(before)},
                                                            {"start": s0, "end": len(text)}],
                                         "section_title": None},
                             "mentions": [{"example_id": _uid("mx", code, split, k),
                                           "mention_span": {"start": s0 + start, "end": s0 + start + len(mention),
                                                            "text": mention},
                                           "entity_id": e["entity_id"]}]})
            w("izhx/mewsli-x", code, split, rows, "mewslix")


def write_all(out: Path, wp, renderers: dict[str, Renderer], languages) -> int:
    """Every twin under out/hub (and out/ccgbank). Returns the number of parquet files."""
    w = Writer(out)
    seed = wp.seed
    write_nli(w, seed, wp, renderers)
    write_paraphrase(w, seed, wp, renderers)
    write_qa(w, seed, wp, renderers)
    write_multiple_choice(w, seed, wp, renderers)
    write_tagging(w, seed, wp, renderers, languages)
    write_ccgbank(out, seed, wp, renderers["en"])
    write_retrieval(w, seed, wp, renderers, languages)
    return w.files
