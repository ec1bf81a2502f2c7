"""Task kinds: one class per kind, one module each (README "Extend"), and the registry that maps a
kind's name to it. A task's kind is its type, or for retrieval its retrieval kind (Task.kind)."""
from __future__ import annotations

from xstilts.kinds.base import Kind, LayoutError, ScoreError  # noqa: F401
from xstilts.kinds.bitext import Bitext
from xstilts.kinds.classification import Classification
from xstilts.kinds.mining import Mining
from xstilts.kinds.mlm import MLM
from xstilts.kinds.multiple_choice import MultipleChoice
from xstilts.kinds.qa import QA
from xstilts.kinds.ranking import Ranking
from xstilts.kinds.tagging import Tagging

KINDS: dict[str, Kind] = {k.name: k for k in (Classification(), MultipleChoice(), Tagging(), QA(), MLM(),
                                              Bitext(), Mining(), Ranking())}


def get(name: str) -> Kind:
    if name not in KINDS:
        raise LayoutError(f"unknown task kind '{name}'; valid: {', '.join(KINDS)}")
    return KINDS[name]


def of_task(task: str) -> Kind:
    """The kind of a registered task (by name)."""
    from xstilts.core import tasks
    if task not in tasks.TASKS:
        raise LayoutError(f"unknown task '{task}'; valid: {', '.join(tasks.TASKS)}")
    return KINDS[tasks.TASKS[task].kind]
