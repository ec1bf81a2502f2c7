"""Embedded twins of the span and token tasks (QA, tagging, CCGbank) and the retrieval tasks, in their
real sources' schemas (xstilts/world/twins.py has the shared writer)."""
from __future__ import annotations

from pathlib import Path

from xstilts.core import tasks
from xstilts.world.grammar import CLASSES, COLORS, NAMES, SURNAMES, VERBS, Renderer, ner_tags, qa_item, random_frame, render_qa, rng_for, span_of, text_of
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
