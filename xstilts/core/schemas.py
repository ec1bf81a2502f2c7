"""The Hub sources' schemas: each source's `datasets.Features` by schema name, exactly as the real
repos declare them (column order, ClassLabel names in the source's own order, int32 vs int64,
struct-of-lists vs list-of-structs, google/xtreme's answer key order). One table for the two writers
of sources in those schemas: the embedded world's twins (xstilts/world/twins.py) and the fixture
mirror (xstilts/data/fixtures/). `datasets` is imported when the table is built, not at import."""
from __future__ import annotations

from xstilts.core import tasks


def features() -> dict:
    """Each source's `datasets.Features`, by schema name (see SCHEMA_OF)."""
    from datasets import ClassLabel, Features, List, Sequence, Value

    string, int32, int64 = Value("string"), Value("int32"), Value("int64")
    nli = ClassLabel(names=list(tasks.NLI_LABELS))            # HF's order: entailment, neutral, contradiction
    squad_answers = Sequence({"text": string, "answer_start": int32})     # a struct of parallel lists
    xtreme_answers = Sequence({"answer_start": int32, "text": string})    # google/xtreme's key order
    span = {"start": int64, "end": int64}
    return {
        "glue_mnli": Features({"premise": string, "hypothesis": string, "label": nli, "idx": int32}),
        "anli": Features({"uid": string, "premise": string, "hypothesis": string, "label": nli, "reason": string}),
        "snli": Features({"premise": string, "hypothesis": string, "label": nli}),
        "xnli": Features({"premise": string, "hypothesis": string, "label": nli}),
        "qqp": Features({"question1": string, "question2": string,
                         "label": ClassLabel(names=list(tasks.QQP_LABELS)), "idx": int32}),
        "paws": Features({"id": int32, "sentence1": string, "sentence2": string,
                          "label": ClassLabel(names=list(tasks.PAWS_LABELS))}),
        "squad": Features({"id": string, "title": string, "context": string, "question": string,
                           "answers": squad_answers}),
        "xquad": Features({"id": string, "context": string, "question": string, "answers": squad_answers}),
        "xtreme_qa": Features({"id": string, "title": string, "context": string, "question": string,
                               "answers": xtreme_answers}),
        "xquad_r": Features({"id": string, "context": string, "question": string, "answers": squad_answers}),
        "hellaswag": Features({"ind": int32, "activity_label": string, "ctx_a": string, "ctx_b": string,
                               "ctx": string, "endings": List(string), "source_id": string, "split": string,
                               "split_type": string, "label": string}),
        "cosmosqa": Features({"id": string, "context": string, "question": string, "answer0": string,
                              "answer1": string, "answer2": string, "answer3": string, "label": int32}),
        "commonsenseqa": Features({"id": string, "question": string, "question_concept": string,
                                   "choices": Sequence({"label": string, "text": string}), "answerKey": string}),
        "copa": Features({"premise": string, "choice1": string, "choice2": string, "question": string,
                          "idx": int32, "label": ClassLabel(names=["choice1", "choice2"])}),
        "xcopa": Features({"premise": string, "choice1": string, "choice2": string, "question": string,
                           "label": int32, "idx": int32, "changed": Value("bool")}),
        "udpos": Features({"tokens": List(string), "pos_tags": List(ClassLabel(names=list(tasks.UPOS_TAGS)))}),
        "panx": Features({"tokens": List(string), "ner_tags": List(ClassLabel(names=list(tasks.NER_TAGS))),
                          "langs": List(string)}),
        "wikiann": Features({"tokens": List(string), "ner_tags": List(ClassLabel(names=list(tasks.NER_TAGS))),
                             "langs": List(string), "spans": List(string)}),
        "tatoeba": Features({"source_sentence": string, "target_sentence": string, "source_lang": string,
                             "target_lang": string}),
        "tatoeba_mteb": Features({"sentence1": string, "sentence2": string}),
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
        "wikipedia": Features({"id": string, "url": string, "title": string, "text": string}),
    }
