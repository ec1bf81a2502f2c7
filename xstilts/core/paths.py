"""Every path of the pipeline's layout, in one place (relative to the repository root, where
dvc runs the stages). dvc.yaml names the same paths as the stages' deps and outs."""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent   # the installed xstilts package
REPO = PACKAGE.parent                               # the repository (editable install)

PARAMS_FILE = Path("params.yaml")
DVC_YAML = Path("dvc.yaml")
DVC_LOCK = Path("dvc.lock")
CLAIMS_FILE = Path("claims.yaml")
FAMILIES_FILE = Path("families.yaml")
LANGUAGES_CSV = REPO / "data" / "languages.csv"            # git-tracked language metadata
THROUGHPUT_CSV = REPO / "benchmarks" / "throughput.csv"    # measured GPU throughput (cost estimates)
GPU_CSV = REPO / "benchmarks" / "gpu.csv"                  # the trainer measured on a GPU (preferred when present)

# data/
WORLD = Path("data/world")                 # the embedded synthetic world (profile tiny)
WORLD_HUB = WORLD / "hub"                  # ... as a local mirror in the Hub's parquet layout
WORLD_CORPUS = WORLD / "corpus"            # ... its pretraining corpus, <code>.txt
LEXICON = WORLD / "lexicon.json"           # ... its English -> language dictionaries
PREPARED = Path("data/prepared")           # canonical rows per task
INTERMEDIATE_DIR = "intermediate"          # the intermediate data's folder name under prepared/ and translated/
LABELS = Path("data/labels")               # gold labels in the leaderboard layout
TRANSLATED = Path("data/translated")       # translate-train data and translated intermediate data
TRANSLATE_CACHE = Path("data/.translate_cache")
PREDICTIONS = Path("data/predictions")     # predictions in the leaderboard layout, per arm

# models/
PRETRAINED = Path("models/pretrained")
PRETRAIN_INFO = PRETRAINED / "pretrain_info.json"
INTERMEDIATE_MODELS = Path("models/intermediate")

# reports/
REPORTS = Path("reports")
METRICS = REPORTS / "metrics.json"                # the headline numbers (`dvc exp show`)
METRICS_BY_LANGUAGE = REPORTS / "metrics_by_language.json"   # the rest: per-language scores and gains
SCORES = REPORTS / "scores.json"
BY_SPLIT = REPORTS / "metrics_by_split.json"
GRID_FILE = REPORTS / "grid.json"
FIGURES = REPORTS / "figures"
CURVES = REPORTS / "curves"

# outside every DVC out (git- and dvc-ignored): resumable state and what each stage cost
STAGING = Path(".staging")                 # outputs being written (xstilts/core/io.py): outside every DVC dep,
                                           # renamed into place when complete
CHECKPOINTS = Path(".checkpoints")         # <stage>/<run>-<inputs hash>/: resumable training state
TRAINED = CHECKPOINTS / "trained"          # <inputs hash>/: a trained model two stages share (SQuAD: XQuAD, MLQA)
COSTS = Path("logs/costs")                 # <stage>.json: wall time, device, processes, tokens; and
                                           # experiments/<baseline>/<name>/<stage>.json for DVC experiments
SLURM_DIR = Path(".dvc/tmp/xstilts-slurm")  # `xstilts grid --slurm`: scripts, jobs.json, task logs, work dirs

TRAIN_LOG = "train_log.json"
META = "meta.json"
SKIPPED = "skipped.json"
ARMS = ("baseline", "intermediate")


def prepared(task: str) -> Path:
    return PREPARED / task


def translated(task: str) -> Path:
    return TRANSLATED / task


def labels(task: str) -> Path:
    return LABELS / task


def predictions(arm: str, task: str | None = None) -> Path:
    return PREDICTIONS / arm if task is None else PREDICTIONS / arm / task


def encoder(arm: str) -> Path:
    """The encoder an arm's phase (iii) starts from: models/intermediate/<arm>."""
    return INTERMEDIATE_MODELS / arm


def curve(kind: str, name: str) -> Path:
    """reports/curves/<loss|dev>/<name>.csv"""
    return CURVES / kind / f"{name}.csv"


def rows(folder: Path, part: str) -> Path:
    """A prepared or translated folder's training rows: <folder>/<train|dev>.jsonl"""
    return Path(folder) / f"{part}.jsonl"


def eval_rows(folder: Path, split: str, lang: str) -> Path:
    """<folder>/eval/<split>-<lang>.jsonl"""
    return Path(folder) / "eval" / f"{split}-{lang}.jsonl"


def pool_rows(folder: Path, split: str) -> Path:
    """<folder>/eval/<split>-pool.jsonl: the candidate pool every language shares (LAReQA, Mewsli-X)"""
    return Path(folder) / "eval" / f"{split}-pool.jsonl"


# The code each stage runs: stage `code` writes data/code/<script>.json (xstilts/core/manifests.py).
CODE_STAGE = "code"
CODE_MANIFESTS = Path("data/code")
