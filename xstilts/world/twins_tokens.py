"""Embedded twins of the span and token tasks (QA, tagging, CCGbank) and the retrieval tasks, in their
real sources' schemas (xstilts/world/twins.py has the shared writer)."""
from __future__ import annotations

from pathlib import Path

from xstilts.core import tasks
from xstilts.world.grammar import (
    CLASSES,
    COLORS,
    NAMES,
    SURNAMES,
    VERBS,
    Renderer,
    ner_tags,
    qa_item,
    random_frame,
    render_qa,
    rng_for,
    span_of,
    text_of,
)
from xstilts.world.twins import Writer, _uid


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


def write_qa(w: Writer, seed: int, world, renderers) -> None:
    en = renderers["en"]
    w("rajpurkar/squad", "plain_text", "train", qa_rows(en, seed, "squad-train", world.train_examples, False), "squad")
    w("rajpurkar/squad", "plain_text", "validation", qa_rows(en, seed, "squad-dev", world.dev_examples, True), "squad")
    w("rajpurkar/squad_v2", "squad_v2", "train",
      qa_rows(en, seed, "squad2-train", world.train_examples, False, unanswerable=1 / 3), "squad")
    w("rajpurkar/squad_v2", "squad_v2", "validation",
      qa_rows(en, seed, "squad2-dev", world.dev_examples, True, unanswerable=1 / 3), "squad")
    tydi = {"train": [], "validation": []}
    for code, r in renderers.items():
        n = world.eval_per_language
        w("google/xquad", f"xquad.{code}", "validation", qa_rows(r, seed, "xquad", n, True), "squad")
        for split in ("validation", "test"):
            w("google/xtreme", f"MLQA.{code}.{code}", split, qa_rows(r, seed, f"mlqa-{split}", n, True), "squad")
        w("google-research-datasets/xquad_r", code, "validation", qa_rows(r, seed, "xquad_r", n, False), "xquad_r")
        # TyDiQA-GoldP: one mixed config, each language written natively (not translated), ids
        # prefixed by the language name; XTREME trains on the English part of train only
        prefix = f"{tasks.WORLD_LANGUAGES[code].name.lower()}-"
        tydi["train"] += qa_rows(r, seed, f"tydi-train-{code}", world.train_examples // 4 if code == "en" else n,
                                 False, id_prefix=prefix)
        tydi["validation"] += qa_rows(r, seed, f"tydi-dev-{code}", n, False, id_prefix=prefix)
    for split, rows in tydi.items():
        w("google/xtreme", "tydiqa", split, rows, "squad")


# --- tagging: UD-POS, PAN-X, CCGbank -----------------------------------------------------------
def tagged_sentences(r: Renderer, seed, purpose, n, questions=0.15):
    rng = rng_for(seed, "tag", purpose)
    out = []
    for _ in range(n):
        f = random_frame(rng)
        toks = r.question(f, rng.choice(["subj", "obj"])) if rng.random() < questions else r.sentence(f)
        out.append((f, toks))
    return out


def write_tagging(w: Writer, seed: int, world, renderers, languages) -> None:
    for code, r in renderers.items():
        splits = {"validation": world.eval_per_language, "test": world.eval_per_language}
        if code == "en":
            splits = {"train": world.train_examples // 2, "validation": world.dev_examples,
                      "test": world.eval_per_language}
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


def write_ccgbank(out: Path, seed: int, world, en: Renderer) -> None:
    """A CCGbank-shaped directory: data/AUTO/<section>/wsj_<section><nn>.auto, a header line and a
    derivation per sentence. The tree is flat (leaves under one node): the loader reads leaves only."""
    per_section = {section: (world.train_examples // 2) // 19 if section < 19 else world.dev_examples // 3
                   for section in range(25)}
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
def write_retrieval(w: Writer, seed: int, world, renderers, languages) -> None:
    """Tatoeba, BUCC (google/xtreme's gold pairs and mteb's corpora) and Mewsli-X, each an RNG of its own."""
    write_tatoeba(w, seed, world, renderers, languages)
    write_bucc(w, seed, world, renderers)
    write_mewslix(w, seed, world, renderers)


def write_tatoeba(w: Writer, seed: int, world, renderers, languages) -> None:
    """Each language's sentences beside their English ones: the same frames, rendered in both."""
    en = renderers["en"]
    rng = rng_for(seed, "tatoeba")
    frames = [random_frame(rng) for _ in range(world.eval_per_language)]
    for code in [c for c in renderers if c != "en"]:  # google/xtreme kept each raw line's newline
        iso3 = languages[code].iso3
        rows = [{"source_sentence": text_of(renderers[code].sentence(f)) + "\n",
                 "target_sentence": text_of(en.sentence(f)) + "\n", "source_lang": iso3, "target_lang": "eng"}
                for f in frames]
        w("google/xtreme", f"tatoeba.{iso3}", "validation", rows, "tatoeba")


def write_bucc(w: Writer, seed: int, world, renderers) -> None:
    """BUCC: parallel pairs hidden among sentences that have no translation."""
    en = renderers["en"]
    for code in [c for c in renderers if c != "en"]:
        r = renderers[code]
        for split, n_gold in (("validation", world.eval_per_language // 3), ("test", world.eval_per_language)):
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


def mewslix_entities(seed: int) -> list[dict]:
    """Mewsli-X's candidates: people with English descriptions (what they are, what they like); the
    job, likes and colour fields are the world's, for the mentions' sentences, not the source's."""
    rng = rng_for(seed, "mewslix", "entities")
    people = [f"{first} {last}" for first in NAMES for last in SURNAMES]
    entities = []
    for k, name in enumerate(people):
        job = rng.choice(CLASSES["P"][:16])
        likes = rng.choice(CLASSES["A"] + CLASSES["F"])
        colour = rng.choice(COLORS)
        sentences = [f"{name} is a {job} .", f"{name} likes the {colour} {likes} ."]
        text, spans, pos = " ".join(sentences), [], 0
        for sentence in sentences:
            spans.append({"start": pos, "end": pos + len(sentence)})
            pos += len(sentence) + 1
        entities.append({"entity_id": f"Q{1000 + k}", "title": name, "description": text, "description_language": "en",
                         "description_url": f"https://en.wikipedia.org/wiki/{name.replace(' ', '_')}",
                         "sentence_spans": spans, "job": job, "likes": likes, "colour": colour})
    return entities


def write_mewslix(w: Writer, seed: int, world, renderers) -> None:
    """Mewsli-X: the candidate entities, and WikiNews-like articles in every language that mention them."""
    entities = mewslix_entities(seed)
    w("izhx/mewsli-x", "candidate_entities", "test",
      [{k: v for k, v in e.items() if k not in ("job", "likes", "colour")} for e in entities], "entities")
    for split in ("validation", "test"):
        rng = rng_for(seed, "mewslix", split)
        picks = [rng.choice(entities) for _ in range(world.eval_per_language)]
        frames = []
        for e in picks:  # the mention's sentence says what the description says, in the article's language
            f = dict(random_frame(rng, "like"), neg=False)
            f["subj"] = {"name": e["title"], "ent": "PER"}
            f["obj"] = {"noun": e["likes"], "det": "the", "adj": e["colour"]}
            frames.append(f)
        for code, r in renderers.items():
            rows = [_mewslix_article(r, rng, code, split, k, e, f) for k, (e, f) in enumerate(zip(picks, frames))]
            w("izhx/mewsli-x", code, split, rows, "mewslix")


def _mewslix_article(r: Renderer, rng, code: str, split: str, k: int, entity: dict, frame) -> dict:
    """One article: a sentence of its own, then the sentence that mentions the entity."""
    before = text_of(r.sentence(random_frame(rng)))
    toks = r.sentence(frame)
    sentence = text_of(toks)
    start, mention = span_of(toks, "subj")
    text = f"{before} {sentence}"
    offset = len(before) + 1  # where the mention's sentence starts
    return {"context": {"document_title": f"News {k}", "document_url": f"https://{code}.wikinews.org/{k}",
                        "document_id": f"{code}-{split}-{k}", "language": code, "text": text,
                        "sentence_spans": [{"start": 0, "end": len(before)}, {"start": offset, "end": len(text)}],
                        "section_title": None},
            "mentions": [{"example_id": _uid("mx", code, split, k),
                          "mention_span": {"start": offset + start, "end": offset + start + len(mention),
                                           "text": mention},
                          "entity_id": entity["entity_id"]}]}
