"""The world's concepts, the six languages' grammars and lexicons, and rendering a language-independent
frame into a sentence of any of them (xstilts/world/generate.py writes the world)."""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

# --- the concepts (English lexicon) ---------------------------------------------------------
PEOPLE = ["man", "woman", "child", "teacher", "farmer", "doctor", "student", "king", "queen",
          "baker", "singer", "soldier", "sailor", "driver", "nurse", "painter"]


ANIMALS = ["dog", "cat", "horse", "bird", "fish", "cow", "goat", "mouse", "lion", "bear"]


FOOD = ["apple", "bread", "cake", "egg", "soup", "rice", "cheese", "orange"]


TEXTS = ["book", "letter", "newspaper", "poem", "map", "story"]


THINGS = ["ball", "box", "chair", "car", "hat", "bag", "lamp", "cup", "key", "boat", "drum",
          "table", "picture", "radio", "bicycle", "guitar"]


PLACES = ["garden", "market", "river", "school", "forest", "city", "kitchen", "village",
          "park", "station", "harbor", "library"]


NAMES = ["Maria", "Omar", "Lena", "Kenji", "Ana", "Ivan", "Sara", "Tomas", "Amir", "Nadia",
         "Pablo", "Mei", "Jonas", "Fatima", "Elena", "Kofi"]


SURNAMES = ["Lopez", "Haddad", "Novak", "Sato", "Okafor", "Berg", "Costa", "Weiss"]


ORGS = ["Acme Bank", "Nova Group", "Red Star", "Delta Mills", "Union Press", "Atlas"]   # named entities: ORG


CITIES = ["Lima", "Oslo", "Dakar", "Kyoto", "Port Ellis", "San Mora", "Vela"]          # named entities: LOC


ADJ_PAIRS = [("big", "small"), ("old", "young"), ("happy", "sad"), ("hot", "cold"),
             ("fast", "slow"), ("rich", "poor"), ("clean", "dirty"), ("new", "broken")]


COLORS = ["red", "green", "blue", "white", "black", "yellow"]


# verb -> (3sg form, base form, subject classes, object classes)
VERBS = {
    "see": ("sees", "see", "PA", "PAFTOL"), "like": ("likes", "like", "PA", "PAFTOL"),
    "eat": ("eats", "eat", "PA", "F"), "buy": ("buys", "buy", "P", "FTO"),
    "read": ("reads", "read", "P", "T"), "write": ("writes", "write", "P", "T"),
    "carry": ("carries", "carry", "PA", "FTO"), "find": ("finds", "find", "PA", "FTOA"),
    "paint": ("paints", "paint", "P", "OL"), "visit": ("visits", "visit", "P", "PL"),
    "wash": ("washes", "wash", "P", "AO"), "sell": ("sells", "sell", "P", "FTO"),
    "follow": ("follows", "follow", "PA", "PA"), "help": ("helps", "help", "P", "P"),
    "hold": ("holds", "hold", "P", "FTOA"), "draw": ("draws", "draw", "P", "PAOL"),
}


CLASSES = {"P": PEOPLE, "A": ANIMALS, "F": FOOD, "T": TEXTS, "O": THINGS, "L": PLACES}


EN_IRREGULAR_PLURALS = {"man": "men", "woman": "women", "child": "children", "mouse": "mice",
                        "fish": "fish", "story": "stories", "library": "libraries", "city": "cities"}


LOC_PREPS = ["in", "near", "behind"]


FUNCTION_WORDS = ["the", "a", "not", "who", "what", "where", "and", "does", "do", "he", "she", "they"]


NUMBERS = ["2", "3", "4", "5", "6", "7", "8", "9", "10", "12"]


@dataclass(frozen=True)
class Grammar:
    order: str                 # SVO | SOV | VSO
    adj_after_noun: bool
    postpositions: bool
    determiners: bool
    plural: str                # how plural nouns are marked: "suffix" | "prefix"
    plural_affix: str
    script: str                # latin | greek
    onsets: str                # letters the lexicon generator builds syllables from
    vowels: str
    codas: str
    sound_changes: tuple[tuple[str, str], ...] = ()   # regular changes, applied in order, to a cognate
    final_vowel: str = ""      # added to a cognate that ends in a consonant (and has more than two letters)


# Cognates: English and the invented languages are one family, as English, German and Dutch are, or
# Spanish and Portuguese. A cognate is English's word after the language's regular sound changes, so
# related languages share word pieces; tiny.world.cognate_share says what share of each lexicon is
# inherited (the rest is coined from the language's own syllables). Why the world needs them:
# docs/world.md, "Transfer".
GRAMMARS = {
    "en": Grammar("SVO", False, False, True, "suffix", "s", "latin", "", "", ""),
    "qa": Grammar("SVO", True, False, True, "suffix", "ri", "latin", "bdklmnprstv", "aeiou", "nrs",
                  (("th", "t"), ("sh", "s"), ("c", "k"), ("w", "v"), ("y", "i"), ("f", "p")), "a"),
    "qb": Grammar("SOV", False, True, False, "suffix", "lar", "latin", "gkmnpstyz", "aeiu", "kmn",
                  (("th", "s"), ("sh", "s"), ("c", "k"), ("w", "y"), ("o", "u"), ("d", "t"), ("b", "p"),
                   ("r", "")), "u"),
    "qc": Grammar("VSO", True, False, True, "prefix", "to", "greek", "dfklmnprst", "aeio", "ls",
                  (("th", "t"), ("sh", "s"), ("c", "k"), ("w", "v"), ("u", "o"), ("y", "i")), "os"),
    "qd": Grammar("SVO", False, False, True, "prefix", "ma", "latin", "bcdghjlmnrw", "aeiou", "ng",
                  (("th", "d"), ("t", "d"), ("p", "b"), ("v", "w"), ("k", "g"), ("s", "z")), "i"),
    "qe": Grammar("SVO", False, False, True, "suffix", "en", "latin", "", "", "",
                  (("th", "d"), ("w", "v"), ("c", "k"), ("sh", "s"), ("ee", "i"), ("oo", "u"), ("y", "i")),
                  "o"),
}


GREEK = dict(zip("abcdefghijklmnopqrstuvwxyz", "αβψδεφγηιξκλμνοπθρστυωςχυζ"))


def rng_for(seed: int, *purpose: object) -> random.Random:
    digest = hashlib.sha256(repr((seed, *purpose)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def cognate(word: str, g: Grammar) -> str:
    """English's `word` after the language's regular sound changes."""
    out = word
    for before, after in g.sound_changes:
        out = out.replace(before, after)
    return out + (g.final_vowel if out and out[-1] not in "aeiou" and len(out) > 2 else "")


def build_lexicon(code: str, seed: int, loanword_share: float, cognate_share: float) -> dict[str, str]:
    """concept -> surface form. English is the concept name; others are cognates of it (a share
    `cognate_share` of the concepts, drawn per language) or coined words."""
    concepts = ([*PEOPLE, *ANIMALS, *FOOD, *TEXTS, *THINGS, *PLACES, *VERBS, *COLORS,
                 *[a for pair in ADJ_PAIRS for a in pair], *LOC_PREPS, *FUNCTION_WORDS])
    if code == "en":
        return {c: c for c in concepts}
    loan_rng = rng_for(seed, "loanwords")
    nouns = [*FOOD, *THINGS]
    loans = set(loan_rng.sample(nouns, max(1, round(loanword_share * len(nouns)))))
    g = GRAMMARS[code]
    rng, cognate_rng = rng_for(seed, "lexicon", code), rng_for(seed, "cognates", code)
    lex, used = {}, set()
    for concept in concepts:
        inherited = cognate(concept, g) if cognate_rng.random() < cognate_share else None
        if concept in loans:
            form = concept
        elif inherited and (inherited not in used or not g.onsets):  # (Estran coins nothing)
            form = inherited
        else:
            n_syll = 1 if concept in FUNCTION_WORDS or concept in LOC_PREPS else rng.choice((2, 2, 3))
            while True:
                form = "".join(rng.choice(g.onsets) + rng.choice(g.vowels)
                               + (rng.choice(g.codas) if rng.random() < 0.3 else "")
                               for _ in range(n_syll))
                if form not in used:
                    break
        used.add(form)
        lex[concept] = form
    return lex


# --- frames: language-independent meaning -----------------------------------------------------
def _np(rng: random.Random, cls: str, allow_plural=True, allow_pron=False) -> dict:
    if cls == "P" and rng.random() < 0.3:
        name = rng.choice(NAMES) + (f" {rng.choice(SURNAMES)}" if rng.random() < 0.3 else "")
        return {"name": name, "ent": "PER"}
    if cls == "P" and rng.random() < 0.06:
        return {"name": rng.choice(ORGS), "ent": "ORG"}
    if cls == "L" and rng.random() < 0.25:
        return {"name": rng.choice(CITIES), "ent": "LOC"}
    if cls == "P" and allow_pron and rng.random() < 0.1:
        return {"pron": rng.choice(["he", "she"])}
    noun = rng.choice(CLASSES[cls])
    np = {"noun": noun, "det": rng.choice(["the", "the", "a"])}
    if allow_plural and cls != "L" and rng.random() < 0.2:
        np = {"noun": noun, "num": rng.choice(NUMBERS)}
    if rng.random() < 0.4:
        np["adj"] = rng.choice([*COLORS, *[a for pair in ADJ_PAIRS for a in pair]])
    return np


def random_frame(rng: random.Random, verb: str | None = None) -> dict:
    verb = verb or rng.choice(sorted(VERBS))
    _, _, subj_cls, obj_cls = VERBS[verb]
    frame = {"verb": verb, "subj": _np(rng, rng.choice(subj_cls), allow_pron=True),
             "obj": _np(rng, rng.choice(obj_cls)), "neg": rng.random() < 0.2}
    if rng.random() < 0.35:
        frame["loc"] = {"prep": rng.choice(LOC_PREPS), "np": _np(rng, "L", allow_plural=False)}
    return frame


# --- rendering: frame -> tokens with UPOS tags and constituent roles --------------------------
class Renderer:
    def __init__(self, code: str, lexicon: dict[str, str]):
        self.code, self.lex, self.g = code, lexicon, GRAMMARS[code]

    def word(self, concept: str) -> str:
        form = self.lex.get(concept, concept)
        return "".join(GREEK.get(ch, ch) for ch in form) if self.g.script == "greek" else form

    def noun(self, noun: str, plural: bool) -> str:
        if not plural:
            return self.word(noun)
        if self.code == "en":
            if noun in EN_IRREGULAR_PLURALS:
                return EN_IRREGULAR_PLURALS[noun]
            return noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")
        affix = "".join(GREEK.get(ch, ch) for ch in self.g.plural_affix) if self.g.script == "greek" \
            else self.g.plural_affix
        return self.word(noun) + affix if self.g.plural == "suffix" else affix + self.word(noun)

    def np(self, np: dict) -> list[tuple[str, str]]:
        if "name" in np:  # names are shared across languages (transliterated in Greek script)
            return [("".join(GREEK.get(ch, ch) for ch in part.lower()).capitalize()
                     if self.g.script == "greek" else part, "PROPN") for part in np["name"].split()]
        if "pron" in np:
            return [(self.word(np["pron"]), "PRON")]
        plural = "num" in np
        head = [(self.noun(np["noun"], plural), "NOUN")]
        adj = [(self.word(np["adj"]), "ADJ")] if "adj" in np else []
        mods = adj + head if not self.g.adj_after_noun else head + adj
        if plural:
            return [(np["num"], "NUM")] + mods
        if self.g.determiners:
            det = np["det"]
            if self.code == "en" and det == "a" and mods[0][0][0] in "aeiou":
                return [("an", "DET")] + mods
            return [(self.word(det), "DET")] + mods
        return mods

    def pp(self, loc: dict) -> list[tuple[str, str]]:
        adp = [(self.word(loc["prep"]), "ADP")]
        return self.np(loc["np"]) + adp if self.g.postpositions else adp + self.np(loc["np"])

    def verb_group(self, frame: dict) -> list[tuple[str, str]]:
        verb, subj = frame["verb"], frame["subj"]
        if self.code == "en":
            singular = "num" not in subj and subj.get("pron") != "they"
            if frame["neg"]:
                return [("does" if singular else "do", "AUX"), ("not", "PART"), (VERBS[verb][1], "VERB")]
            return [(VERBS[verb][0] if singular else VERBS[verb][1], "VERB")]
        out = [(self.word(verb), "VERB")]
        return [(self.word("not"), "PART")] + out if frame["neg"] else out

    def clause(self, frame: dict, skip: str | None = None, front_loc: bool = False) -> list[tuple[str, str, str]]:
        """Tokens as (form, upos, role); `skip` drops one constituent (for questions); `front_loc`
        puts the locative first (a meaning-preserving paraphrase)."""
        parts = {"S": [(w, t, "subj") for w, t in self.np(frame["subj"])],
                 "V": [(w, t, "verb") for w, t in self.verb_group(frame)],
                 "O": [(w, t, "obj") for w, t in self.np(frame["obj"])]}
        loc = [(w, t, "loc") for w, t in self.pp(frame["loc"])] if "loc" in frame else []
        if skip == "subj":
            parts["S"] = []
        if skip == "obj":
            parts["O"] = []
        if skip == "loc":
            loc = []
        order = self.g.order
        if front_loc:
            return loc + [tok for slot in order for tok in parts[slot]]
        if order == "SOV":  # locative before the verb, as in verb-final languages
            return parts["S"] + loc + parts["O"] + parts["V"]
        seq = [tok for slot in order for tok in parts[slot]]
        return seq + loc

    def sentence(self, frame: dict, front_loc: bool = False) -> list[tuple[str, str, str]]:
        return self.clause(frame, front_loc=front_loc) + [(".", "PUNCT", "punct")]

    def question(self, frame: dict, ask: str) -> list[tuple[str, str, str]]:
        wh = {"subj": "who" if _is_person(frame["subj"]) else "what", "obj": "what", "loc": "where"}[ask]
        if self.code == "en" and ask != "subj":  # English do-support: "what does the man see ?"
            f = dict(frame, neg=False)
            singular = "num" not in f["subj"] and f["subj"].get("pron") != "they"
            subj = [(w, t, "subj") for w, t in self.np(f["subj"])]
            obj = [] if ask == "obj" else [(w, t, "obj") for w, t in self.np(f["obj"])]
            aux = [("does" if singular else "do", "AUX", "aux")]
            neg = [("not", "PART", "verb")] if frame["neg"] else []
            return ([(wh, "PRON", "wh")] + aux + neg + subj + [(VERBS[f["verb"]][1], "VERB", "verb")]
                    + obj + [("?", "PUNCT", "punct")])
        return [(self.word(wh), "PRON", "wh")] + self.clause(frame, skip=ask) + [("?", "PUNCT", "punct")]


def _is_person(np: dict) -> bool:
    return "name" in np or "pron" in np or np.get("noun") in PEOPLE


def ner_tags(tokens, frame: dict) -> list[str]:
    """PAN-X style BIO tags: a name's tokens get B-/I-<type> within its constituent (role)."""
    nps = {"subj": frame["subj"], "obj": frame["obj"], "loc": frame.get("loc", {}).get("np", {})}
    tags, prev_role = [], None
    for _form, upos, role in tokens:
        ent = nps.get(role, {}).get("ent")
        if upos == "PROPN" and ent:
            tags.append(("I-" if prev_role == role else "B-") + ent)
            prev_role = role
        else:
            tags.append("O")
            prev_role = None
    return tags


def text_of(tokens) -> str:
    return " ".join(t[0] for t in tokens)


def span_of(tokens, role: str) -> tuple[int, str]:
    """Character start and text of the contiguous constituent `role` in ' '.join(tokens)."""
    start, pos, words = None, 0, []
    for tok in tokens:
        if tok[2] == role:
            if start is None:
                start = pos
            words.append(tok[0])
        pos += len(tok[0]) + 1
    return start, " ".join(words)


# --- NLI pairs ---------------------------------------------------------------------------------
ANTONYM = {a: b for pair in ADJ_PAIRS for a, b in (pair, pair[::-1])}


def _strip_modifiers(rng, frame):
    f = json.loads(json.dumps(frame))
    for key in ("subj", "obj"):
        if "adj" in f[key] and rng.random() < 0.5:
            del f[key]["adj"]
    if "loc" in f and rng.random() < 0.5:
        del f["loc"]
    return f


def contradict(rng: random.Random, frame: dict) -> dict:
    """A copy of `frame` that contradicts it: an adjective swapped for its antonym, or the
    negation flipped (NLI contradictions, HellaSwag/COPA wrong endings)."""
    h = dict(frame, subj=dict(frame["subj"]), obj=dict(frame["obj"]))
    antonymable = [k for k in ("subj", "obj") if h[k].get("adj") in ANTONYM]
    if antonymable and rng.random() < 0.5:
        k = rng.choice(antonymable)
        h[k]["adj"] = ANTONYM[h[k]["adj"]]
    else:
        h["neg"] = not h["neg"]
    return h


def nli_pair(rng: random.Random, label: str) -> tuple[dict, dict]:
    """Premise and hypothesis frames whose relation is `label` by construction."""
    while True:
        p = random_frame(rng)
        h = _strip_modifiers(rng, p)
        if label == "entailment":
            return p, h
        if label == "contradiction":
            return p, contradict(rng, h)
        # neutral: the hypothesis adds information the premise does not have
        options = [k for k in ("subj", "obj") if "noun" in p[k] and "adj" not in p[k]]
        if "loc" not in p:
            options.append("loc")
        if not options:
            continue
        k = rng.choice(options)
        if k == "loc":
            h["loc"] = {"prep": rng.choice(LOC_PREPS), "np": _np(rng, "L", allow_plural=False)}
        else:
            h[k]["adj"] = rng.choice([*COLORS, *[a for pair in ADJ_PAIRS for a in pair]])
        return p, h


# --- QA paragraphs ----------------------------------------------------------------------------
def qa_item(rng: random.Random) -> tuple[list[dict], int, str]:
    """A paragraph of 2-4 frames with distinct verbs, the index of the asked one, and what is asked."""
    verbs = rng.sample(sorted(VERBS), rng.randint(2, 4))
    frames = [dict(random_frame(rng, v), neg=False) for v in verbs]
    i = rng.randrange(len(frames))
    ask = rng.choice(["subj", "obj", "obj"] + (["loc"] if "loc" in frames[i] else []))
    return frames, i, ask


def render_qa(r: Renderer, frames, i, ask):
    pieces, offsets, pos = [], [], 0
    for f in frames:
        toks = r.sentence(f)
        pieces.append(text_of(toks))
        offsets.append((pos, toks))
        pos += len(pieces[-1]) + 1
    context = " ".join(pieces)
    base, toks = offsets[i]
    start, answer = span_of(toks, ask)
    if ask == "loc":  # the answer to "where" is the place NP, without the adposition
        np_toks = [t for t in toks if t[2] == "loc" and t[1] != "ADP"]
        start = base + text_of(toks).index(text_of(np_toks)) if np_toks else start
        answer = text_of(np_toks)
    else:
        start = base + start
    assert context[start:start + len(answer)] == answer
    return context, text_of(r.question(frames[i], ask)), answer, start


def hub_path(root: Path, repo: str, config: str, split: str) -> Path:
    """Where the world writes one split of one config (the Hub's parquet layout)."""
    return root / "hub" / repo / config / f"{split}-00000-of-00001.parquet"
