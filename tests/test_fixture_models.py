"""The paper profile's loading path on random-weight stand-ins of its Hub encoders
(xstilts/model/fixtures.py): each architecture's folder, laid out as `hf download` leaves it, goes
through pretrain_paper (local_models) and then the strict encoder load, the tokenizer, the MLM head
and a forward pass, as the downstream stages take it. One model per architecture; no network."""
import dataclasses
import json
import types
from pathlib import Path

import pytest
import torch
import yaml

from xstilts.core import config
from xstilts.model import encoders, fixtures
from xstilts.train import pretrain

ROOT = Path(__file__).resolve().parent.parent
ONE_PER_ARCH = ["xlm-roberta-large", "mbert", "mt5-small"]
SENTENCES = ["Hello world", "Привет мир 你好"]
TOKENIZER_FILES = {"xlmr": {"sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json"},
                   "bert": {"vocab.txt", "tokenizer.json", "tokenizer_config.json"},
                   "mt5": {"spiece.model", "tokenizer.json", "tokenizer_config.json"}}
ARCHITECTURES = {"xlmr": "XLMRobertaForMaskedLM", "bert": "BertForMaskedLM", "mt5": "MT5ForConditionalGeneration"}


def paper_specs() -> dict:
    """The paper registry of the real params.yaml."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = config.validate({**raw, "profile": "paper"})
    return {name: params.model_spec(name) for name in raw["paper"]["models"]}


@pytest.fixture(scope="module")
def hub_copies(tmp_path_factory):
    """One fixture folder per architecture, under a directory laid out as local_models expects."""
    out = tmp_path_factory.mktemp("local_models")
    specs = paper_specs()
    records = fixtures.write_models(out, specs, seed=0, only=ONE_PER_ARCH)
    return out, specs, {r["name"]: r for r in records}


def test_fixture_folders_look_like_hub_copies(hub_copies):
    out, specs, records = hub_copies
    assert sorted(records) == sorted(ONE_PER_ARCH)
    for name, rec in records.items():
        spec = specs[name]
        folder = out / spec.hub
        assert rec["path"] == str(folder) and rec["hub"] == spec.hub and rec["arch"] == spec.arch, rec
        assert rec["num_layers"] == (getattr(spec, "num_layers", None) or 2), rec
        files = {p.name for p in folder.iterdir()}
        assert {"config.json", "model.safetensors"} | TOKENIZER_FILES[spec.arch] <= files, f"{name}: {files}"
        cfg = json.loads((folder / "config.json").read_text())
        assert cfg["architectures"] == [ARCHITECTURES[spec.arch]], cfg["architectures"]
        assert cfg.get("num_hidden_layers", cfg.get("num_layers")) == rec["num_layers"], cfg
    # no temp or half-written folders beside the models
    leftovers = [p for p in out.rglob("*") if ".tmp-" in p.name or ".old-" in p.name]
    assert not leftovers, leftovers


def test_xlmr_and_bert_keep_their_conventions(hub_copies):
    from transformers import AutoConfig, AutoTokenizer
    out, specs, _ = hub_copies
    xlmr = AutoConfig.from_pretrained(out / specs["xlm-roberta-large"].hub)
    assert (xlmr.max_position_embeddings, xlmr.type_vocab_size, xlmr.pad_token_id, xlmr.bos_token_id,
            xlmr.eos_token_id, xlmr.layer_norm_eps) == (514, 1, 1, 0, 2, 1e-5), xlmr
    tok = AutoTokenizer.from_pretrained(out / specs["xlm-roberta-large"].hub)
    assert type(tok).__name__ == "XLMRobertaTokenizer" and tok.convert_tokens_to_ids("<mask>") == len(tok) - 1
    assert len(tok) == xlmr.vocab_size and 500 <= len(tok) <= 1000, len(tok)
    bert = AutoConfig.from_pretrained(out / specs["mbert"].hub)
    assert (bert.max_position_embeddings, bert.type_vocab_size, bert.pad_token_id) == (512, 2, 0), bert
    tok = AutoTokenizer.from_pretrained(out / specs["mbert"].hub)
    assert type(tok).__name__ == "BertTokenizer" and len(tok) == bert.vocab_size, (type(tok), len(tok))
    assert tok.tokenize("Maria") != ["maria"], "mBERT's vocabulary is cased"


def test_mt5_is_the_full_untied_model_with_t5_ids(hub_copies):
    from safetensors import safe_open
    from transformers import AutoConfig, AutoTokenizer
    out, specs, _ = hub_copies
    folder = out / specs["mt5-small"].hub
    cfg = AutoConfig.from_pretrained(folder)
    assert json.loads((folder / "config.json").read_text())["tie_word_embeddings"] is False
    assert (cfg.feed_forward_proj, cfg.d_model, cfg.d_kv, cfg.num_heads, cfg.num_decoder_layers) == \
        ("gated-gelu", 32, 16, 2, 1), cfg
    with safe_open(folder / "model.safetensors", "pt") as f:
        keys = set(f.keys())
        assert "lm_head.weight" in keys and any(k.startswith("decoder.") for k in keys), sorted(keys)[:5]
        assert not f.get_tensor("lm_head.weight").equal(f.get_tensor("shared.weight")), "the head must be untied"
    tok = AutoTokenizer.from_pretrained(folder)
    assert type(tok).__name__ == "T5Tokenizer", type(tok)
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.bos_token_id) == (0, 1, 2, None)
    assert 500 <= len(tok) <= cfg.vocab_size and cfg.vocab_size % 128 == 0, (len(tok), cfg.vocab_size)
    assert tok("Hello world")["input_ids"][-1] == 1, "T5 ends each sequence with </s>"


@pytest.mark.parametrize("name", ONE_PER_ARCH)
def test_pretrain_paper_then_downstream_loading(hub_copies, tmp_path, name):
    out, specs, records = hub_copies
    spec, rec = specs[name], records[name]
    pp = types.SimpleNamespace(local_models=str(out))
    pretrained = tmp_path / "pretrained"
    info = pretrain.pretrain_paper(pp, spec, pretrained)
    assert info["arch"] == spec.arch, info
    assert info["parameters"] == rec["parameters"], (info["parameters"], rec["parameters"])

    encoder = encoders.load_encoder(pretrained)   # strict: raises on any missing/unexpected weight
    assert sum(p.numel() for p in encoder.parameters()) == rec["parameters"]
    assert encoder.config.num_hidden_layers == rec["num_layers"]
    tokenizer = encoders.load_tokenizer(pretrained)
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    unk = tokenizer.unk_token_id
    assert any(i != unk for i in batch["input_ids"][1].tolist() if i not in tokenizer.all_special_ids), \
        f"{name}: the non-Latin sentence is all <unk>"
    encoder.eval()
    with torch.inference_mode():
        states = encoder(**batch, output_hidden_states=True).hidden_states
    assert len(states) == rec["num_layers"] + 1, len(states)
    assert states[-1].shape[:2] == batch["input_ids"].shape and torch.isfinite(states[-1]).all()
    if rec["num_layers"] >= spec.retrieval_layer:   # params.yaml with the real depths
        assert states[spec.retrieval_layer].shape[-1] == 32

    if spec.arch == "mt5":
        with pytest.raises(encoders.EncoderLoadError):
            encoders.load_mlm_head(pretrained, encoder)
    else:
        head = encoders.load_mlm_head(pretrained, encoder)
        with torch.inference_mode():
            logits = head(states[-1])
        assert logits.shape[-1] == len(tokenizer), logits.shape


def folder_bytes(folder) -> dict:
    return {f.name: f.read_bytes() for f in sorted(Path(folder).iterdir())}


def test_same_seed_same_bytes_and_rewrite_in_place(tmp_path):
    specs = paper_specs()
    first = fixtures.write_models(tmp_path / "a", specs, seed=3, only=["xlm-roberta-large"])[0]
    again = fixtures.write_models(tmp_path / "b", specs, seed=3, only=["xlm-roberta-large"])[0]
    other = fixtures.write_models(tmp_path / "c", specs, seed=4, only=["xlm-roberta-large"])[0]
    written = [folder_bytes(r["path"]) for r in (first, again, other)]
    assert written[0]["model.safetensors"] == written[1]["model.safetensors"], \
        "the same seed must give byte-identical weights"
    different = [name for name in written[0] if written[0][name] != written[1][name]]
    assert not different, f"the same seed gave other bytes in {different} (tokenizer files included)"
    assert written[0]["model.safetensors"] != written[2]["model.safetensors"], "another seed must give other weights"
    # writing over an existing copy replaces it whole, leaving nothing beside it
    fixtures.write_models(tmp_path / "a", specs, seed=4, only=["xlm-roberta-large"])
    assert folder_bytes(first["path"]) == written[2]
    assert [p.name for p in Path(first["path"]).parent.iterdir()] == [Path(first["path"]).name]


def test_specs_sharing_a_repo_are_written_once(tmp_path):
    specs = paper_specs()
    twin = dataclasses.replace(specs["mbert"], retrieval_layer=4)
    records = fixtures.write_models(tmp_path, {"mbert": specs["mbert"], "mbert-twin": twin})
    assert [r["name"] for r in records] == ["mbert", "mbert-twin"]
    assert records[0]["path"] == records[1]["path"] and records[0]["parameters"] == records[1]["parameters"]
    with pytest.raises(KeyError):
        fixtures.write_models(tmp_path, specs, only=["no-such-model"])
