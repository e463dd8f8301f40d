"""Grading throughput on one class of unit-02 submissions: locally with -j 2, through a two-worker
Dask LocalCluster, and nbgrader's own autograde (one process), with the ratio."""
from __future__ import annotations

from coursekit.grading.bench import cluster_throughput, nbgrader_throughput, throughput

from . import Row

N = 20


def run() -> list[Row]:
    local = throughput(n_submissions=N, jobs=2)
    rows = [Row("grading", "unit-02 submissions graded per minute, coursekit grade -j 2", local["per_minute"], "1/min",
                note=f"{N} submissions in {local['seconds']:.0f} s; {local['statuses']}; sandbox {local['sandbox']}")]
    cluster = cluster_throughput(n_submissions=N, workers=2)
    rows.append(Row("grading", "... through a 2-worker Dask LocalCluster (--scheduler)", cluster["per_minute"], "1/min",
                    note=f"{N} submissions in {cluster['seconds']:.0f} s; {cluster['statuses']}"))
    nbg = nbgrader_throughput(n_submissions=N)
    rows.append(Row("grading", "... nbgrader autograde (one process, no sandbox, no re-check)", nbg["per_minute"],
                    "1/min", note=f"{N} submissions in {nbg['seconds']:.0f} s"))
    rows.append(Row("grading", "coursekit grade -j 2 / nbgrader autograde", local["per_minute"] / nbg["per_minute"],
                    "x", note="same class, same machine"))
    return rows
