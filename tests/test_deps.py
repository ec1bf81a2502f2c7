"""Every stage's code deps in dvc.yaml are exactly the code its command can run (issue 16), and the
stages that do no tensor work start without torch."""
import hashlib
import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

from xstilts.core import manifests as deps


def test_every_stage_depends_on_its_own_scripts_manifest():
    assert deps.check() == []


@pytest.fixture
def copy(tmp_path):
    for part in ("stages", "xstilts", "data/languages.csv", "benchmarks/throughput.csv", "dvc.yaml"):
        src, dst = ROOT / part, tmp_path / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst, **({"ignore": shutil.ignore_patterns(
            "__pycache__")} if src.is_dir() else {}))
    return tmp_path


def manifests(root) -> dict[str, dict]:
    return {s: json.loads(deps.manifest_text(s, root))["files"] for s in deps.scripts(root)}


def test_a_manifest_holds_every_file_of_the_closure_with_its_md5(copy):
    files = json.loads(deps.manifest_text("stages/report.py", copy))["files"]
    assert "xstilts/report/templates/report.tex.j2" in files and "data/languages.csv" in files
    assert ({f for f in files if f.endswith(".py")}
            == {f for f in deps.closure("stages/report.py", copy) if f.endswith(".py")})
    assert files["stages/report.py"] == hashlib.md5((copy / "stages/report.py").read_bytes()).hexdigest()


def test_an_import_added_to_a_stage_reaches_its_manifest_and_no_other(copy):
    before = manifests(copy)
    script = copy / "stages/finetune.py"
    anchor = "from xstilts.core import stage\n"
    script.write_text(script.read_text().replace(anchor, f"{anchor}from xstilts.experiments import cost\n", 1))
    after = manifests(copy)
    assert [s for s in after if after[s] != before[s]] == ["stages/finetune.py"]
    assert set(after["stages/finetune.py"]) - set(before["stages/finetune.py"]) == {
        "xstilts/experiments/cost.py", "xstilts/experiments/__init__.py", "benchmarks/throughput.csv",
        "benchmarks/gpu.csv"}
    # gpu.csv exists only after a GPU run: counted as absent, so creating it reruns what reads it
    assert after["stages/finetune.py"]["benchmarks/gpu.csv"] == "absent"


def test_an_import_deep_in_the_library_reaches_every_stage_that_runs_it(copy):
    before = manifests(copy)
    base = copy / "xstilts/kinds/base.py"
    base.write_text(base.read_text().replace("import json\n", "import json\n\nfrom xstilts.claims import languages\n",
                                             1))
    after = manifests(copy)
    assert {s for s in after if after[s] != before[s]} == {  # not world, report, code: they run no kind
        f"stages/{n}.py" for n in ("prepare", "prepare_intermediate", "translate_intermediate", "translate_train",
                                   "pretrain", "intermediate", "finetune", "retrieve", "score")}  # pretrain: MLM


def test_editing_the_report_reaches_no_training_stage(copy):
    before = manifests(copy)
    report = copy / "xstilts/report/document.py"
    report.write_text(report.read_text() + "\n# an edit\n")
    after = manifests(copy)
    assert [s for s in after if after[s] != before[s]] == ["stages/report.py"]


def test_a_stage_that_lists_code_by_hand_or_another_manifest_is_reported(copy):
    text = (copy / "dvc.yaml").read_text()
    (copy / "dvc.yaml").write_text(text.replace("deps: [data/code/world.json]",
                                                "deps: [data/code/world.json, xstilts/world]")
                                   .replace("deps: [data/code/pretrain.json,", "deps: [data/code/prepare.json,"))
    problems = deps.check(copy / "dvc.yaml")
    assert len(problems) == 2 and problems[0].startswith("world: lists code files by hand (xstilts/world)")
    assert problems[1].startswith("pretrain: its code dep must be data/code/pretrain.json")


UPPER_PACKAGES = ("xstilts/claims/", "xstilts/experiments/", "xstilts/report/")   # above data, train and eval


def test_training_depends_on_no_claims_experiments_or_report_nor_the_report_on_training():
    for script in ("stages/pretrain.py", "stages/intermediate.py", "stages/finetune.py", "stages/retrieve.py",
                   "stages/score.py"):
        assert not [f for f in deps.closure(script) if f.startswith(UPPER_PACKAGES)], script
    assert not [f for f in deps.closure("stages/report.py") if f.startswith(("xstilts/train/", "xstilts/model/"))]


def test_cheap_stages_import_no_torch():
    """The modules behind prepare, translate, score and report load without torch or transformers
    (the skip paths of finetune and retrieve import them only after deciding to work)."""
    code = ("import sys\n"
            "import xstilts.data.prepare, xstilts.data.translate, xstilts.eval.summary, xstilts.report.document\n"
            "import xstilts.report.figures\n"
            "import xstilts.train.curves, xstilts.data.read_prepared, xstilts.world.generate\n"
            "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_skipped_target_runs_without_torch(tmp_path):
    """A target outside the benchmark: prepare, translate_train, finetune and retrieve skip in a
    process that never imports torch."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    for cmd in (["stages/prepare.py", "xcopa"], ["stages/translate_train.py", "xcopa"],
                ["stages/finetune.py", "--arm", "baseline", "--task", "xcopa"],
                ["stages/prepare.py", "lareqa"], ["stages/retrieve.py", "--arm", "baseline", "--task", "lareqa"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / cmd[0]), *cmd[1:]], cwd=tmp_path,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "| torch" not in proc.stderr and "| transformers" not in proc.stderr, cmd
        assert "skipped" in proc.stdout, proc.stdout
    assert (tmp_path / "data/predictions/baseline/xcopa/skipped.json").exists()
    assert (tmp_path / "reports/curves/loss/finetune-baseline-xcopa.csv").read_text() == "run,step,loss\n"


# claims (claims, judge, families, answers, languages) read runs and answer; experiments (results, matching,
# planning, grid, queue, slurm, remote, cost, preflight) find and run them for the claims; the report shows both
LAYERS = {"core": 0, "metrics": 1, "model": 1, "world": 1, "kinds": 2, "data": 3, "train": 3, "eval": 3,
          "claims": 4, "experiments": 5, "report": 6, "cli": 7}


def test_layers_import_one_way():
    """Each xstilts package imports only packages of its own layer or below (README "Layout"), and the
    packages' import graph has no cycle."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "xstilts").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("").parts
        if len(rel) < 2:
            continue
        here = rel[1]
        for dotted in deps.imported_modules(path.read_text()):
            there = dotted.split(".")[1] if "." in dotted else None
            if there in LAYERS and there != here:
                assert LAYERS[there] <= LAYERS[here], f"{path.relative_to(ROOT)} imports {dotted}"
                graph.setdefault(here, set()).add(there)
    done = set()

    def visit(node, trail):
        assert node not in trail, f"import cycle: {' -> '.join([*trail, node])}"
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, [*trail, node])
        done.add(node)
    for node in graph:
        visit(node, [])


def test_dvc_reads_params_with_the_c_yaml_parser():
    """DVC parses params.yaml once per stage with ruamel.yaml's safe loader; without ruamel.yaml.clib
    that is pure Python, and `dvc status` takes 1.7x as long (benchmarks/dvc_overhead.py)."""
    from ruamel.yaml import YAML  # what dvc/utils/serialize/_yaml.py parses with, typ="safe"
    from ruamel.yaml.main import CParser

    assert CParser is not None and YAML(typ="safe").Parser is CParser, "pip install ruamel.yaml.clib"
