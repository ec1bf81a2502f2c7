"""Stage `translate_intermediate`: rows of data/prepared/intermediate whose `lang` is not English are
translated into it (prepare_intermediate assigned each example one language of
`intermediate_languages`), by the profile's engine (xstilts/data/translate.py); output
data/translated/intermediate/<member>/{train,dev}.jsonl, all rows, in the same order, and meta.json
with what was dropped and why."""
from xstilts.core import stage
from xstilts.data.translate import translate_intermediate_data

if __name__ == "__main__":
    stage.run(translate_intermediate_data)
