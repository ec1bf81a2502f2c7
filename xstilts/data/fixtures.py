"""A fixture mirror: every Hub source a run reads, a few synthetic rows each, in the real repos'
file layouts and `datasets` schemas, so that profile paper runs end to end without the Hub (CI,
checking a GPU box) with `paper.data.local_hub` pointing at it.

`write_mirror(out, needs)` writes each Need (xstilts/data/needs.py) where a `hf download` copy of
its repo keeps it, so `sources.load_source` reads it exactly as it reads the real mirror:
  - most repos: <config>/<split>-00000-of-00001.parquet;
  - a repo read at the Hub's parquet export (revision refs/convert/parquet: allenai/cosmos_qa,
    izhx/mewsli-x's candidate_entities): <config>/<split>/0000.parquet;
  - default-config repos that keep their data under data/ (Rowan/hellaswag, tau/commonsense_qa):
    data/<split>-00000-of-00001.parquet;
  - izhx/xtreme-r-udpos: <lang>/test.parquet, found through the configs its README.md declares.
Each file carries its source's exact `datasets.Features` (column order, ClassLabel names in the
source's own order, int32 vs int64, struct-of-lists vs list-of-structs, google/xtreme's answers key
order, string labels where the source has strings) in the parquet's `huggingface` metadata, as the
Hub's files do, so the normalizers see what they see on real data.

Rows are synthetic (a small vocabulary per script, so languages differ) but valid for the
normalizers: every label and tag appears in each English train and dev file; QA answers are
substrings at their answer_start (several answers on dev/eval, as SQuAD's dev); TyDiQA's ids carry
the language-name prefix; parallel sets share ids across languages (XQuAD, XQuAD-R: LAReQA's
relevant candidates span languages); BUCC's gold pairs are consistent in both copies; Mewsli-X's
mentions point to entities of candidate_entities. Nothing is dropped by the normalizers.

`write_ccgbank(out)` writes a CCGbank-shaped directory (AUTO files, sections 00-24) for intermediate
task ccg. Everything is deterministic in `seed`: the same seed gives byte-identical files.
"""
from __future__ import annotations

import hashlib
import random
from pathlib import Path

from xstilts.core import io, tasks
from xstilts.core.schemas import features
from xstilts.data import sources
from xstilts.data.needs import MLM_FORMAT, PROFILE, Need

PARQUET_EXPORT = "refs/convert/parquet"
DATA_DIR_REPOS = {"Rowan/hellaswag", "tau/commonsense_qa"}   # default config under data/<split>-*.parquet
CARD_REPOS = {"izhx/xtreme-r-udpos"}                         # <config>/<split>.parquet, declared in README.md


# --- layouts ---------------------------------------------------------------------------------------
def relative_path(need: Need) -> str:
    """Where a `hf download` copy of need.repo (at need.revision) keeps the split's file."""
    if need.revision == PARQUET_EXPORT:
        return f"{need.config}/{need.split}/0000.parquet"
    if need.repo in DATA_DIR_REPOS and need.config == "default":
        return f"data/{need.split}-00000-of-00001.parquet"
    if need.repo in CARD_REPOS:
        return f"{need.config}/{need.split}.parquet"
    return f"{need.config}/{need.split}-00000-of-00001.parquet"


def dataset_card(needs: list[Need]) -> str:
    """A README.md whose YAML front matter declares each config's files, as the Hub's card does
    (the data_files globs of izhx/xtreme-r-udpos's card: `<lang>/test*`)."""
    configs: dict[str, list[str]] = {}
    for n in needs:
        configs.setdefault(n.config, []).append(n.split)
    lines = ["---", "configs:"]
    for config in sorted(configs):
        lines += [f"- config_name: {config}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {config}/{split}*" for split in configs[config]]
    repo = needs[0].repo
    return "\n".join(lines + ["---", "", f"# {repo} (fixture)", "",
                              "Synthetic rows in the real schema, written by xstilts/data/fixtures.py.", ""])


# --- schemas: xstilts/core/schemas.py (the world's twins write the same ones) ---------------------
# (format, repo) -> schema name; repo None: any repo of that format (the MLM corpus is configurable)
SCHEMA_OF = {
    ("nli", "nyu-mll/glue"): "glue_mnli", ("nli", "facebook/anli"): "anli", ("nli", "stanfordnlp/snli"): "snli",
    ("nli", "facebook/xnli"): "xnli", ("qqp", "nyu-mll/glue"): "qqp",
    ("paws", "google-research-datasets/paws-x"): "paws",
    ("squad", "rajpurkar/squad"): "squad", ("squad", "rajpurkar/squad_v2"): "squad",
    ("squad", "google/xquad"): "xquad", ("squad", "google/xtreme"): "xtreme_qa",
    ("xquad_r", "google-research-datasets/xquad_r"): "xquad_r",
    ("hellaswag", "Rowan/hellaswag"): "hellaswag", ("cosmosqa", "allenai/cosmos_qa"): "cosmosqa",
    ("commonsenseqa", "tau/commonsense_qa"): "commonsenseqa",
    ("copa", "aps/super_glue"): "copa", ("copa", "cambridgeltl/xcopa"): "xcopa",
    ("udpos", "google/xtreme"): "udpos", ("udpos", "izhx/xtreme-r-udpos"): "udpos",
    ("panx", "google/xtreme"): "panx", ("panx", "unimelb-nlp/wikiann"): "wikiann",
    ("tatoeba", "google/xtreme"): "tatoeba", ("tatoeba_mteb", "mteb/tatoeba-bitext-mining"): "tatoeba_mteb",
    ("bucc_pairs", "google/xtreme"): "bucc18", ("bucc_corpus", "mteb/BUCC"): "mteb_bucc",
    ("mewslix", "izhx/mewsli-x"): "mewslix", ("mewslix_entities", "izhx/mewsli-x"): "entities",
    (MLM_FORMAT, None): "wikipedia",
}


def schema_of(need: Need) -> str:
    name = SCHEMA_OF.get((need.format, need.repo)) or SCHEMA_OF.get((need.format, None))
    if name is None:
        raise ValueError(f"no fixture schema for {need.label} (format '{need.format}'): add the source's schema "
                         f"and row generator to xstilts/data/fixtures.py")
    return name


# --- synthetic text --------------------------------------------------------------------------------
# Letters of each script's synthetic words: languages of one script differ by their vocabulary.
SCRIPTS = {
    "cyrillic": "абвгдежзиклмнопрстуфхя", "greek": "αβγδεζηθικλμνξοπρστυφω", "arabic": "ابتثجحدرزسشعفقكلمنهوي",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת", "devanagari": "कखगचजटडतदनपबमयरलवसह", "bengali": "কখগচজটডতদনপবমযরলসহ",
    "tamil": "கஙசஞடணதநபமயரலவழளறன", "telugu": "కగచజటడతదనపబమయరలవసహ", "malayalam": "കഗചജടഡതദനപബമയരലവസഹ",
    "gujarati": "કખગચજટડતદનપબમયરલવસહ", "gurmukhi": "ਕਖਗਚਜਟਡਤਦਨਪਬਮਯਰਲਵਸਹ", "thai": "กขคงจฉชซดตถทนบปผพฟมยรลวสหอ",
    "burmese": "ကခဂငစဆဇညတထဒနပဖဗဘမယရလဝသဟ", "georgian": "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
    "han": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年", "hangul": "가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허",
    "kana": "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん",
}
LANG_SCRIPT = {
    **{c: "cyrillic" for c in ("bg", "ru", "kk", "uk")}, "el": "greek", **{c: "arabic" for c in ("ar", "fa", "ur")},
    "he": "hebrew", "hi": "devanagari", "mr": "devanagari", "bn": "bengali", "ta": "tamil", "te": "telugu",
    "ml": "malayalam", "gu": "gujarati", "pa": "gurmukhi", "th": "thai", "my": "burmese", "ka": "georgian",
    "zh": "han", "ja": "kana", "ko": "hangul",
}  # every other language: Latin letters
CONSONANTS, VOWELS = "bcdfghklmnprstvz", "aeiou"
ENGLISH = ("the man woman child dog cat city river house book letter market garden teacher doctor farmer "
           "sees finds gives takes writes reads builds opens carries visits old new small large red green quiet "
           "early late north south morning evening friend train road bridge school window table stone").split()
VOCAB_SIZE = 60


class Lang:
    """A language's synthetic vocabulary (its script's letters, or English words for en)."""

    def __init__(self, seed: int, code: str):
        self.code = code
        self.end = "。" if code in ("zh", "ja") else "."  # split_sentences knows both
        if code == "en":
            self.vocab = list(ENGLISH)
            return
        rng = random.Random(f"{seed}:vocab:{code}")
        script, vocab = LANG_SCRIPT.get(code), set()
        while len(vocab) < VOCAB_SIZE:
            if script is None:  # Latin: consonant-vowel syllables
                vocab.add("".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.randint(1, 3))))
            else:
                vocab.add("".join(rng.choice(SCRIPTS[script]) for _ in range(rng.randint(2, 4))))
        self.vocab = sorted(vocab)

    def words(self, rng: random.Random, lo: int, hi: int | None = None) -> list[str]:
        return [rng.choice(self.vocab) for _ in range(rng.randint(lo, hi or lo))]

    def sentence(self, rng: random.Random, lo: int = 4, hi: int = 8) -> str:
        return self.join(self.words(rng, lo, hi))

    def join(self, words: list[str]) -> str:
        text = " ".join(words) + self.end
        return text[0].upper() + text[1:]

    def question(self, rng: random.Random) -> str:
        return " ".join(self.words(rng, 3, 6)) + "?"

    def title(self, rng: random.Random) -> str:
        return " ".join(w.capitalize() for w in self.words(rng, 1, 2))


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _balanced(rng: random.Random, n: int, k: int) -> list[int]:
    """n label indices, every one of the k classes present when n >= k, in a seeded order."""
    labels = [i % k for i in range(n)]
    rng.shuffle(labels)
    return labels


def _paragraph(lang: Lang, rng: random.Random, n_sentences: int) -> tuple[str, list[list[str]], list[list[int]]]:
    """A context of sentences: its text, each sentence's words and each word's character offset."""
    text, words, offsets = "", [], []
    for s in range(n_sentences):
        ws = lang.words(rng, 4, 8)
        ws[0] = ws[0][0].upper() + ws[0][1:]
        if s:
            text += " "
        starts = []
        for i, w in enumerate(ws):
            if i:
                text += " "
            starts.append(len(text))
            text += w
        text += lang.end
        words.append(ws)
        offsets.append(starts)
    return text, words, offsets


def _answers(context: str, words: list[str], starts: list[int], rng: random.Random, several: bool) -> tuple[list, list]:
    """One span of a sentence (1-3 words); with `several`, the annotators' variants as SQuAD's dev
    has them (the same span again, and the span without its first word)."""
    i = rng.randrange(len(words))
    j = min(len(words), i + rng.randint(1, 3))
    start = starts[i]
    text = context[start:starts[j - 1] + len(words[j - 1])]
    texts, answer_starts = [text], [start]
    if several:
        texts.append(text)
        answer_starts.append(start)
        if j - i > 1:
            texts.append(context[starts[i + 1]:start + len(text)])
            answer_starts.append(starts[i + 1])
    return texts, answer_starts


# --- row generators: one per schema ---------------------------------------------------------------
class Context:
    """What a generator needs: the Need, its seeded RNG, its row count and part, shared settings."""

    def __init__(self, need: Need, seed: int, n: int, part: str, eval_rows: int):
        self.need, self.seed, self.n, self.part, self.eval_rows = need, seed, n, part, eval_rows
        self.rng = random.Random(f"{seed}:{need.repo}:{need.config}:{need.split}")
        self._langs: dict[str, Lang] = {}

    def lang(self, code: str | None = None) -> Lang:
        code = code or self.need.lang or "en"
        if code not in self._langs:
            self._langs[code] = Lang(self.seed, code)
        return self._langs[code]

    def parallel(self, what: str) -> random.Random:
        """An RNG shared by every language config of a repo and split: the structure of parallel
        sets (ids, which sentence answers) must agree across languages."""
        return random.Random(f"{self.seed}:{self.need.repo}:{self.need.split}:{what}")

    @property
    def several_answers(self) -> bool:
        return self.part != "train"


def _nli(schema):
    def rows(ctx: Context) -> list[dict]:
        lang, rng = ctx.lang(), ctx.rng
        out = []
        for k, label in enumerate(_balanced(rng, ctx.n, 3)):
            row = {"premise": lang.sentence(rng), "hypothesis": lang.sentence(rng, 3, 6), "label": label}
            if schema == "glue_mnli":
                row["idx"] = k
            elif schema == "anli":
                row = {"uid": f"{_hex(rng, 8)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 4)}-{_hex(rng, 12)}", **row,
                       "reason": lang.sentence(rng) if k % 2 else ""}
            out.append(row)
        return out
    return rows


def _qqp(ctx: Context) -> list[dict]:
    lang, rng = ctx.lang(), ctx.rng
    return [{"question1": lang.question(rng), "question2": lang.question(rng), "label": label, "idx": k}
            for k, label in enumerate(_balanced(rng, ctx.n, 2))]


def _paws(ctx: Context) -> list[dict]:
    lang, rng = ctx.lang(), ctx.rng
    out = []
    for k, label in enumerate(_balanced(rng, ctx.n, 2)):
        words = lang.words(rng, 5, 9)
        swapped = list(words)
        swapped[0], swapped[-1] = swapped[-1], swapped[0]  # PAWS: the same words, another order
        out.append({"id": k + 1, "sentence1": lang.join(words), "sentence2": lang.join(swapped), "label": label})
    return out


def _qa_row(lang: Lang, rng: random.Random, id_: str, several: bool, unanswerable: bool = False) -> dict:
    context, words, offsets = _paragraph(lang, rng, rng.randint(2, 4))
    s = rng.randrange(len(words))
    texts, starts = ([], []) if unanswerable else _answers(context, words[s], offsets[s], rng, several)
    return {"id": id_, "title": lang.title(rng), "context": context, "question": lang.question(rng),
            "answers": {"text": texts, "answer_start": starts}}


def _squad(schema):
    def rows(ctx: Context) -> list[dict]:
        need, rng = ctx.need, ctx.rng
        if need.lang is None:  # a mixed-language config (TyDiQA-GoldP): every language, ids prefixed by its name
            out = []
            for code in tasks.TASKS[need.task].all_languages():
                n = ctx.n if code == "en" else ctx.eval_rows
                prefix = tasks.REAL_LANGUAGES[code].name.lower()
                out += [_qa_row(ctx.lang(code), rng, f"{prefix}-{rng.getrandbits(63) - 2 ** 62}-0", False)
                        for _ in range(n)]
            return out
        if schema == "xquad":  # XQuAD is parallel: the same question ids in every language
            shared = ctx.parallel("ids")
            ids = [_hex(shared, 24) for _ in range(ctx.n)]
            return [_drop_title(_qa_row(ctx.lang(), rng, id_, ctx.several_answers)) for id_ in ids]
        v2 = need.repo == "rajpurkar/squad_v2"  # SQuAD 2.0: a third of the questions unanswerable
        width = 24 if need.repo.startswith("rajpurkar/") else 40
        return [_qa_row(ctx.lang(), rng, _hex(rng, width), ctx.several_answers, v2 and k % 3 == 2)
                for k in range(ctx.n)]
    return rows


def _drop_title(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "title"}


def _xquad_r(ctx: Context) -> list[dict]:
    """XQuAD-R: paragraphs of 3-4 sentences, four questions each; the question ids and the sentence
    each answer sits in are shared by every language (LAReQA's relevant set spans languages)."""
    shared, lang, rng = ctx.parallel("structure"), ctx.lang(), ctx.rng
    out, k = [], 0
    while k < ctx.n:
        n_sentences = shared.randint(3, 4)
        context, words, offsets = _paragraph(lang, rng, n_sentences)
        for _ in range(min(4, ctx.n - k)):
            s, id_ = shared.randrange(n_sentences), _hex(shared, 24)
            texts, starts = _answers(context, words[s], offsets[s], rng, False)
            out.append({"id": id_, "context": context, "question": lang.question(rng),
                        "answers": {"text": texts, "answer_start": starts}})
            k += 1
    return out


def _hellaswag(ctx: Context) -> list[dict]:
    lang, rng = ctx.lang(), ctx.rng
    split = {"validation": "val"}.get(ctx.need.split, ctx.need.split)
    out = []
    for k, label in enumerate(_balanced(rng, ctx.n, 4)):
        ctx_a, ctx_b = lang.sentence(rng), " ".join(lang.words(rng, 2))
        out.append({"ind": k, "activity_label": lang.title(rng), "ctx_a": ctx_a, "ctx_b": ctx_b,
                    "ctx": f"{ctx_a} {ctx_b}", "endings": [" ".join(lang.words(rng, 3, 6)) + "." for _ in range(4)],
                    "source_id": f"activitynet~v_{_hex(rng, 11)}", "split": split, "split_type": "indomain",
                    "label": str(label)})
    return out


def _cosmosqa(ctx: Context) -> list[dict]:
    lang, rng = ctx.lang(), ctx.rng
    return [{"id": f"{_hex(rng, 30).upper()}##{_hex(rng, 30).upper()}##Blog_{k}",
             "context": f"{lang.sentence(rng)} {lang.sentence(rng)}", "question": lang.question(rng),
             **{f"answer{i}": lang.sentence(rng, 2, 5) for i in range(4)}, "label": label}
            for k, label in enumerate(_balanced(rng, ctx.n, 4))]


def _commonsenseqa(ctx: Context) -> list[dict]:
    lang, rng = ctx.lang(), ctx.rng
    return [{"id": _hex(rng, 32), "question": lang.question(rng), "question_concept": rng.choice(lang.vocab),
             "choices": {"label": list("ABCDE"), "text": [" ".join(lang.words(rng, 1, 2)) for _ in range(5)]},
             "answerKey": "ABCDE"[label]}
            for label in _balanced(rng, ctx.n, 5)]


def _copa(schema):
    def rows(ctx: Context) -> list[dict]:
        lang, rng = ctx.lang(), ctx.rng
        out = []
        for k, label in enumerate(_balanced(rng, ctx.n, 2)):
            row = {"premise": lang.sentence(rng), "choice1": lang.sentence(rng, 3, 6),
                   "choice2": lang.sentence(rng, 3, 6), "question": ("cause", "effect")[rng.randrange(2)]}
            if schema == "copa":  # SuperGLUE: idx, then the ClassLabel choice1/choice2
                row.update(idx=k, label=label)
            else:  # XCOPA: an int32 label, idx from 1, whether the translation changed the item
                row.update(label=label, idx=k + 1, changed=rng.random() < 0.1)
            out.append(row)
        return out
    return rows


def _udpos(ctx: Context) -> list[dict]:
    """Every UPOS tag appears in any split of >= 17 tokens: tags cycle through a seeded order."""
    lang, rng = ctx.lang(), ctx.rng
    order = list(range(len(tasks.UPOS_TAGS)))
    rng.shuffle(order)
    out, t = [], 0
    for _ in range(ctx.n):
        tokens, tags = [], []
        for _ in range(rng.randint(4, 9)):
            tag = order[t % len(order)]
            t += 1
            name = tasks.UPOS_TAGS[tag]
            tokens.append("." if name == "PUNCT" else str(rng.randint(2, 99)) if name == "NUM" else rng.choice(lang.vocab))
            tags.append(tag)
        out.append({"tokens": tokens, "pos_tags": tags})
    return out


def _panx(schema):
    """Well-formed BIO: O words around one or two entities; the first rows hold a two-word
    entity of each type, so B- and I- of PER, ORG and LOC all appear in any split of >= 3 rows."""
    types = ("PER", "ORG", "LOC")

    def rows(ctx: Context) -> list[dict]:
        lang, rng = ctx.lang(), ctx.rng
        out = []
        for k in range(ctx.n):
            tokens, tags, spans = [], [], []
            entities = [(types[k % 3], 2 if k < 3 else rng.randint(1, 3))]
            if rng.random() < 0.4:
                entities.append((rng.choice(types), rng.randint(1, 2)))
            for kind, length in entities:
                for _ in range(rng.randint(0, 2)):
                    tokens.append(rng.choice(lang.vocab))
                    tags.append("O")
                words = [w.capitalize() for w in lang.words(rng, length)]
                tokens += words
                tags += [f"B-{kind}"] + [f"I-{kind}"] * (length - 1)
                spans.append(f"{kind}: {' '.join(words)}")
            tokens.append(rng.choice(lang.vocab))
            tags.append("O")
            row = {"tokens": tokens, "ner_tags": [tasks.NER_TAGS.index(t) for t in tags], "langs": [lang.code] * len(tokens)}
            if schema == "wikiann":
                row["spans"] = spans
            out.append(row)
        return out
    return rows


def _tatoeba(schema):
    def rows(ctx: Context) -> list[dict]:
        lang, en, rng = ctx.lang(), ctx.lang("en"), ctx.rng
        iso3 = tasks.REAL_LANGUAGES[lang.code].iso3
        if schema == "tatoeba_mteb":  # sentence1: the non-English side
            return [{"sentence1": lang.sentence(rng), "sentence2": en.sentence(rng)} for _ in range(ctx.n)]
        # google/xtreme kept each raw line's newline
        return [{"source_sentence": lang.sentence(rng) + "\n", "target_sentence": en.sentence(rng) + "\n",
                 "source_lang": iso3, "target_lang": "eng"} for _ in range(ctx.n)]
    return rows


def _bucc18(ctx: Context) -> list[dict]:
    """google/xtreme bucc18.<l>: gold pairs only, the sentence ids in the *_lang columns."""
    lang, en, rng = ctx.lang(), ctx.lang("en"), ctx.rng
    src_ids = sorted(rng.sample(range(1, 100 * ctx.n), ctx.n))
    tgt_ids = rng.sample(range(1, 100 * ctx.n), ctx.n)
    return [{"source_sentence": lang.sentence(rng) + "\n", "target_sentence": en.sentence(rng) + "\n",
             "source_lang": f"{lang.code}-{i:09d}", "target_lang": f"en-{j:09d}"} for i, j in zip(src_ids, tgt_ids)]


def _mteb_bucc(ctx: Context) -> list[dict]:
    """mteb/BUCC: one row per corpus pair; gold pairs hidden among as many unpaired sentences on
    each side; `gold` holds 1-based [non-English, English] indices."""
    lang, en, rng = ctx.lang(), ctx.lang("en"), ctx.rng
    src = [(lang.sentence(rng), k) for k in range(ctx.n)] + [(lang.sentence(rng), None) for _ in range(ctx.n)]
    tgt = [(en.sentence(rng), k) for k in range(ctx.n)] + [(en.sentence(rng), None) for _ in range(ctx.n)]
    rng.shuffle(src)
    rng.shuffle(tgt)
    tgt_pos = {k: j for j, (_, k) in enumerate(tgt) if k is not None}
    gold = [[i + 1, tgt_pos[k] + 1] for i, (_, k) in enumerate(src) if k is not None]
    return [{"sentence1": [s for s, _ in src], "sentence2": [t for t, _ in tgt], "gold": gold}]


def entity_ids(seed: int, eval_rows: int) -> list[str]:
    """Mewsli-X's candidate entities (QIDs), shared by the pool and every language's mentions."""
    rng = random.Random(f"{seed}:izhx/mewsli-x:entities")
    return [f"Q{q}" for q in sorted(rng.sample(range(100, 100000), max(8, 2 * eval_rows)))]


def _mewslix(ctx: Context) -> list[dict]:
    """WikiNews-like articles: two or three sentences, one or two mentions, each inside one
    sentence and linked to a candidate entity."""
    lang, rng = ctx.lang(), ctx.rng
    qids = entity_ids(ctx.seed, ctx.eval_rows)
    out = []
    for k in range(ctx.n):
        n_sentences = rng.randint(2, 3)
        mention_in = set(rng.sample(range(n_sentences), rng.randint(1, 2)))
        text, spans, mentions = "", [], []
        for s in range(n_sentences):
            words = lang.words(rng, 4, 8)
            if s:
                text += " "
            start = len(text)
            if s in mention_in:
                i = rng.randrange(len(words))
                name = " ".join(w.capitalize() for w in lang.words(rng, 1, 2))
                before = " ".join(words[:i])
                m_start = start + len(before) + (1 if before else 0)
                words.insert(i, name)
                mentions.append({"example_id": _hex(rng, 32),
                                 "mention_span": {"start": m_start, "end": m_start + len(name), "text": name},
                                 "entity_id": rng.choice(qids)})
            text += " ".join(words) + lang.end
            spans.append({"start": start, "end": len(text)})
        title = lang.title(rng)
        out.append({"context": {"document_title": title, "document_url": f"https://{lang.code}.wikinews.org/wiki/"
                                f"{title.replace(' ', '_')}", "document_id": f"{lang.code}-{_hex(rng, 8)}",
                                "language": lang.code, "text": text, "sentence_spans": spans, "section_title": None},
                    "mentions": mentions})
    return out


def _entities(ctx: Context) -> list[dict]:
    en, rng = ctx.lang("en"), ctx.rng
    out = []
    for qid in entity_ids(ctx.seed, ctx.eval_rows):
        title = en.title(rng)
        sentences = [en.sentence(rng), en.sentence(rng)]
        description = " ".join(sentences)
        spans, pos = [], 0
        for s in sentences:
            spans.append({"start": pos, "end": pos + len(s)})
            pos += len(s) + 1
        out.append({"entity_id": qid, "title": title, "description": description, "description_language": "en",
                    "description_url": f"https://en.wikipedia.org/wiki/{title.replace(' ', '_')}",
                    "sentence_spans": spans})
    return out


def _wikipedia(ctx: Context) -> list[dict]:
    """Articles of two paragraphs of sentences (prepare.mlm_corpus cuts them into sentences)."""
    lang, rng = ctx.lang(), ctx.rng
    out = []
    for k in range(ctx.n):
        title = lang.title(rng)
        paragraphs = [" ".join(lang.sentence(rng) for _ in range(rng.randint(2, 3))) for _ in range(2)]
        out.append({"id": str(1000 + 7 * k), "url": f"https://{lang.code}.wikipedia.org/wiki?curid={1000 + 7 * k}",
                    "title": title, "text": "\n\n".join(paragraphs)})
    return out


GENERATORS = {
    "glue_mnli": _nli("glue_mnli"), "anli": _nli("anli"), "snli": _nli("snli"), "xnli": _nli("xnli"),
    "qqp": _qqp, "paws": _paws, "squad": _squad("squad"), "xquad": _squad("xquad"), "xtreme_qa": _squad("xtreme_qa"),
    "xquad_r": _xquad_r, "hellaswag": _hellaswag, "cosmosqa": _cosmosqa, "commonsenseqa": _commonsenseqa,
    "copa": _copa("copa"), "xcopa": _copa("xcopa"), "udpos": _udpos, "panx": _panx("panx"),
    "wikiann": _panx("wikiann"), "tatoeba": _tatoeba("tatoeba"), "tatoeba_mteb": _tatoeba("tatoeba_mteb"),
    "bucc18": _bucc18, "mteb_bucc": _mteb_bucc, "mewslix": _mewslix, "entities": _entities, "wikipedia": _wikipedia,
}


def part_of(need: Need) -> str:
    """train | dev (a task's English training / early-stopping data, or a published translation of a
    training set) | corpus (MLM) | eval."""
    if need.format == MLM_FORMAT:
        return "corpus"
    task = tasks.TASKS.get(need.task)
    if task is not None:
        for part, srcs in (("train", task.train), ("dev", task.dev)):
            if any((s.repo, sources.config_name(s, "en", PROFILE), s.split) == need.key for s in srcs):
                return part
    return "train" if need.split == "train" else "eval"


def rows_for(need: Need, seed: int = 0, train_rows: int = 48, dev_rows: int = 24, eval_rows: int = 8) -> list[dict]:
    """The rows of one Need, in its schema's column order (storage form: ClassLabel as ints)."""
    part = part_of(need)
    n = {"train": train_rows, "dev": dev_rows}.get(part, eval_rows)
    return GENERATORS[schema_of(need)](Context(need, seed, n, part, eval_rows))


# --- writing ---------------------------------------------------------------------------------------
def write_mirror(out: Path, needs: list, seed: int = 0, train_rows: int = 48, dev_rows: int = 24,
                 eval_rows: int = 8) -> dict:
    """Write every Need under out/<repo>/ in the repo's real layout. Each repo directory is written
    beside its place and renamed into it (an interrupted write leaves no half repo) and replaces
    any earlier copy whole. Returns {"files": parquet files written, "repos": sorted repo names,
    "bytes": size of everything written}."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = features()
    by_repo: dict[str, list[Need]] = {}
    for need in needs:
        group = by_repo.setdefault(need.repo, [])
        if all(n.key != need.key for n in group):
            group.append(need)
    out = Path(out)
    files = size = 0
    for repo, group in by_repo.items():
        with io.atomic_dir(out / repo) as tmp:
            for need in group:
                feats = schemas[schema_of(need)]
                rows = rows_for(need, seed, train_rows, dev_rows, eval_rows)
                columns = list(feats)
                for r in rows:  # the source's own columns, no more, no fewer
                    if list(r) != columns:
                        raise ValueError(f"{need.label}: fixture columns {list(r)} differ from the schema's {columns}")
                path = tmp / relative_path(need)
                path.parent.mkdir(parents=True, exist_ok=True)
                # the schema's metadata carries the datasets Features: load_source reads them back
                pq.write_table(pa.Table.from_pylist(rows, schema=feats.arrow_schema), path)
                files += 1
            if repo in CARD_REPOS:
                (tmp / "README.md").write_text(dataset_card(group), encoding="utf-8")
        size += sum(p.stat().st_size for p in (out / repo).rglob("*") if p.is_file())
    return {"files": files, "repos": sorted(by_repo), "bytes": size}


# --- CCGbank ----------------------------------------------------------------------------------------
# Sentence shapes: (word class, POS, CCG category) per token. The categories are CCGbank's own.
CCG_SHAPES = (
    (("det", "DT", "NP[nb]/N"), ("noun", "NN", "N"), ("verb", "VBZ", "(S[dcl]\\NP)/NP"), ("det", "DT", "NP[nb]/N"),
     ("noun", "NN", "N"), (".", ".", ".")),
    (("adj", "JJ", "N/N"), ("noun", "NNS", "N"), ("verb", "VBD", "(S[dcl]\\NP)/NP"), ("noun", "NNS", "N"),
     (".", ".", ".")),
    (("name", "NNP", "N/N"), ("name", "NNP", "N"), ("iverb", "VBD", "S[dcl]\\NP"), (".", ".", ".")),
    (("det", "DT", "NP[nb]/N"), ("adj", "JJ", "N/N"), ("noun", "NN", "N"), ("aux", "MD", "(S[dcl]\\NP)/(S[b]\\NP)"),
     ("verb", "VB", "(S[b]\\NP)/NP"), ("noun", "NN", "N"), ("conj", "CC", "conj"), ("noun", "NN", "N"),
     (".", ".", ".")),
    (("pron", "PRP", "NP"), ("verb", "VBZ", "(S[dcl]\\NP)/PP"), ("prep", "IN", "PP/NP"), ("det", "DT", "NP[nb]/N"),
     ("noun", "NN", "N"), (",", ",", ","), ("adv", "RB", "(S\\NP)\\(S\\NP)"), (".", ".", ".")),
)
CCG_WORDS = {
    "det": ["the", "a", "this"], "noun": ["company", "market", "price", "share", "report", "bank"],
    "verb": ["buys", "sells", "expects", "owns"], "iverb": ["resigned", "rose", "fell"], "adj": ["new", "big", "early"],
    "name": ["Pierre", "Vinken", "Elsevier", "Lorillard"], "aux": ["will", "could"], "conj": ["and", "or"],
    "pron": ["it", "he"], "prep": ["for", "in", "on"], "adv": ["too", "again"], ".": ["."], ",": [","],
}
CCG_SENTENCES_PER_SECTION = 3  # sentences per section: 19 train sections, 3 dev, 3 test


def write_ccgbank(out: Path, seed: int = 0) -> Path:
    """A CCGbank-shaped directory out/data/AUTO/<00..24>/wsj_<ss>01.auto: an ID line and a derivation
    per sentence, leaves `(<L category POS POS word category>)` (the loader reads the leaves). Every
    shape's categories appear in train and in dev. Written beside its place and renamed in."""
    out = Path(out)
    with io.atomic_dir(out / "data") as tmp:
        for section in range(25):
            rng = random.Random(f"{seed}:ccgbank:{section:02d}")
            lines = []
            for k in range(CCG_SENTENCES_PER_SECTION):
                # shapes rotate through the sections, so each split holds all of them
                shape = CCG_SHAPES[(section * CCG_SENTENCES_PER_SECTION + k) % len(CCG_SHAPES)]
                leaves = " ".join(f"(<L {cat} {pos} {pos} {rng.choice(CCG_WORDS[cls])} {cat}>)" for cls, pos, cat in shape)
                lines += [f"ID=wsj_{section:02d}01.{k + 1} PARSER=GOLD NUMPARSE=1", f"(<T S[dcl] 0 2> {leaves} )"]
            path = tmp / "AUTO" / f"{section:02d}" / f"wsj_{section:02d}01.auto"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def digest(root: Path) -> str:
    """One hash over every file's relative path and bytes under `root` (determinism checks)."""
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()
