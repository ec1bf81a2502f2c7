"""Stage `prepare_intermediate`: the English data of every task the `intermediate` param names (one
task, or all of multitask's), into data/prepared/intermediate/<member>/{train,dev}.jsonl, subsampled
to `intermediate_size`, each row assigned one of `intermediate_languages` (translate_intermediate then
translates it); plus mlm/ with the MLM corpus sample when `intermediate_mlm` is on; meta.json names
the members, and what each dropped and repaired, by reason (also printed). `intermediate: none` is
skipped (the baseline arm). A malformed source is one line naming the file, the row and the column
(exit code 3), and leaves the previous output as it was."""
from xstilts.core import stage
from xstilts.data.prepare import prepare_intermediate

if __name__ == "__main__":
    stage.run(prepare_intermediate)
