"""Tokenizer round trip, strict encoder loading, and a training smoke test where the loss falls."""


import pytest
import torch

from stages import config, data, modeling, tasks, training


@pytest.fixture(scope="module")
def tiny_model_dir(small_world, tmp_path_factory):
    from transformers import XLMRobertaForMaskedLM
    out = tmp_path_factory.mktemp("pretrained")
    tok = modeling.train_sentencepiece(sorted((small_world / "corpus").glob("*.txt")), out, vocab_size=400)
    pp = config.PretrainParams(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64)
    torch.manual_seed(0)
    XLMRobertaForMaskedLM(modeling.tiny_config(pp, len(tok), max_positions=128)).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def test_tokenizer_round_trip(tiny_model_dir):
    tok = modeling.load_tokenizer(tiny_model_dir)
    assert len(tok) > 100  # not the silent 5-token tokenizer of transformers 5's vocab_file route
    ids = tok("Maria sees the red dog .")["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id and tok.unk_token_id not in ids
    assert tok.decode(ids, skip_special_tokens=True) == "Maria sees the red dog ."
    assert tok.convert_tokens_to_ids("<mask>") == len(tok) - 1


def test_encoder_loading_is_strict(tiny_model_dir, tmp_path):
    enc = modeling.load_encoder(tiny_model_dir)  # MLM head dropped on purpose, nothing else
    enc.save_pretrained(str(tmp_path))
    from safetensors.torch import load_file, save_file
    weights = load_file(str(tmp_path / "model.safetensors"))
    victim = next(k for k in weights if "encoder.layer.1" in k)
    del weights[victim]
    save_file(weights, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(modeling.EncoderLoadError, match="missing"):
        modeling.load_encoder(tmp_path)


def _train(tiny_model_dir, small_world, task_type, name, steps=60):
    task = tasks.TASKS[name]
    source = task.train[0]
    ds = data.load_source(source.repo, data.config_name(source, "en", "tiny"), source.split,
                          local_hub=small_world / "hub")
    rows, _ = data.normalize(task, source, ds, "en", "tiny")
    labels = task.labels or ()
    tok = modeling.load_tokenizer(tiny_model_dir)
    training.setup(0, 2)
    model = modeling.TaskModel(modeling.load_encoder(tiny_model_dir), task_type, n_labels=len(labels))
    tp = config.TrainParams(lr=1e-3, warmup_ratio=0.1, weight_decay=0.0, max_grad_norm=1.0,
                            early_stopping_examples=20, eval_every=steps // 3, patience=10, torch_threads=2, tasks={})
    hp = config.TaskHparams(batch_size=16, epochs=steps * 16 / len(rows), max_seq_length=96, doc_stride=32)
    log = training.train(model, task_type, rows, rows[:20], tok, tp, hp, seed=0, labels=labels,
                         no_answer=task.no_answer)

    class D:  # what the tests below read of the task
        pass
    d = D()
    d.labels = labels
    return log, model, rows, tok, hp, d


def test_tagging_loss_falls_and_learns(tiny_model_dir, small_world):
    log, model, rows, tok, hp, d = _train(tiny_model_dir, small_world, "tagging", "udpos", steps=60)
    assert log[-1]["loss"] < 0.7 * log[0]["loss"], log
    preds = training.predict(model, "tagging", rows[:30], tok, hp, d.labels)
    assert training.dev_score("tagging", rows[:30], preds) > 0.3


def test_classification_and_qa_train_and_predict(tiny_model_dir, small_world):
    log, model, rows, tok, hp, d = _train(tiny_model_dir, small_world, "classification", "mnli", steps=30)
    assert all(r["loss"] > 0 for r in log)
    assert set(training.predict(model, "classification", rows[:10], tok, hp, d.labels)) <= set(d.labels)
    log, model, rows, tok, hp, d = _train(tiny_model_dir, small_world, "qa", "squad_v1", steps=30)
    preds = training.predict(model, "qa", rows[:10], tok, hp)
    assert all(p and p in r["context"] for p, r in zip(preds, rows[:10]))  # spans of the context


def test_multiple_choice_trains_and_predicts_a_choice(tiny_model_dir, small_world):
    log, model, rows, tok, hp, _ = _train(tiny_model_dir, small_world, "multiple_choice", "hellaswag", steps=20)
    assert all(len(r["choices"]) == 4 for r in rows) and log
    preds = training.predict(model, "multiple_choice", rows[:12], tok, hp, batch_size=8)
    assert len(preds) == 12 and set(preds) <= {0, 1, 2, 3}
    assert 0 <= training.dev_score("multiple_choice", rows[:12], preds) <= 1


def test_squad_v2_may_answer_nothing(tiny_model_dir, small_world):
    log, model, rows, tok, hp, _ = _train(tiny_model_dir, small_world, "qa", "squad_v2", steps=20)
    assert any(not r["answers"] for r in rows)  # unanswerable questions reach training
    preds = training.predict(model, "qa", rows[:20], tok, hp, no_answer=True)
    assert all(p == "" or p in r["context"] for p, r in zip(preds, rows[:20]))
    # without no-answer handling every question gets a span
    assert all(training.predict(model, "qa", rows[:20], tok, hp, no_answer=False))


def test_training_is_deterministic(tiny_model_dir, small_world):
    a = _train(tiny_model_dir, small_world, "tagging", "udpos", steps=20)[0]
    b = _train(tiny_model_dir, small_world, "tagging", "udpos", steps=20)[0]
    assert [(r["loss"], r["dev_score"]) for r in a] == [(r["loss"], r["dev_score"]) for r in b]


def test_qa_features_point_at_the_answer(tiny_model_dir):
    tok = modeling.load_tokenizer(tiny_model_dir)
    ctx = "Omar reads the book . Maria sees the red dog near the river ."
    row = {"id": "x", "context": ctx, "question": "who sees the red dog ?",
           "answers": [{"text": "Maria", "start": ctx.index("Maria")}]}
    hp = config.TaskHparams(batch_size=1, epochs=1, max_seq_length=40, doc_stride=8)
    feats = training.featurize("qa", [row], tok, hp)
    assert len(feats) > 1  # the context is split into overlapping windows
    hits = [f for f in feats if f["start_positions"] > 0]
    assert hits
    for f in hits:
        s, e = f["offsets"][f["start_positions"]], f["offsets"][f["end_positions"]]
        assert ctx[s[0]:e[1]] == "Maria"

