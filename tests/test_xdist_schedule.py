"""conftest's xdist scheduler: nothing queued behind a long file until its last test, then the file of
fewest tests (and never a deadlock: xdist's worker runs its last test only once it holds a next one)."""
from types import SimpleNamespace

from conftest import pytest_xdist_make_scheduler

COLLECTION = [
    *(f"tests/test_pipeline.py::t{i}" for i in range(3)),
    *(f"tests/test_pipeline_scale.py::t{i}" for i in range(2)),
    *(f"tests/test_alpha.py::t{i}" for i in range(4)),
    "tests/test_beta.py::t0",
    *(f"tests/test_gamma.py::t{i}" for i in range(3)),
]


class Worker:
    def __init__(self, name):
        self.shutting_down, self.sent, self.gateway = False, [], SimpleNamespace(id=name)

    def send_runtest_some(self, indexes):
        self.sent.append([COLLECTION[i] for i in indexes])

    def shutdown(self):
        self.shutting_down = True


def files(worker) -> list[str]:
    return [batch[0].split("::")[0].split("/")[-1] for batch in worker.sent]


def test_a_long_file_has_nothing_queued_behind_it_until_its_last_test():
    config = SimpleNamespace(getvalue=lambda name: ["2*popen"], option=SimpleNamespace(loadscopereorder=False))
    scheduler = pytest_xdist_make_scheduler(config, None)
    one, two = Worker("gw0"), Worker("gw1")
    for worker in (one, two):
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, COLLECTION)
    scheduler.schedule()
    assert files(one) == ["test_pipeline.py"] and files(two) == ["test_pipeline_scale.py"]

    scheduler.mark_test_complete(one, 0)  # two pipeline tests left: xdist's own would queue test_alpha here
    assert files(one) == ["test_pipeline.py"]
    scheduler.mark_test_complete(one, 1)  # its last test: the file of fewest tests goes behind it
    assert files(one) == ["test_pipeline.py", "test_beta.py"]
    scheduler.mark_test_complete(two, 3)
    assert files(two) == ["test_pipeline_scale.py", "test_gamma.py"]
    scheduler.mark_test_complete(one, 2)  # a short file queued: no more until it runs low, as xdist's own
    assert files(one) == ["test_pipeline.py", "test_beta.py", "test_alpha.py"]
    assert not scheduler.workqueue
