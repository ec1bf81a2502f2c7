"""The paper's multi-task mixture is named, not derived (xstilts/core/tasks.py): adding an intermediate
task, in TASKS or through `tasks.register`, makes one more single-task arm and leaves `multitask` the
paper's nine (paper.md §0-§1, §4)."""
import sys
import types
from pathlib import Path

import pytest

from xstilts.core import tasks

NINE = ("anli_plus", "mnli", "qqp", "squad_v1", "squad_v2", "hellaswag", "ccg", "cosmosqa", "commonsenseqa")


def test_multitask_is_the_papers_nine_in_order():
    assert tasks.PAPER_INTERMEDIATE_TASKS == NINE
    assert tasks.MULTITASK == {
        "multitask": NINE,
        "multitask_v1": ("anli_plus", "mnli", "qqp", "hellaswag", "ccg", "cosmosqa", "commonsenseqa"),
    }
    assert tasks.intermediate_members("multitask") == NINE
    assert all(tasks.TASKS[name].is_intermediate for name in NINE)


def test_an_intermediate_task_added_to_the_registry_leaves_the_mixture_alone(monkeypatch):
    """tasks.py run again with a tenth intermediate task written into TASKS, as a contributor would
    add one: it is registered, and the mixtures are what they were."""
    source = Path(tasks.__file__).read_text(encoding="utf-8")
    anchor = "TASKS = {t.name: t for t in (\n"
    assert source.count(anchor) == 1
    extra = ('    Task("toy_inter", "intermediate", "classification", "accuracy", "a toy NLI task",\n'
             '         train=(Source("acme/toy", "en", "train", "nli"),), labels=NLI_LABELS),\n')
    module = types.ModuleType("tasks_with_a_tenth")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # dataclasses look their module up there
    exec(compile(source.replace(anchor, anchor + extra), "tasks_with_a_tenth", "exec"), module.__dict__)
    assert "toy_inter" in module.INTERMEDIATE_TASKS and len(module.INTERMEDIATE_TASKS) == 10
    assert module.MULTITASK == tasks.MULTITASK and module.MULTITASK["multitask"] == NINE


@pytest.fixture
def registries(monkeypatch):
    for registry in ("TASKS", "TARGETS", "INTERMEDIATE_TASKS"):  # this test's registrations end with it
        monkeypatch.setattr(tasks, registry, dict(getattr(tasks, registry)))


def test_registering_an_intermediate_task_leaves_the_mixture_alone(registries):
    before = {name: tuple(members) for name, members in tasks.MULTITASK.items()}
    tasks.register(tasks.Task("toy_inter", "intermediate", "classification", "accuracy", "a toy NLI task",
                              train=(tasks.Source("acme/toy", "en", "train", "nli"),),
                              dev=(tasks.Source("acme/toy", "en", "validation", "nli"),), labels=tasks.NLI_LABELS))
    assert "toy_inter" in tasks.INTERMEDIATE_TASKS
    assert tasks.MULTITASK == before and tasks.MULTITASK["multitask"] == NINE
    assert tasks.intermediate_members("multitask") == NINE
    assert tasks.intermediate_members("toy_inter") == ("toy_inter",)  # its own single-task arm
