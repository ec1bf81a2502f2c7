"""Generate (stage `world`: stages/world.py) the embedded synthetic multilingual world (profile tiny).

The world is a tiny universe of people, animals, things and places, and six languages that talk
about it: English and five synthetic languages (xstilts/core/tasks.py: WORLD_LANGUAGES) with their own
vocabularies, word orders, adjective and adposition placement, plural marking and, for one, another
script. Names and numerals are shared across languages, a few nouns are loanwords shared by all,
and the languages are one family with English: a share of each lexicon (tiny.world.cognate_share)
descends from English's words by the language's sound changes (Estran: every word), as related
languages share words. Every sentence is rendered from a language-independent *frame*, so the same
frame in two languages is a translation: that gives parallel evaluation sets (XNLI, XQuAD, Tatoeba)
for free, as the real ones are translations of English.

The languages share the frame distribution, and a share of the non-English pretraining corpus is
code-switched (English words mixed in), the kind of anchor real web corpora carry; at this scale the
transfer comes from the shared word pieces, cognates above all (docs/world.md, "Transfer").

Outputs, under data/world/:
  corpus/<code>.txt                        plain-text pretraining corpus per language (its size is
                                            corpus_share x corpus_sentences: high/mid/low resource)
  hub/<owner>/<repo>/<config>/<split>-00000-of-00001.parquet
                                            every task's data in its Hub repo's exact layout and
                                            features (xstilts/world/twins*.py)
  ccgbank/data/AUTO/<section>/wsj_*.auto   CCG supertagging data in CCGbank's format
  world.json                               languages, grammar settings and sizes

Deterministic: every random choice comes from random.Random seeded by (world seed, purpose).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from xstilts.core import io, paths, tasks
from xstilts.world.grammar import (
    ANIMALS,
    FOOD,
    GRAMMARS,
    PEOPLE,
    PLACES,
    TEXTS,
    THINGS,
    VERBS,
    Renderer,
    build_lexicon,
    random_frame,
    rng_for,
    text_of,
)
from xstilts.world.twins import Writer, write_multiple_choice, write_nli, write_paraphrase
from xstilts.world.twins_tokens import write_ccgbank, write_qa, write_retrieval, write_tagging


# --- the world ---------------------------------------------------------------------------------
def generate(out: Path, world, languages=tasks.WORLD_LANGUAGES) -> dict:
    """Write the whole world under `out` (a fresh directory): the pretraining corpus, every task's
    twin in its Hub layout (xstilts/world/twins*.py), the CCGbank-shaped directory and lexicon.json (the
    English -> language dictionaries of the translate stage). `world`: its params (tiny.world, a
    config.WorldParams). Returns world.json."""
    import datasets

    datasets.disable_progress_bars()
    seed = world.seed
    renderers = make_renderers(world, languages)

    for code, r in renderers.items():
        path = out / "corpus" / f"{code}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(corpus(code, r, world)) + "\n", encoding="utf-8")

    lexicon = {code: bilingual_dictionary(renderers["en"], r) for code, r in renderers.items() if code != "en"}
    (out / "lexicon.json").write_text(json.dumps(lexicon, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                                      encoding="utf-8")
    n_files = write_all(out, world, renderers, languages)
    summary = {"seed": seed, "params": asdict(world) if hasattr(world, "__dataclass_fields__") else dict(world),
               "languages": {c: {**asdict(languages[c]), **asdict(GRAMMARS[c])} for c in languages},
               "parquet_files": n_files, "datasets_version": datasets.__version__}
    (out / "world.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def make_renderers(world, languages=tasks.WORLD_LANGUAGES) -> dict[str, Renderer]:
    """Each language's renderer, its lexicon built from the world params (tiny.world: the seed, the
    loanword share and the language's cognate share)."""
    return {code: Renderer(code, build_lexicon(code, world.seed, world.loanword_share,
                                               world.cognate_share.get(code, 0.0)))
            for code in languages}


def corpus(code: str, renderer: Renderer, world, parallel: bool = False) -> list[str]:
    """A language's pretraining corpus: corpus_share x corpus_sentences sentences of random frames
    (its own stream), code_switch_rate of them (not English's) with English words mixed in.
    `parallel`: every language renders the first frames of one shared stream instead, so the corpora
    are translations of each other (benchmarks/transfer_probe.py measures what that does)."""
    rng = rng_for(world.seed, "corpus", code)
    frames = rng_for(world.seed, "corpus", "parallel") if parallel else rng
    concept_of = {renderer.word(c): c for c in renderer.lex}
    lines = []
    for _ in range(round(world.corpus_sentences * (1.0 if code == "en" else world.corpus_share.get(code, 1.0)))):
        toks = renderer.sentence(random_frame(frames))
        if code != "en" and rng.random() < world.code_switch_rate:
            toks = [_switch(rng, tok, concept_of) for tok in toks]
        lines.append(text_of(toks))
    return lines


def placeholder(out: Path) -> None:
    """Profile paper's data/world: the paths the tiny stages read, holding nothing (DVC restores no
    empty folder, so each holds a note), the same bytes whatever tiny.* says."""
    note = ("profile paper: no synthetic world (paper.world is null); the data comes from the Hub or "
            "paper.data.local_hub\n")
    for sub in ("hub", "corpus"):
        (out / sub).mkdir(parents=True, exist_ok=True)
        (out / sub / "README.txt").write_text(note)
    (out / "lexicon.json").write_text("{}\n")
    (out / "world.json").write_text(json.dumps({"profile": "paper", "world": None}) + "\n")


def bilingual_dictionary(en: Renderer, other: Renderer) -> dict[str, str]:
    """English surface form -> the other language's, for the world's word-by-word translator (the
    tiny profile's "MT system"). Inflected English forms map to the inflected form (plural nouns,
    3rd-person verbs); English-only words (do-support, articles of a language without them) map to
    "" (dropped). Word order stays English: a crude translation, as real MT is imperfect."""
    out = {}
    for concept in other.lex:
        out[en.word(concept)] = other.word(concept)
    for noun in [*PEOPLE, *ANIMALS, *FOOD, *TEXTS, *THINGS, *PLACES]:
        out[en.noun(noun, True)] = other.noun(noun, True)
    for verb, (third, base, *_) in VERBS.items():
        out[third] = out[base] = other.word(verb)
    out["does"] = out["do"] = ""
    out["an"] = out["a"]
    if not other.g.determiners:
        out["the"] = out["a"] = out["an"] = ""
    return out


def _switch(rng, tok, concept_of: dict[str, str]):
    """Code-switching: a content word replaced by its English form (concepts are English words)."""
    form, tag, role = tok
    if tag in ("NOUN", "ADJ", "VERB") and form in concept_of and rng.random() < 0.4:
        return (concept_of[form], tag, role)
    return tok


def write_all(out: Path, world, renderers: dict[str, Renderer], languages) -> int:
    """Every twin under out/hub (and out/ccgbank). Returns the number of parquet files."""
    w = Writer(out)
    seed = world.seed
    write_nli(w, seed, world, renderers)
    write_paraphrase(w, seed, world, renderers)
    write_qa(w, seed, world, renderers)
    write_multiple_choice(w, seed, world, renderers)
    write_tagging(w, seed, world, renderers, languages)
    write_ccgbank(out, seed, world, renderers["en"])
    write_retrieval(w, seed, world, renderers, languages)
    return w.files


def write_world(params) -> None:
    """Stage `world`: the world under data/world/ (profile paper: an empty placeholder with the same paths)."""
    with io.atomic_dir(paths.WORLD) as tmp:
        if params.profile == "paper":
            placeholder(tmp)
            print(f"world: profile paper has no synthetic world: empty placeholder -> {paths.WORLD}")
            return
        summary = generate(tmp, params.world())
    n_files = sum(1 for _ in paths.WORLD.rglob("*.parquet"))
    print(f"world: {len(summary['languages'])} languages, {n_files} parquet files -> {paths.WORLD}")
