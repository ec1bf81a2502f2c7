"""Does the tiny world's pretraining align its languages? A side-by-side probe of world and
pretraining variants, without the pipeline (issue 28; docs/world.md "Transfer: what we measured").

Each variant writes the world's pretraining corpus (xstilts/world/generate.py `corpus`, with the
variant's tiny.world overrides), trains the SentencePiece tokenizer and a tiny XLM-R masked LM
from scratch (a plain AdamW loop with the project's masker and packing, not the stage's trainer:
no checkpoints, no accelerate), then measures alignment directly, as Dufter & Schuetze (2020) do:
  sent@1  Tatoeba-style retrieval: 300 fresh frames rendered in English and in the language,
          mean-pooled hidden_states[layer], centred per language, nearest neighbour = translation?
  word@1  each concept's input embedding: is its nearest English concept its translation?
  nli     zero-shot NLI (with --nli): a head on <s> fine-tuned with the encoder on the world's English
          NLI pairs (twins.nli_items, 4,000 as XNLI's train split), accuracy on 600 fresh pairs in each
          language (chance 33.3 %): the pipeline's XNLI in miniature.
Zero-shot transfer needs both far above chance (sent@1 chance = 0.3 %).

    python benchmarks/transfer_probe.py --steps 1500 \\
        "default" "cs=0.5 code_switch_rate=0.5" "small hidden_size=32"

A variant is `name key=value ...`; keys: any tiny.world field,
hidden_size, num_layers, num_heads, intermediate_size, lr, batch_size, and parallel=1 (every language's corpus
renders the same frames: corpora that are translations of each other). Dict fields as
cognate_share=qa:0.8,qb:0.7,... (the languages not named: 0).
Prints one row per variant, one run.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from xstilts.core import config, tasks  # noqa: E402
from xstilts.kinds.mlm import mask_tokens  # noqa: E402
from xstilts.model import encoders, tokenizers  # noqa: E402
from xstilts.train.pretrain import pack  # noqa: E402
from xstilts.world import grammar  # noqa: E402
from xstilts.world.generate import corpus, make_renderers  # noqa: E402

LANGUAGES = list(tasks.WORLD_LANGUAGES)
MODEL_KEYS = {"hidden_size": int, "num_layers": int, "num_heads": int, "intermediate_size": int, "lr": float,
              "batch_size": int}


def variant(text: str, world, spec, pretrain) -> tuple[str, object, object, dict]:
    name, *pairs = text.split()
    world, spec = dict(vars(world)), dict(vars(spec))
    train = {"lr": pretrain.lr, "batch_size": pretrain.batch_size, "parallel": False}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key in ("corpus_share", "cognate_share"):
            world[key] = {k: float(v) for k, v in (item.split(":") for item in value.split(","))}
        elif key in world:
            world[key] = type(world[key])(value) if world[key] is not None else value
        elif key in ("lr", "batch_size"):
            train[key] = MODEL_KEYS[key](value)
        elif key == "parallel":
            train[key] = value == "1"
        elif key in MODEL_KEYS:
            spec[key] = MODEL_KEYS[key](value)
        else:
            raise SystemExit(f"unknown key '{key}' in variant '{name}': tiny.world fields "
                             f"{sorted(world)}, or {sorted(MODEL_KEYS)}, or parallel")
    return name, types.SimpleNamespace(**world), types.SimpleNamespace(**spec), train


def pretrain(world, spec, train: dict, steps: int, seed: int, folder: Path):
    renderers = make_renderers(world, LANGUAGES)
    files = []
    for code, r in renderers.items():
        files.append(folder / f"{code}.txt")
        files[-1].write_text("\n".join(corpus(code, r, world, train["parallel"])) + "\n", encoding="utf-8")
    tok = tokenizers.train_sentencepiece(files, folder / "tokenizer", 1000)
    sequences = pack(tok, files, 64, seed)
    torch.manual_seed(seed)
    mlm = encoders.tiny_masked_lm(spec, tok, max_positions=256)
    optimizer = torch.optim.AdamW(mlm.parameters(), lr=train["lr"], weight_decay=0.01)
    warmup = max(1, int(0.06 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) * (steps - s) / steps)
    special, gen, order = set(tok.all_special_ids), torch.Generator().manual_seed(seed), random.Random(seed)
    indices, position, losses = list(range(len(sequences))), len(sequences), []
    mlm.train()
    for _ in range(steps):
        if position + train["batch_size"] > len(indices):
            order.shuffle(indices)
            position = 0
        batch = [sequences[i] for i in indices[position:position + train["batch_size"]]]
        position += train["batch_size"]
        width = max(map(len, batch))
        inputs, labels, attention = [], [], []
        for ids in batch:
            masked, label = mask_tokens(ids, special, tok.mask_token_id, len(tok), 0.15, gen)
            pad = width - len(ids)
            inputs.append(masked + [tok.pad_token_id] * pad)
            labels.append(label + [-100] * pad)
            attention.append([1] * len(ids) + [0] * pad)
        loss = mlm(input_ids=torch.tensor(inputs), attention_mask=torch.tensor(attention),
                   labels=torch.tensor(labels)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(mlm.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return mlm.roberta, tok, renderers, sum(losses[-50:]) / min(50, len(losses))


def alignment(encoder, tok, renderers, layer: int) -> dict[str, tuple[float, float]]:
    """{language: (sent@1, word@1)} against English, in percent."""
    rng = random.Random(99)
    frames = [grammar.random_frame(rng) for _ in range(300)]

    def sentences(code):
        vectors = encoders.embed(encoder, tok, [grammar.text_of(renderers[code].sentence(f)) for f in frames],
                                 layer, "mean", 64, 128)
        return torch.nn.functional.normalize(vectors - vectors.mean(0), dim=-1)

    def words(code):
        table = encoder.embeddings.word_embeddings.weight.detach()
        out = {}
        for concept in renderers[code].lex:
            ids = tok(renderers[code].word(concept), add_special_tokens=False)["input_ids"]
            if ids:
                out[concept] = table[ids].mean(0)
        return out

    english, english_words = sentences("en"), words("en")
    result = {}
    for code in LANGUAGES[1:]:
        hits = (sentences(code) @ english.T).argmax(1) == torch.arange(len(frames))
        own = words(code)
        common = [c for c in own if c in english_words]
        e = torch.nn.functional.normalize(torch.stack([english_words[c] for c in common]), dim=-1)
        x = torch.nn.functional.normalize(torch.stack([own[c] for c in common]), dim=-1)
        word_hits = (x @ e.T).argmax(1) == torch.arange(len(common))
        result[code] = (100 * hits.float().mean().item(), 100 * word_hits.float().mean().item())
    return result


def zero_shot_nli(encoder, tok, renderers, seed: int, epochs: int = 2, lr: float = 3e-4) -> dict[str, float]:
    """{language: accuracy in %} of an NLI head trained on English only (batch 32, linear decay)."""
    from xstilts.world.twins import nli_items, nli_rows

    train = nli_rows(renderers["en"], nli_items(seed, "probe-nli-train", 4000))
    test = nli_items(seed, "probe-nli-test", 600)
    torch.manual_seed(seed)
    head = torch.nn.Linear(encoder.config.hidden_size, 3)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * (len(train) // 32)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: (steps - s) / steps)
    order = random.Random(seed)

    def logits(rows):
        enc = tok([r["premise"] for r in rows], [r["hypothesis"] for r in rows], padding=True, truncation=True,
                  max_length=64, return_tensors="pt")
        return head(encoder(**enc).last_hidden_state[:, 0])

    encoder.train()
    for _ in range(epochs):
        order.shuffle(train)
        for k in range(0, len(train) - 31, 32):
            batch = train[k:k + 32]
            loss = torch.nn.functional.cross_entropy(logits(batch), torch.tensor([r["label"] for r in batch]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    encoder.eval()
    out = {}
    with torch.inference_mode():
        for code, r in renderers.items():
            rows = nli_rows(r, test)
            predicted = torch.cat([logits(rows[k:k + 128]).argmax(-1) for k in range(0, len(rows), 128)])
            out[code] = 100 * (predicted == torch.tensor([row["label"] for row in rows])).float().mean().item()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", help="'name key=value ...'")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nli", action="store_true", help="also zero-shot NLI (adds about a minute a variant)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    encoders.quiet_transformers()
    params = config.load()
    base_world, base_spec, base_pretrain = params.world(), params.model_spec(), params.group("pretrain")
    rows = []
    for text in args.variants:
        name, world, spec, train = variant(text, base_world, base_spec, base_pretrain)
        start = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            encoder, tok, renderers, loss = pretrain(world, spec, train, args.steps, args.seed, Path(tmp))
            seconds = time.time() - start
            scores = alignment(encoder, tok, renderers, max(1, spec.num_layers // 2))
            nli = zero_shot_nli(encoder, tok, renderers, args.seed) if args.nli else {}
        rows.append((name, seconds, loss, scores, nli))
        print(f"done {name}: {seconds:.0f} s", file=sys.stderr)
    header = f"{'variant':24} {'train s':>7} {'mlm loss':>8} " + " ".join(f"{c + ' s/w':>9}" for c in LANGUAGES[1:])
    print(header)
    for name, seconds, loss, scores, _ in rows:
        cells = " ".join(f"{scores[c][0]:4.0f}/{scores[c][1]:<4.0f}" for c in LANGUAGES[1:])
        print(f"{name:24} {seconds:7.0f} {loss:8.3f} {cells}")
    if args.nli:
        print(f"\n{'zero-shot NLI acc %':24} " + " ".join(f"{c:>6}" for c in LANGUAGES))
        for name, *_, nli in rows:
            print(f"{name:24} " + " ".join(f"{nli[c]:6.1f}" for c in LANGUAGES))


if __name__ == "__main__":
    main()
