"""Translation engines and translated rows, for stages `translate_intermediate` and `translate_train@<target>`.

Two engines (`<profile>.translate.engine`):
  world  profile tiny: the world's bilingual lexicon (data/world/lexicon.json), word by word; words
         it does not know (names, numbers) are kept, English-only words (do-support, articles of a
         language without them) are dropped. Word order stays English: crude, as MT can be.
  model  profile paper: a transformers MT checkpoint (`model`, pinned `revision`), batched, with a
         progress bar; `{lang}` in the name means one checkpoint per language (Marian opus-mt-en-xx);
         a multilingual checkpoint takes `lang_codes`, each language's code (NLLB: deu_Latn), which
         is forced as the first output token. Every translated sentence is appended to a cache under
         data/.translate_cache/ as soon as its batch is done, so an interrupted run resumes where it
         stopped.

What is translated, by task type: sentence pairs, multiple-choice contexts/questions/choices,
QA questions and contexts, tagged tokens (world engine only: its one-word-to-one-word mapping keeps
each tag on its word; an MT model's output has no token alignment, so tagged rows are dropped and
counted). QA answers survive by mark-and-translate: the answer span is wrapped in « » before
translation and read back from the marks; an example whose marks do not come back intact is
dropped and counted (meta.json: dropped).

translate_intermediate: rows of data/prepared/intermediate whose `lang` is not English are
translated into it (prepare assigned each example one language of `intermediate_languages`);
output data/translated/intermediate/<member>/{train,dev}.jsonl, all rows, in the same order.
translate_train@<target>: with `target_training` other than zero_shot, the target's English
training and dev data in each of its evaluation languages: data/translated/<target>/<lang>/. In
profile paper with `translate.published`, XNLI and PAWS-X take the Hub's own translated training
sets instead (as XTREME's translate-train baselines), early-stopping on English dev.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from xstilts import kinds
from xstilts.core import config, io, leases, paths, tasks
from xstilts.data import read_prepared


# --- engines ------------------------------------------------------------------------------------
class WorldTranslator:
    """Word by word through the world's English -> language dictionaries."""

    word_aligned = True   # one output word per input word: tags stay on their words

    def __init__(self, lexicon_path: Path = paths.LEXICON):
        self.lexicon = json.loads(Path(lexicon_path).read_text(encoding="utf-8"))

    def _dictionary(self, lang: str) -> dict[str, str]:
        if lang not in self.lexicon:
            raise ValueError(f"the world's lexicon has no language '{lang}'; valid: {', '.join(self.lexicon)}")
        return self.lexicon[lang]

    def words(self, tokens: list[str], lang: str) -> list[str | None]:
        """Each token's translation; None where the word is dropped."""
        d = self._dictionary(lang)
        out = []
        for tok in tokens:
            form = d.get(tok, d.get(tok.lower(), tok))
            out.append(form if form != "" else None)
        return out

    def translate(self, texts: list[str], lang: str) -> list[str]:
        return [" ".join(w for w in self.words(t.split(), lang) if w is not None) for t in texts]


class ModelTranslator:
    """A transformers seq2seq MT model, batched, resumable through an append-only cache."""

    def __init__(self, translate_params: config.TranslateParams, cache_dir: Path = paths.TRANSLATE_CACHE,
                 progress: bool = True, runtime: config.RuntimeParams | None = None):
        self.params, self.cache_dir, self.progress = translate_params, Path(cache_dir), progress
        self.runtime = runtime
        self._loaded: dict[str, tuple] = {}

    def _device(self):
        """The runtime's device and autocast dtype: generate on the GPU when there is one, in the
        profile's precision (bf16/fp16 autocast; on CPU, fp32: the cache key says which)."""
        runtime = self.runtime
        if runtime is not None:  # before torch looks for CUDA: the lease sets CUDA_VISIBLE_DEVICES (once a process)
            leases.lease_for(runtime, 1)
        import torch
        cuda = runtime is not None and runtime.device in ("auto", "cuda") and torch.cuda.is_available()
        if not cuda:
            return torch.device("cpu"), None
        return torch.device("cuda"), {"bf16": torch.bfloat16, "fp16": torch.float16}.get(runtime.precision)

    def precision(self) -> str:
        """The precision the model generates in: the profile's on CUDA, fp32 on CPU (no autocast there)."""
        import torch
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self._device()[1], "fp32")

    def _checkpoint(self, lang: str) -> str:
        return self.params.model.format(lang=lang) if "{lang}" in self.params.model else self.params.model

    def _load(self, lang: str):
        name = self._checkpoint(lang)
        if name not in self._loaded:
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            from xstilts.model.encoders import quiet_transformers
            quiet_transformers()
            tok = AutoTokenizer.from_pretrained(name, revision=self.params.revision)
            model = AutoModelForSeq2SeqLM.from_pretrained(name, revision=self.params.revision)
            model = model.eval().to(self._device()[0])
            self._loaded[name] = (tok, model)
        return self._loaded[name]

    def cache_path(self, lang: str) -> Path:
        # the precision is part of the key: a bf16 GPU translation is not an fp32 one
        settings = f"{self._checkpoint(lang)}@{self.params.revision}|{lang}|{self.params.max_length}|{self.precision()}"
        key = hashlib.sha1(settings.encode()).hexdigest()[:16]
        return self.cache_dir / f"{lang}-{key}.jsonl"

    def translate(self, texts: list[str], lang: str) -> list[str]:
        import torch

        path = self.cache_path(lang)
        done = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by an interruption
                    continue
                done[rec["src"]] = rec["tgt"]
        todo = list(dict.fromkeys(t for t in texts if t not in done))
        if todo:
            tok, model = self._load(lang)
            kwargs = {}
            if self.params.lang_codes:  # a multilingual checkpoint: the target language starts the output
                if lang not in self.params.lang_codes:
                    raise ValueError(f"translate.lang_codes has no code for '{lang}' (needed by the multilingual "
                                     f"checkpoint {self.params.model}); add e.g. {lang}: <the model's language code>")
                kwargs["forced_bos_token_id"] = tok.convert_tokens_to_ids(self.params.lang_codes[lang])
            path.parent.mkdir(parents=True, exist_ok=True)
            todo.sort(key=len, reverse=True)  # batches of similar length pad little
            device, dtype = self._device()
            batches = range(0, len(todo), self.params.batch_size)
            if self.progress:
                from tqdm.auto import tqdm
                batches = tqdm(batches, desc=f"translate en->{lang}", unit="batch")
            autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
            with open(path, "a", encoding="utf-8") as cache, torch.inference_mode(), autocast:
                for i in batches:
                    chunk = todo[i:i + self.params.batch_size]
                    enc = tok(chunk, return_tensors="pt", padding=True, truncation=True,
                              max_length=self.params.max_length).to(device)
                    out = model.generate(**enc, max_length=self.params.max_length, num_beams=1, do_sample=False,
                                         **kwargs)
                    for src, tgt in zip(chunk, tok.batch_decode(out, skip_special_tokens=True)):
                        done[src] = tgt
                        cache.write(json.dumps({"src": src, "tgt": tgt}, ensure_ascii=False) + "\n")
                    cache.flush()
        return [done[t] for t in texts]


def engine_for(params: config.Params):
    translate_params = params.group("translate")
    if translate_params.engine == "world":
        return WorldTranslator()
    return ModelTranslator(translate_params, runtime=params.runtime())


# --- rows -----------------------------------------------------------------------------------------
def translate_rows(rows: list[dict], task_type: str, lang: str, engine) -> tuple[list[dict], dict]:
    """Rows in `lang`, in order; those that cannot be translated faithfully are dropped and counted.
    What is translated is the task kind's (xstilts/kinds: Kind.translate)."""
    return kinds.get(task_type).translate(rows, lang, engine)


def translate_mixed(rows: list[dict], task_type: str, engine) -> tuple[list[dict], dict]:
    """Rows tagged with a `lang` each (prepare's assignment): English ones as they are, the rest
    translated into their language; the original order is kept."""
    by_lang: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_lang.setdefault(r.get("lang", "en"), []).append(i)
    result: dict[int, dict] = {}
    dropped: dict[str, dict] = {}
    for lang, idx in by_lang.items():
        if lang == "en":
            result.update({i: rows[i] for i in idx})
            continue
        out, why = translate_rows([rows[i] for i in idx], task_type, lang, engine)
        if why:
            dropped[lang] = why
        kept = {r["id"]: r for r in out}  # QA and tagged rows may be dropped: match by id
        result.update({i: kept[rows[i]["id"]] for i in idx if rows[i]["id"] in kept})
    return [result[i] for i in sorted(result)], dropped


def published_rows(params: config.Params, task: tasks.Task, lang: str) -> tuple[list[dict], dict]:
    """The Hub's own translation of a target's training data into `lang` (XNLI: MNLI's train,
    machine-translated by XNLI's authors; PAWS-X: its translated train), loaded and normalized like
    any source (local mirror and revisions apply)."""
    from xstilts.data.prepare import Loader

    rows, dropped = Loader(params).rows(task, task.translated_train, lang)
    return [{**r, "lang": lang} for r in rows], dropped


def translate_training_data(params, target: str) -> None:
    """Stage `translate_train@<target>`: the target's English train/dev rows in each of its languages (or why not)."""
    out = paths.translated(target)
    meta = read_prepared.prepared_meta(target)
    info: dict = {"target": target, "target_training": params.target_training}
    skip = None
    if "skipped" in meta:
        skip = meta["skipped"]
    elif params.target_training == "zero_shot":
        skip = "target_training is zero_shot (English training data only)"
    elif not tasks.TARGETS[target].trains:
        skip = "no training data (retrieval)"
    with io.atomic_dir(out) as tmp:
        if skip:
            info["skipped"] = skip
        else:
            translate_params = params.group("translate")
            task = tasks.TARGETS[target]
            published = translate_params.published and task.translated_train is not None and params.profile == "paper"
            engine = None if published else engine_for(params)
            info.update(engine=vars(translate_params), counts={}, dropped={},
                        source=task.translated_train.label if published else "translated by the engine")
            for lang in params.target_languages(target):
                if lang == "en":
                    continue
                for part in ("train", "dev"):
                    rows = read_prepared.load_train(target, part)
                    if published and part == "train":
                        rows, dropped = published_rows(params, task, lang)
                    elif published:  # no published dev translation: early stopping on English dev
                        dropped = {}
                    else:
                        rows, dropped = translate_rows(rows, meta["type"], lang, engine)
                    info["counts"].setdefault(lang, {})[part] = io.write_jsonl(paths.rows(tmp / lang, part), rows)
                    if dropped:
                        info["dropped"].setdefault(lang, {})[part] = dropped
        (tmp / paths.META).write_text(json.dumps(info, indent=2) + "\n")
    print(f"translate_train {target}: " + (f"skipped ({skip})" if skip else
                                           ", ".join(f"{l} {c['train']}" for l, c in info["counts"].items())))


def translate_intermediate_data(params) -> None:
    """Stage `translate_intermediate`: the intermediate rows assigned another language, translated into it."""
    src = paths.prepared(paths.INTERMEDIATE_DIR)
    out = paths.translated(paths.INTERMEDIATE_DIR)
    meta = read_prepared.prepared_meta(paths.INTERMEDIATE_DIR)
    info = {"task": meta["task"], "languages": params.intermediate_languages, "engine": None, "members": {}}
    with io.atomic_dir(out) as tmp:
        if "skipped" in meta:
            info["skipped"] = meta["skipped"]
        else:
            needs = any(l != "en" for l in params.intermediate_languages)
            engine = engine_for(params) if needs else None
            info["engine"] = vars(params.group("translate")) if needs else "none (English only)"
            for member, member_meta in meta["members"].items():
                info["members"][member] = {"counts": {}, "dropped": {}}
                for part in ("train", "dev"):
                    rows = io.read_jsonl(paths.rows(src / member, part))
                    if needs and member_meta["type"] != "mlm":
                        rows, dropped = translate_mixed(rows, member_meta["type"], engine)
                        if dropped:
                            info["members"][member]["dropped"][part] = dropped
                    info["members"][member]["counts"][part] = io.write_jsonl(paths.rows(tmp / member, part), rows)
        (tmp / paths.META).write_text(json.dumps({**meta, "translation": info}, indent=2) + "\n")
    print(f"translate_intermediate ({', '.join(params.intermediate_languages)}): "
          + ("; ".join(f"{k}: {v['counts']}" for k, v in info["members"].items()) or info.get("skipped", "")))
