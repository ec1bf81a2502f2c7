"""params.yaml survives `dvc exp run -S` (issue 26 §1.9).

Every `dvc exp run -S key=value ...` rewrites params.yaml through DVC's `dvc.utils.hydra.apply_overrides`:
Hydra types the values, and `modify_yaml` writes them back with ruamel's round trip. That keeps the
comments, but files each comment (and blank line) under the value line above it; once a run has written
a list there (block style), a later `-S key=[]` loses a line break further down ('runtime: tiny: {device:
cpu, ...') and the next run stops with 'YAML file structure is corrupted'. These tests call DVC's own
function on a copy of the committed file, so they test the DVC that is installed.
"""
import copy
import re

import pytest
import yaml
from conftest import ROOT
from dvc.utils.hydra import apply_overrides, to_hydra_overrides
from dvc.utils.serialize import dumps_yaml
from dvc.utils.serialize._yaml import parse_yaml, parse_yaml_for_update
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from xstilts.core import config

PARAMS = ROOT / "params.yaml"
TEXT = PARAMS.read_text()
RAW = yaml.safe_load(TEXT)

# The params that hold lists (config.validate's top-level list checks); every other leaf is a scalar.
LIST_PARAMS = ("seeds", "intermediate_languages", "finetune_targets", "retrieval_targets", "languages")


def leaves(node, prefix=()):
    """(path, value) of every leaf: lists and scalars (an empty mapping, `revisions: {}`, has none)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, prefix + (k,))
    else:
        yield prefix, node


LEAVES = dict(leaves(RAW))
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # yaml.safe_load's, in C where there is one
COMMENT = re.compile(r"(?:^|\s)(#.*)$")


def comments(text: str) -> list[str]:
    """The comments in file order (no value in these tests holds a '#')."""
    return [m.group(1).rstrip() for line in text.splitlines() if (m := COMMENT.search(line))]


COMMENTS = comments(TEXT)


def set_path(raw: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    node = raw
    for k in parents:
        node = node[k]
    node[last] = value


def typed(node):
    """A tree whose == also compares types (1 == 1.0 == True otherwise)."""
    if isinstance(node, dict):
        return {k: typed(v) for k, v in node.items()}
    if isinstance(node, list):
        return [typed(v) for v in node]
    return type(node).__name__, node


def as_yaml_1_1(expected, got):
    """`got` (PyYAML, YAML 1.1: what xstilts reads) with the one known difference from DVC's YAML 1.2
    undone: a float written without a dot (`1e-05`) reads as a string there (config reads it as a number)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        return {k: as_yaml_1_1(expected.get(k), v) for k, v in got.items()}
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [as_yaml_1_1(e, g) for e, g in zip(expected, got)]
    if isinstance(expected, float) and isinstance(got, str):
        return float(got)
    return got


def run_dvc(path, overrides: list[str], expected: dict) -> None:
    """One `dvc exp run -S ... -S ...`: DVC's rewrite of `path`, and the values Hydra gives `expected`."""
    apply_overrides(str(path), overrides)
    for override in to_hydra_overrides(overrides):
        set_path(expected, override.key_or_group, override.value())


def assert_intact(path, expected: dict) -> None:
    """The file reads (DVC's reader, which raises 'YAML file structure is corrupted', and xstilts' own),
    holds exactly `expected`, and still holds every comment, in order."""
    text = path.read_text()
    assert typed(parse_yaml(text, str(path))) == typed(expected)
    assert typed(as_yaml_1_1(expected, yaml.load(text, Loader=SAFE_LOADER))) == typed(expected)
    assert comments(text) == COMMENTS


ISSUE_RUNS = (
    ["profile=paper", "finetune_targets=[xnli,pawsx,udpos,panx,xquad,mlqa,tydiqa]",
     "retrieval_targets=[bucc2018,tatoeba]"],
    ["paper.target_train.lr=1e-5", "finetune_targets=[xnli]", "retrieval_targets=[]"],
)


def test_the_issues_two_runs_leave_params_valid(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(TEXT)
    expected = copy.deepcopy(RAW)
    for overrides in ISSUE_RUNS:
        run_dvc(path, overrides, expected)
        assert_intact(path, expected)
    assert expected["retrieval_targets"] == [] and expected["paper"]["target_train"]["lr"] == 1e-5
    params = config.validate(yaml.safe_load(path.read_text()))
    assert params.profile == "paper" and params.group("target_train").lr == pytest.approx(1e-5)


# -- random runs --------------------------------------------------------------------------------------

def _agreed(s: str) -> bool:
    """Strings DVC's writer (YAML 1.2) and PyYAML (YAML 1.1) read alike. Not so: yes/no/on/off (booleans
    to PyYAML), 1:30 (sexagesimal 90), 0b1 (binary): a reader matter, not this file's layout."""
    return yaml.safe_load(dumps_yaml({"k": s}))["k"] == s


STRINGS = st.one_of(
    st.sampled_from(["cpu", "auto", "bf16", "mnli", "main", "zero_shot", "", " ", "null", "true", "1e-5", "3.0",
                     "0x10", "010", "~", "[xnli]", "{lang}", "a: b", "- x", "Helsinki-NLP/opus-mt-en-{lang}",
                     "20231101.{code}", "data/world/ccgbank", "ü ± ö"]),
    st.text(alphabet="abcxyz0189-_./{} ", max_size=12)).filter(_agreed)
# Floats to 12 digits: ruamel re-writes a kept 17-digit float in exponent form off by an ulp on the next run
# (-6.170441050455805e+16 -> ...804e+16), whatever the layout.
# Normal floats only: ruamel re-writes a kept subnormal (below 2.2e-308) with a digit fewer on a later run
# (-2.22507385851e-311 -> -2.2250738585e-311; subnormals carry fewer significant bits), not a value anyone sets.
FLOATS = st.floats(allow_nan=False, allow_subnormal=False).map(lambda x: float(f"{x:.12g}"))
SCALARS = st.one_of(st.integers(-10, 10), st.integers(-2**63, 2**63 - 1), st.booleans(), st.none(), STRINGS,
                    FLOATS, st.sampled_from([1e-5, 3.0e-4, 0.1, 2.0, 1e16]))
FINETUNE = [t for t in LEAVES[("finetune_targets",)]]
RETRIEVAL = [t for t in LEAVES[("retrieval_targets",)]]
LANGS = ["en", "qa", "qb", "qc", "qd", "qe"]
EMPTY = st.just([])  # `-S key=[]` after a run that wrote a list: the issue's trigger, so drawn often
LIST_VALUES = {
    "seeds": EMPTY | st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
    "intermediate_languages": EMPTY | st.lists(st.sampled_from(LANGS), min_size=1, max_size=3),
    "finetune_targets": EMPTY | st.lists(st.sampled_from(FINETUNE), min_size=1, max_size=5),
    "retrieval_targets": EMPTY | st.lists(st.sampled_from(RETRIEVAL), min_size=1, max_size=3),
    "languages": st.none() | EMPTY | st.lists(st.sampled_from(LANGS), min_size=1, max_size=3),
}
# The keys people set, when this file has them, and then any leaf at all.
NAMED = [k for k in ("seed", "intermediate", "profile", "tiny.target_train.lr", "paper.target_train.lr",
                     "runtime.tiny.threads", "runtime.paper.device", "tiny.target_train.tasks.xnli.epochs",
                     "paper.intermediate_train.mlm.lr", "tiny.world.corpus_share.qa", "paper.data.local_hub")
         if tuple(k.split(".")) in LEAVES]
KEYS = st.one_of(st.sampled_from(list(LIST_PARAMS)), st.sampled_from(NAMED),
                 st.sampled_from([".".join(p) for p in LEAVES]))


def hydra(value) -> str:
    """A value in the override syntax `dvc exp run -S` takes."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ",".join(hydra(v) for v in value) + "]"
    return f"'{value}'"  # the strings drawn hold no quote or backslash


# Each param gets values of its kind: lists (and null) for the list params, scalars of any type for the
# others. A scalar param that one run sets to a list and a later run to [] still breaks wherever a comment
# follows it (ruamel, as above); no scalar param takes a list, and `xstilts check` rejects the first run.
EDIT = KEYS.flatmap(lambda key: st.tuples(st.just(key), LIST_VALUES.get(key, SCALARS)))
RUN = st.lists(EDIT, min_size=1, max_size=4, unique_by=lambda edit: edit[0])


def test_list_params_are_the_list_leaves():
    assert {p[0] for p, v in LEAVES.items() if isinstance(v, list) or p == ("languages",)} == set(LIST_PARAMS)


# No shrinking: each step reruns DVC's rewrite (~0.5 s), and a failing sequence of runs reads as drawn.
@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(RUN, min_size=1, max_size=3))
def test_random_runs_keep_params_valid_and_exact(tmp_path, runs):
    """Any sequence of runs, each with a few `-S key=value`: after each, the file reads, every key set
    holds the value Hydra gave it, every other value and every comment is as committed."""
    path = tmp_path / "params.yaml"
    path.write_text(TEXT)
    expected = copy.deepcopy(RAW)
    for edits in runs:
        overrides = [f"{key}={hydra(value)}" for key, value in edits]
        assert [o.value() for o in to_hydra_overrides(overrides)] == [value for _, value in edits]
        run_dvc(path, overrides, expected)
        assert_intact(path, expected)


# -- the layout rules -----------------------------------------------------------------------------------

def test_no_comment_or_blank_line_follows_a_list_param():
    """ruamel files what follows a value line under that key; under a list, a later `-S key=[]` breaks."""
    data = parse_yaml_for_update(TEXT, str(PARAMS))
    for key in LIST_PARAMS:
        assert not any(data.ca.items.get(key) or ()), f"params.yaml: a comment or blank line follows '{key}'"


def test_flow_mappings_fit_one_line():
    """ruamel rewraps a flow mapping wider than 80 columns on every run (even one that does not touch it)."""
    lines = TEXT.splitlines()

    def walk(node):
        if isinstance(node, dict):
            if node.fa.flow_style():
                code = lines[node.lc.line].split(" #")[0].rstrip()
                assert len(code) <= 80 and code.endswith("}"), f"params.yaml:{node.lc.line + 1}: {code}"
            for v in node.values():
                walk(v)

    walk(parse_yaml_for_update(TEXT, str(PARAMS)))


def test_committed_params_load_in_both_profiles(in_repo):
    params = config.load()
    assert params.profile == "tiny" and params.runtime() is not None
    raw = yaml.safe_load(TEXT)
    raw["profile"] = "paper"
    assert config.validate(raw).profile == "paper"
