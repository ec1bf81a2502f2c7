"""Tokenizer round trip, strict encoder loading, and a training smoke test where the loss falls,
for each architecture the pipeline can train: XLM-R and BERT shapes (built as the tiny pretrain
stage builds them) and an mT5 encoder (random, of mT5's real layout, kept as the paper profile
keeps it: MT5EncoderModel, the decoder dropped)."""


import pytest
import torch

from xstilts import kinds
from xstilts.core import config, tasks
from xstilts.data import normalize, sources
from xstilts.kinds import mlm as mlm_kind
from xstilts.model import encoders, heads, tokenizers
from xstilts.train import predict as prediction
from xstilts.train import runtime, sampling, trainer

RT = config.RuntimeParams(device="cpu", precision="fp32", max_device_batch=None, processes=1, deterministic=True,
                          threads=2, checkpoint_every=1000, progress_every=1000)


def fit(model, members, tok, tp, seed, rt=RT, **kw):
    """The trainer on CPU, fp32, one process (the tiny runtime)."""
    acc, _ = runtime.start(rt, multitask=len(members) > 1)
    return trainer.train(model, members, tok, tp, seed, acc, rt, **kw)[0]


def mt5_encoder_dir(corpus: list, out, tmp) -> None:
    """An mT5-layout checkpoint (T5 sentencepiece tokenizer, gated-GELU, untied head), randomly
    initialized, saved as the paper profile's pretrain stage saves mt5: its encoder stack only."""
    import shutil

    import sentencepiece as spm
    from transformers import MT5Config, MT5EncoderModel, MT5ForConditionalGeneration, T5TokenizerFast
    spm.SentencePieceTrainer.train(
        input=",".join(map(str, corpus)), model_prefix=str(tmp / "spiece"), vocab_size=400, model_type="unigram",
        character_coverage=1.0, num_threads=1, hard_vocab_limit=False, minloglevel=2,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1)  # T5's special ids
    (tmp / "tok").mkdir()
    shutil.copy(tmp / "spiece.model", tmp / "tok" / "spiece.model")
    tok = T5TokenizerFast.from_pretrained(str(tmp / "tok"))
    torch.manual_seed(0)
    full = MT5ForConditionalGeneration(MT5Config(
        vocab_size=len(tok), d_model=32, d_kv=16, num_heads=2, num_layers=2, d_ff=64,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0))
    full.save_pretrained(str(tmp / "full"))
    MT5EncoderModel.from_pretrained(str(tmp / "full")).save_pretrained(str(out))
    tok.save_pretrained(str(out))


@pytest.fixture(scope="module", params=["xlmr", "bert", "mt5"])
def tiny_model_dir(request, small_world, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"pretrained-{request.param}")
    corpus = sorted((small_world / "corpus").glob("*.txt"))
    if request.param == "mt5":
        mt5_encoder_dir(corpus, out, tmp_path_factory.mktemp("mt5-build"))
        return out
    train = tokenizers.train_wordpiece if request.param == "bert" else tokenizers.train_sentencepiece
    tok = train(corpus, out, vocab_size=400)
    spec = config.ModelSpec(arch=request.param, retrieval_layer=1, hidden_size=32, num_layers=2, num_heads=2,
                            intermediate_size=64)
    torch.manual_seed(0)
    encoders.tiny_masked_lm(spec, tok, max_positions=128).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def test_tokenizer_round_trip(tiny_model_dir):
    tok = encoders.load_tokenizer(tiny_model_dir)
    assert len(tok) > 100  # not the silent 5-token tokenizer of transformers 5's vocab_file route
    ids = tok("Maria sees the red dog .")["input_ids"]
    arch = encoders.arch_of(tiny_model_dir)
    first, last = {"xlmr": ("<s>", "</s>"), "bert": ("[CLS]", "[SEP]"), "mt5": (None, "</s>")}[arch]
    assert ids[-1] == tok.convert_tokens_to_ids(last) and tok.unk_token_id not in ids
    assert first is None or ids[0] == tok.convert_tokens_to_ids(first)
    # BERT's decoder glues punctuation to the word before it; the words themselves must come back
    assert tok.decode(ids, skip_special_tokens=True).replace(" .", ".") == "Maria sees the red dog."
    if arch == "xlmr":
        assert tok.convert_tokens_to_ids("<mask>") == len(tok) - 1


def test_encoder_loading_is_strict(tiny_model_dir, tmp_path):
    enc = encoders.load_encoder(tiny_model_dir)  # MLM head dropped on purpose, nothing else
    enc.save_pretrained(str(tmp_path))
    from safetensors.torch import load_file, save_file
    weights = load_file(str(tmp_path / "model.safetensors"))
    victim = next(k for k in weights if "encoder.layer.1" in k or "encoder.block.1" in k)
    del weights[victim]
    save_file(weights, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(encoders.EncoderLoadError, match="missing"):
        encoders.load_encoder(tmp_path)


def _train(tiny_model_dir, small_world, task_type, name, steps=60):
    task = tasks.TASKS[name]
    source = task.train[0]
    ds = sources.load_source(source.repo, sources.config_name(source, "en", "tiny"), source.split,
                          local_hub=small_world / "hub")
    rows, _ = normalize.normalize(task, source, ds, "en", "tiny")
    labels = task.labels or ()
    tok = encoders.load_tokenizer(tiny_model_dir)
    torch.manual_seed(0)
    model = heads.TaskModel.single(encoders.load_encoder(tiny_model_dir), kinds.get(task_type), n_labels=len(labels))
    tp = config.TrainParams(lr=1e-3, warmup_ratio=0.1, weight_decay=0.0, max_grad_norm=1.0,
                            early_stopping_examples=20, eval_every=steps // 3, patience=10, tasks={})
    hp = config.TaskHparams(batch_size=16, epochs=steps * 16 / len(rows), max_seq_length=96, doc_stride=32)
    log = fit(model, [trainer.Member("task", kinds.get(task_type), rows, rows[:20], hp, labels, task.no_answer)],
              tok, tp, seed=0)

    class D:  # what the tests below read of the task
        pass
    d = D()
    d.labels = labels
    return log, model, rows, tok, hp, d


def test_tagging_loss_falls_and_learns(tiny_model_dir, small_world):
    log, model, rows, tok, hp, d = _train(tiny_model_dir, small_world, "tagging", "udpos", steps=60)
    assert log[-1]["loss"] < 0.7 * log[0]["loss"], log
    preds = prediction.predict(model, rows[:30], tok, hp, d.labels)
    assert kinds.get("tagging").dev_score(rows[:30], preds) > 0.3


def test_classification_and_qa_train_and_predict(tiny_model_dir, small_world):
    log, model, rows, tok, hp, d = _train(tiny_model_dir, small_world, "classification", "mnli", steps=30)
    assert all(r["loss"] > 0 for r in log)
    assert set(prediction.predict(model, rows[:10], tok, hp, d.labels)) <= set(d.labels)
    log, model, rows, tok, hp, d = _train(tiny_model_dir, small_world, "qa", "squad_v1", steps=30)
    preds = prediction.predict(model, rows[:10], tok, hp)
    assert all(p and p in r["context"] for p, r in zip(preds, rows[:10]))  # spans of the context


def test_multiple_choice_trains_and_predicts_a_choice(tiny_model_dir, small_world):
    log, model, rows, tok, hp, _ = _train(tiny_model_dir, small_world, "multiple_choice", "hellaswag", steps=20)
    assert all(len(r["choices"]) == 4 for r in rows) and log
    preds = prediction.predict(model, rows[:12], tok, hp, batch_size=8)
    assert len(preds) == 12 and set(preds) <= {0, 1, 2, 3}
    assert 0 <= kinds.get("multiple_choice").dev_score(rows[:12], preds) <= 1


def test_squad_v2_may_answer_nothing(tiny_model_dir, small_world):
    log, model, rows, tok, hp, _ = _train(tiny_model_dir, small_world, "qa", "squad_v2", steps=20)
    assert any(not r["answers"] for r in rows)  # unanswerable questions reach training
    preds = prediction.predict(model, rows[:20], tok, hp, no_answer=True)
    assert all(p == "" or p in r["context"] for p, r in zip(preds, rows[:20]))
    # without no-answer handling every question gets a span
    assert all(prediction.predict(model, rows[:20], tok, hp, no_answer=False))


def test_training_is_deterministic(tiny_model_dir, small_world):
    a = _train(tiny_model_dir, small_world, "tagging", "udpos", steps=20)[0]
    b = _train(tiny_model_dir, small_world, "tagging", "udpos", steps=20)[0]
    assert [(r["loss"], r["dev_score"]) for r in a] == [(r["loss"], r["dev_score"]) for r in b]


def test_qa_features_point_at_the_answer(tiny_model_dir):
    tok = encoders.load_tokenizer(tiny_model_dir)
    ctx = "Omar reads the book . Maria sees the red dog near the river ."
    row = {"id": "x", "context": ctx, "question": "who sees the red dog ?",
           "answers": [{"text": "Maria", "start": ctx.index("Maria")}]}
    question = len(tok(row["question"], add_special_tokens=False)["input_ids"])
    # ~12 context tokens a window
    hp = config.TaskHparams(batch_size=1, epochs=1, max_seq_length=question + 16, doc_stride=8)
    feats = kinds.get("qa").featurize([row], tok, hp)
    assert len(feats) > 1  # the context is split into overlapping windows
    hits = [f for f in feats if f["start_positions"] > 0]
    assert hits
    for f in hits:
        s, e = f["offsets"][f["start_positions"]], f["offsets"][f["end_positions"]]
        assert ctx[s[0]:e[1]] == "Maria"



# --- multi-task: the sampler, shared encoder, MLM ----------------------------------------------
def test_sampling_weights_formula():
    w = sampling.sampling_weights({"a": 300, "b": 100, "c": 1000}, "proportional", examples_cap=500)
    assert w == pytest.approx({"a": 300 / 900, "b": 100 / 900, "c": 500 / 900})
    assert sampling.sampling_weights({"a": 3, "b": 1}, "uniform") == {"a": 0.5, "b": 0.5}
    t = sampling.sampling_weights({"a": 400, "b": 100}, "temperature", temperature=2.0)
    assert t == pytest.approx({"a": 20 / 30, "b": 10 / 30})  # sqrt: 20 vs 10
    with pytest.raises(ValueError, match="unknown sampler 'roundrobin'"):
        sampling.sampling_weights({"a": 1}, "roundrobin")


def _rows(n, prefix):
    words = ["cat", "dog", "sees", "the", "red", "bird", "Maria"]
    return [{"id": f"{prefix}{i}", "text_a": " ".join(words[(i + k) % 7] for k in range(4)),
             "text_b": words[i % 7], "label": ["entailment", "neutral", "contradiction"][i % 3]} for i in range(n)]


def test_multitask_draws_tasks_in_proportion_and_shares_the_encoder(tiny_model_dir):
    tok = encoders.load_tokenizer(tiny_model_dir)
    encoder = encoders.load_encoder(tiny_model_dir)
    torch.manual_seed(0)
    sizes, cap = {"big": 600, "mid": 200, "small": 40}, 300
    cls = kinds.get("classification")
    model = heads.TaskModel(encoder, {name: (cls, cls.head(encoder.config.hidden_size, 3)) for name in sizes})
    members = [trainer.Member(name, cls, _rows(n, name), _rows(8, name + "-dev"),
                              config.TaskHparams(batch_size=8, epochs=1, max_seq_length=16), tasks.NLI_LABELS)
               for name, n in sizes.items()]
    assert model.encoder is encoder and set(model.heads) == set(sizes)  # one module: one encoder, a head per task
    tp = config.TrainParams(lr=1e-4, warmup_ratio=0.1, weight_decay=0.0, max_grad_norm=1.0,
                            early_stopping_examples=8, eval_every=10_000, patience=10, tasks={})
    log = fit(model, members, tok, tp, seed=3,
              multitask=config.MultitaskParams(sampler="proportional", examples_cap=cap, temperature=1.0))
    drawn = log[-1]["steps_per_task"]
    total = sum(drawn.values())
    # steps: what each task needs for one epoch of its capped examples, batch 8: 38 + 25 + 5
    assert total == 38 + 25 + 5
    expected = sampling.sampling_weights(sizes, "proportional", cap)
    for name, p in expected.items():  # binomial 3-sigma band around the formula
        sd = (total * p * (1 - p)) ** 0.5
        assert abs(drawn[name] - total * p) <= 3 * sd + 1, (drawn, expected)
    assert set(log[-1]["dev_scores"]) == set(sizes)
    assert log[-1]["dev_score"] == pytest.approx(sum(log[-1]["dev_scores"].values()) / 3)


def test_sampler_counts_over_many_draws_match_the_formula(tiny_model_dir):
    """the trainer's draw, counted over enough steps to hold it to 2%."""
    import random
    probs = sampling.sampling_weights({"a": 5000, "b": 1000, "c": 200_000}, "proportional", 2 ** 17)
    draw = random.Random(1)
    counts = {n: 0 for n in probs}
    for _ in range(50_000):
        counts[sampling.draw_member(draw, probs)] += 1
    for n in probs:
        assert counts[n] / 50_000 == pytest.approx(probs[n], abs=0.02)


def test_mlm_member_uses_the_pretrained_head_and_masks(tiny_model_dir):
    tok = encoders.load_tokenizer(tiny_model_dir)
    encoder = encoders.load_encoder(tiny_model_dir)
    if encoders.arch_of(tiny_model_dir) == "mt5":  # span-corruption pretrained: no MLM head to continue
        with pytest.raises(encoders.EncoderLoadError, match="no masked-LM head"):
            encoders.load_mlm_head(tiny_model_dir, encoder)
        return
    head = encoders.load_mlm_head(tiny_model_dir, encoder)
    decoder = head.decoder if hasattr(head, "decoder") else head.predictions.decoder
    assert decoder.weight is encoder.embeddings.word_embeddings.weight  # tied, as XLM-R's and BERT's
    ids = tok("the red dog sees Maria .")["input_ids"]
    gen = torch.Generator().manual_seed(0)
    masked = [mlm_kind.mask_tokens(ids, set(tok.all_special_ids), tok.mask_token_id, len(tok), 0.15, gen)
              for _ in range(50)]
    inputs, labels = torch.tensor([m[0] for m in masked]), torch.tensor([m[1] for m in masked])
    chosen = labels != -100
    assert 0.05 < chosen.float().mean() < 0.3 and not chosen[:, 0].any() and not chosen[:, -1].any()
    assert (inputs[chosen] == tok.mask_token_id).float().mean() > 0.6
    torch.manual_seed(0)
    cls, mlm = kinds.get("classification"), kinds.get("mlm")
    model = heads.TaskModel(encoder, {"nli": (cls, cls.head(encoder.config.hidden_size, 3)), tasks.MLM: (mlm, head)})
    members = [trainer.Member("nli", cls, _rows(64, "n"), _rows(8, "d"),
                              config.TaskHparams(batch_size=8, epochs=1, max_seq_length=16), tasks.NLI_LABELS),
               trainer.Member(tasks.MLM, mlm, [{"id": str(i), "text": "the red dog sees Maria ."} for i in range(64)],
                              [], config.TaskHparams(batch_size=8, epochs=1, max_seq_length=16))]
    tp = config.TrainParams(lr=1e-4, warmup_ratio=0.1, weight_decay=0.0, max_grad_norm=1.0,
                            early_stopping_examples=8, eval_every=10_000, patience=10, tasks={})
    log = fit(model, members, tok, tp, seed=0)
    assert log[-1]["steps_per_task"]["mlm"] > 0 and set(log[-1]["dev_scores"]) == {"nli"}
    # MLM's share of the draws is added on top: NLI still gets its 8 steps in expectation
    assert sum(log[-1]["steps_per_task"].values()) == 16
