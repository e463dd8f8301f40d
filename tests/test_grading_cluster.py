"""``coursekit grade --scheduler``: a class graded on a Dask cluster (a LocalCluster of two worker
processes started here) writes the same reports as a local run; a worker lost in the middle of a
task does not lose that student's grade."""
import csv
import json
import os
import signal
import threading
import time

import nbformat
import pytest

from coursekit.grading import Limits, grade
from helpers.grading import CORRECT_DOUBLE, CORRECT_PLA, WRONG_PLA, source_notebook, with_answers

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")

LIMITS = Limits(cell_timeout=30, total_timeout=90, memory_mb=1024)
SLOW = "import time\ntime.sleep(8)  # long enough to lose its worker meanwhile\n" + CORRECT_PLA


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as local:
        yield local


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    (root / "source").mkdir()
    nbformat.write(source_notebook(), str(root / "source" / "synth.ipynb"))
    subs = root / "submitted"
    subs.mkdir()
    for student, pla in [("ann", CORRECT_PLA), ("bob", WRONG_PLA), ("cy", None)]:
        nbformat.write(with_answers(pla, CORRECT_DOUBLE if pla else None), str(subs / f"{student}.ipynb"))
    (subs / "dee").mkdir()  # a folder without the notebook: missing, decided without a worker
    (subs / "eli.ipynb").write_text("not a notebook")
    return root


def reports(out):
    rows = sorted(csv.DictReader(open(out / "grades.csv")), key=lambda r: r["student"])
    data = json.loads((out / "grades.json").read_text())
    for r in data["results"]:
        r.pop("seconds"), r.pop("grader_mb"), r.pop("submitted")
        r["sandbox"].pop("uid", None)
    pages = {p.name: p.read_text() for p in (out / "feedback").glob("*.html")}
    return rows, data["results"], pages


def test_a_cluster_grades_as_one_machine_does(classroom, cluster):
    subs = sorted((classroom / "submitted").iterdir())
    here = grade(classroom / "source", subs, classroom / "here", jobs=2, seed=3, verbose=False, limits=LIMITS)
    there = grade(classroom / "source", subs, classroom / "there", seed=3, verbose=False, limits=LIMITS,
                  scheduler=cluster.scheduler_address)
    assert len(here) == len(there) == 5
    assert reports(classroom / "here") == reports(classroom / "there")
    totals = {r.student: r.total for r in there}
    assert totals == {"ann": 3, "bob": 1, "cy": 0, "dee": 0, "eli": 0}
    # each worker ran some of the tasks (the grading ran there, not here)
    assert {r.student: r.status for r in there}["eli"] == "invalid"


def test_a_lost_worker_s_task_is_graded_on_another(tmp_path, cluster):
    (tmp_path / "source").mkdir()
    nbformat.write(source_notebook(), str(tmp_path / "source" / "synth.ipynb"))
    nbformat.write(with_answers(SLOW, CORRECT_DOUBLE), str(tmp_path / "slow.ipynb"))
    client = distributed.Client(cluster.scheduler_address)
    pids = client.run(os.getpid)
    killed = []

    def kill_the_busy_worker():
        deadline = time.time() + 60
        while time.time() < deadline and not killed:
            busy = [w for w, tasks in client.processing().items() if any("coursekit-grade" in t for t in tasks)]
            if busy:
                time.sleep(3)  # the kernel is up and in its sleep
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.2)

    thread = threading.Thread(target=kill_the_busy_worker)
    thread.start()
    try:
        results = grade(tmp_path / "source", [tmp_path / "slow.ipynb"], tmp_path / "out", seed=4, verbose=False,
                        limits=LIMITS, scheduler=cluster.scheduler_address)
    finally:
        thread.join()
        client.close()
    assert killed, "no worker was seen running the task"
    assert results[0].total == 3 and results[0].status == "graded", results[0].problems
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv")))
    assert [r["total"] for r in rows] == ["3"]
