"""`xstilts dry`: what `dvc repro` / `dvc exp run -S` would run, where DVC 3.67's own `--dry` crashes."""
import pytest
from conftest import run, trimmed_repo

from xstilts.core import dryrun

PIPELINE = """stages:
  first:
    cmd: cp in.txt mid.txt
    deps: [in.txt]
    outs: [mid.txt]
  second:
    cmd: cp mid.txt out.txt && echo ${p} >> out.txt
    deps: [mid.txt]
    params: [p]
    outs: [out.txt]
  third:
    cmd: cp out.txt end.txt
    deps: [out.txt]
    outs: [end.txt]
"""


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "in.txt").write_text("a\n")
    (tmp_path / "params.yaml").write_text("p: 1\n")
    (tmp_path / "dvc.yaml").write_text(PIPELINE)
    run("git init -q -b main && git config user.email t@t && git config user.name t && dvc init -q && "
        "git add -A && git commit -qm init", tmp_path)
    return tmp_path


def test_dvc_own_dry_run_crashes_on_a_missing_input(toy):
    """The upstream bug the listing works around (treeverse/dvc#9818). When this test fails, DVC's
    `--dry` works again: drop `dryrun.missing_inputs_are_uncached` and point the docs at DVC's own."""
    fresh = run(["dvc", "repro", "--dry"], toy, check=False)
    assert fresh.returncode != 0 and "No such file or directory" in fresh.stdout + fresh.stderr
    run(["dvc", "repro"], toy)
    run("git add -A && git commit -qm repro", toy)
    exp = run(["dvc", "exp", "run", "--dry", "-S", "p=2"], toy, check=False)
    assert exp.returncode != 0 and "No such file or directory" in exp.stdout + exp.stderr


def test_listing_on_a_fresh_clone_and_with_overrides(toy):
    assert dryrun.listing(root=toy) == ["first", "second", "third"]
    assert not (toy / "mid.txt").exists(), "a dry run writes nothing"
    run(["dvc", "repro"], toy)
    run("git add -A && git commit -qm repro", toy)
    assert dryrun.listing(root=toy) == []
    # p reruns `second` and what reads its output; `first` is untouched; the workspace keeps p=1
    assert dryrun.listing(["p=2"], root=toy) == ["second", "third"]
    assert (toy / "params.yaml").read_text() == "p: 1\n" and run(["dvc", "status", "-q"], toy).returncode == 0
    # an uncommitted edit counts, as it does for `dvc exp run`
    (toy / "in.txt").write_text("b\n")
    assert dryrun.listing(["p=1"], root=toy) == ["first", "second", "third"]


def test_the_project_pipeline_dry_on_a_fresh_clone(tmp_path):
    """`dvc repro --dry`'s question on a fresh clone of this repository: every stage, in order, nothing run."""
    repo = trimmed_repo(tmp_path, ["xnli"], ["tatoeba"])
    stages = dryrun.listing(root=repo)
    assert stages[0] == "code" and stages[-2:] == ["score", "report"], stages
    assert {"pretrain", "intermediate@baseline", "intermediate@intermediate", "finetune@intermediate-xnli",
            "retrieve@baseline-tatoeba"} <= set(stages), stages
    assert not (repo / "data" / "world").exists()
    cli = run(["xstilts", "dry", "-S", "intermediate=hellaswag"], repo)
    assert "prepare_intermediate" in cli.stdout and "finetune@intermediate-xnli" in cli.stdout, cli.stdout
