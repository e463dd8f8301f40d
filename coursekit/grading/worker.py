"""One grading job in its own process: ``python -m coursekit.grading.worker``.

The job (with the secret re-check seed) comes on stdin and the result goes
to stdout as JSON: neither is ever in a file, on a command line or in the
environment, where a submission's kernel could look for them.

The process dies with the one that started it (a local ``coursekit grade``
or a cluster's worker), and takes its kernel with it. It adopts whatever
its kernel's processes leave orphaned, and ends them all when the job is
done: under bubblewrap the kernel's PID namespace already does, and without
it this is the only cleanup there is."""
from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

from . import bwrap
from .grader import Limits, grade_notebook
from .sandbox import die_with_parent

_PR_SET_CHILD_SUBREAPER = 36


def kill_descendants() -> None:
    """SIGKILL every process below this one (orphans included: this process is their subreaper)."""
    if not os.path.isdir("/proc"):
        return
    me = os.getpid()
    for _ in range(5):
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                children.append(int(entry))
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass


def adopt_orphans() -> None:
    """Make this process the parent of its descendants' orphans (instead of init)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:
        pass


def peak_mb() -> float:
    """This program's peak resident memory in MB.

    ``getrusage``'s ``ru_maxrss`` is no good here: Linux carries it across ``execve``, so a
    worker started by a large parent (a test run that has imported torch) would report the
    parent's size. ``VmHWM`` belongs to this process's own address space."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> int:
    die_with_parent()
    adopt_orphans()
    job = json.loads(sys.stdin.read())
    bwrap.remember(job.get("bwrap_probe"))
    result_fd = os.dup(1)  # the result alone goes to the pipe;
    os.dup2(2, 1)  # anything else printed on the way goes to stderr
    try:
        result = grade_notebook(job["source"], job["submission"], student=job["student"],
                                limits=Limits(**job["limits"]), seed=job["seed"], deny=job.get("deny", ()),
                                scratch_base=job.get("scratch_base"))
    finally:
        kill_descendants()
    result.grader_mb = peak_mb()
    with os.fdopen(result_fd, "w") as out:
        out.write(json.dumps(result.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
