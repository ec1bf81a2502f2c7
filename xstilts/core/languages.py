"""The languages xstilts knows: the 40 XTREME languages plus XTREME-R's 10 additions (profile paper),
and the embedded world's six (profile tiny), with the codes the sources' configs use. The task
registry (xstilts/core/tasks.py) re-exports them; the benchmarks' official lists live there."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str   # ISO 639-1 where one exists (the key used everywhere in xstilts)
    iso3: str   # Tatoeba config names use it
    name: str   # google/xtreme udpos config names use it; TyDiQA ids use it in lower case


# The 40 XTREME languages plus XTREME-R's 10 additions (google-research/xtreme README), with the
# iso3 codes of Tatoeba's configs and the English names of udpos configs.
REAL_LANGUAGES = {l.code: l for l in (
    Language("af", "afr", "Afrikaans"), Language("ar", "ara", "Arabic"),
    Language("bg", "bul", "Bulgarian"), Language("bn", "ben", "Bengali"),
    Language("de", "deu", "German"), Language("el", "ell", "Greek"),
    Language("en", "eng", "English"), Language("es", "spa", "Spanish"),
    Language("et", "est", "Estonian"), Language("eu", "eus", "Basque"),
    Language("fa", "pes", "Persian"), Language("fi", "fin", "Finnish"),
    Language("fr", "fra", "French"), Language("he", "heb", "Hebrew"),
    Language("hi", "hin", "Hindi"), Language("hu", "hun", "Hungarian"),
    Language("id", "ind", "Indonesian"), Language("it", "ita", "Italian"),
    Language("ja", "jpn", "Japanese"), Language("jv", "jav", "Javanese"),
    Language("ka", "kat", "Georgian"), Language("kk", "kaz", "Kazakh"),
    Language("ko", "kor", "Korean"), Language("ml", "mal", "Malayalam"),
    Language("mr", "mar", "Marathi"), Language("ms", "msa", "Malay"),
    Language("my", "mya", "Burmese"), Language("nl", "nld", "Dutch"),
    Language("pt", "por", "Portuguese"), Language("ru", "rus", "Russian"),
    Language("sw", "swh", "Swahili"), Language("ta", "tam", "Tamil"),
    Language("te", "tel", "Telugu"), Language("th", "tha", "Thai"),
    Language("tl", "tgl", "Tagalog"), Language("tr", "tur", "Turkish"),
    Language("ur", "urd", "Urdu"), Language("vi", "vie", "Vietnamese"),
    Language("yo", "yor", "Yoruba"), Language("zh", "cmn", "Chinese"),
    # XTREME-R additions
    Language("az", "aze", "Azerbaijani"), Language("gu", "guj", "Gujarati"),
    Language("ht", "hat", "Haitian"), Language("lt", "lit", "Lithuanian"),
    Language("pa", "pan", "Punjabi"), Language("pl", "pol", "Polish"),
    Language("qu", "que", "Quechua"), Language("ro", "ron", "Romanian"),
    Language("uk", "ukr", "Ukrainian"), Language("wo", "wol", "Wolof"),
)}

# The embedded world's languages. ISO 639-3 reserves qaa-qtz for local use, so the synthetic
# languages take codes no real language has. Their grammars live in xstilts/world/grammar.py.
WORLD_LANGUAGES = {l.code: l for l in (
    Language("en", "eng", "English"),
    Language("qa", "qaa", "Aurelic"),
    Language("qb", "qab", "Borean"),
    Language("qc", "qac", "Cyrenic"),
    Language("qd", "qad", "Dravel"),
    Language("qe", "qae", "Estran"),
)}


def languages_of(profile: str) -> dict[str, Language]:
    return WORLD_LANGUAGES if profile == "tiny" else REAL_LANGUAGES
