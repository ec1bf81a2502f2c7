"""Same corpus, same tokenizer bytes: the tiny profile's tokenizers (xstilts/model/tokenizers.py) are
trained in separate processes that differ in everything that must not matter (hash seed, thread
counts, the output folder's name, as the pipeline's staging folders carry a process id) and their
files are compared byte for byte. Before the fix, `tokenizers`' WordPiece trainer numbered the "##c"
units in Rust HashMap order (randomly seeded per process), so vocab.txt differed run to run; and
the SentencePiece model recorded its output path (the PID-named staging folder) in its trainer_spec."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRAIN = """
import sys
from pathlib import Path
from xstilts.model import tokenizers
corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
for kind, train in (("bert", tokenizers.train_wordpiece), ("xlmr", tokenizers.train_sentencepiece)):
    tok = train(sorted(corpus.glob("*.txt")), out / kind, 400)
    tok.save_pretrained(str(out / kind))   # as xstilts/train/pretrain.py saves it
"""

# what differs between the two processes; the trainers' results must not depend on any of it
SETTINGS = [
    {"PYTHONHASHSEED": "1", "RAYON_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"},
    {"PYTHONHASHSEED": "4242", "RAYON_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "true", "OMP_NUM_THREADS": "2"},
]


def train_twice(corpus: Path, tmp_path: Path) -> list[Path]:
    """Two processes at once, each training both tokenizers into its own staging-like folder."""
    outs = [tmp_path / f"pretrained.tmp-{pid}" for pid in (7, 123456)]
    procs = []
    for out, setting in zip(outs, SETTINGS):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **setting}
        procs.append(subprocess.Popen([sys.executable, "-c", TRAIN, str(corpus), str(out)], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"tokenizer training failed:\n{stdout[-2000:]}\n{stderr[-4000:]}"
    return outs


def test_tokenizer_bytes_do_not_depend_on_the_process(small_world, tmp_path):
    a, b = train_twice(small_world / "corpus", tmp_path)
    differing = []
    for kind, model_file in (("bert", "vocab.txt"), ("xlmr", "sentencepiece.bpe.model")):
        names = sorted(p.name for p in (a / kind).iterdir())
        assert {model_file, "tokenizer.json", "tokenizer_config.json"} <= set(names)
        assert names == sorted(p.name for p in (b / kind).iterdir())
        differing += [f"{kind}/{n}" for n in names if (a / kind / n).read_bytes() != (b / kind / n).read_bytes()]
    assert not differing, f"not byte-identical across processes: {differing}"


def test_wordpiece_units_have_fixed_ids(small_world, tmp_path):
    """The five special tokens, then the characters, then the "##c" continuations, each by code point:
    the order the fix hands to the trainer (its merges break ties by these ids)."""
    from xstilts.model import tokenizers
    tokenizers.train_wordpiece(sorted((small_world / "corpus").glob("*.txt")), tmp_path, 400)
    vocab = (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    singles = [t for t in vocab[5:] if len(t) == 1 or (t.startswith("##") and len(t) == 3)]
    chars = [t for t in singles if len(t) == 1]
    continued = [t for t in singles if t.startswith("##")]
    assert vocab[5:5 + len(singles)] == chars + continued   # one block, before every merged piece
    assert chars == sorted(chars) and continued == sorted(continued)
