"""bubblewrap: the strong sandbox of a graded kernel (the grader's side).

Where Debian's ``bubblewrap`` is installed and may create namespaces (as
root, or with unprivileged user namespaces), every graded kernel starts as

    bwrap --unshare-pid --unshare-net --unshare-ipc --unshare-uts --unshare-cgroup-try
          --die-with-parent --new-session --clearenv --setenv ... \\
          --ro-bind <Python installation> --ro-bind <coursekit package> [--ro-bind <datasets>]
          --bind <scratch> --bind <runtime> --proc /proc --dev /dev --remount-ro / \\
          python -m coursekit.grading.sandbox --policy <runtime>/policy.json -f <connection file>

so that the kernel

* sees only an **allow-list** of files: the Python installation (and the
  system libraries it links against), the installed ``coursekit`` *package*
  (not the repository around an editable install, with its notebooks) and
  its shipped data sets, read-only; its scratch directory and its runtime
  folder (connection file and IPC sockets) writable; nothing else exists;
* runs in its own PID namespace: every process it starts dies with it, and
  it sees no other process (no grader's ``/proc/<pid>/environ``);
* has its own network namespace (a loopback device only: no TCP, UDP, raw
  or host Unix-domain sockets); its channels to the grader are Unix sockets
  in its runtime folder (jupyter_client's ``ipc`` transport);
* has an environment holding nothing of the grader's;
* is killed with the grading process that started it.

The launcher inside (:mod:`coursekit.grading.sandbox`) then drops root (to
a user id of its own, where the grader runs as root), caps the number of
processes, and applies Landlock and the audit hook on top. Where bubblewrap
is missing or refused, :func:`probe` says why and the kernel runs under the
fallback (Landlock + audit hook), which the reports name as weaker.
"""
from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# a user id of its own for every kernel where the grader runs as root: above the ranges that
# systems hand out to people (and to the containers' mapped ids), so no file or process is theirs
UID_BASE, UID_SPAN = 1_600_000_000, 400_000_000
# system files a Python process needs beyond its installation (shared libraries, the loader's cache)
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/ld.so.conf",
                "/etc/ld.so.conf.d", "/etc/localtime")


def executable() -> str | None:
    return shutil.which("bwrap")


def kernel_uid() -> int | None:
    """A fresh user id for one kernel where the grader is root (None where it is not: the kernel
    then runs as the grader's own user, without privileges, inside its user namespace)."""
    return UID_BASE + secrets.randbelow(UID_SPAN) if os.geteuid() == 0 else None


def python_paths() -> list[str]:
    """What the kernel must read: the Python installation (prefixes and site-packages folders),
    the coursekit package, and its shipped data sets (``datasets/`` beside the package in a
    source checkout). Never the folder that holds the package: in an editable install that is
    the repository, with the solutions in ``notebooks/``."""
    import coursekit

    package = Path(coursekit.__file__).resolve().parent
    keep = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, str(package)}
    if (package.parent / "datasets").is_dir():
        keep.add(str(package.parent / "datasets"))
    keep.update(p for p in sys.path if p and os.path.isdir(p) and ("site-packages" in p or "dist-packages" in p))
    paths = sorted({os.path.realpath(k) for k in keep})
    # a folder inside another one on the list is bound with it
    return [p for p in paths if not any(p != q and p.startswith(q.rstrip(os.sep) + os.sep) for q in paths)]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass
class Plan:
    """How one kernel is started under bubblewrap."""

    argv: list[str]  # the bwrap command line up to (not including) the kernel's own command
    uid: int | None  # the user id the launcher drops to (None: already unprivileged)
    userns: bool  # bwrap makes a user namespace (the grader is not root)


def plan(*, scratch: str, runtime: str, env: dict, uid: int | None, bwrap: str | None = None) -> Plan:
    """The bwrap command line for a kernel working in ``scratch`` with its channels in ``runtime``."""
    bwrap = bwrap or executable()
    userns = uid is None and os.geteuid() != 0
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if userns:
        args.append("--unshare-user")
    args += ["--die-with-parent", "--new-session", "--clearenv", "--hostname", "grading"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    binds: list[tuple[str, str]] = []  # (option, path), in the order they are made
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            binds.append(("--symlink", path))
        elif os.path.exists(path):
            binds.append(("--ro-bind", path))
    covered = [p for _, p in binds]
    binds += [("--ro-bind", p) for p in python_paths() if not any(_inside(p, c) for c in covered)]
    binds += [("--bind", scratch), ("--bind", runtime)]
    made: set[str] = {"/"}
    for option, path in binds:
        # the folders above a bound path are made world-readable (bwrap makes them 0700, which would
        # hide the Python installation under /root from the kernel's own user)
        for parent in reversed(Path(path).parents):
            text = str(parent)
            if text not in made:
                made.add(text)
                args += ["--perms", "0755", "--dir", text]
        made.add(path)
        if option == "--symlink":
            args += ["--symlink", os.readlink(path), path]
        else:
            args += [option, path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", scratch, "--remount-ro", "/"]
    return Plan(args, uid, userns)


_known: list = []  # the probe's answer, handed down by the process that started this one (see remember)


def remember(answer) -> None:
    """Take ``probe()``'s answer from the grading run that started this process (one probe per run)."""
    if answer and len(answer) == 2:
        _known[:] = [(str(answer[0]), str(answer[1]))]


def probe() -> tuple[str, str]:
    """(bwrap's version, "") where a kernel can run under bubblewrap here, else ("", why not)."""
    return _known[0] if _known else _probe()


@functools.lru_cache(maxsize=None)
def _probe() -> tuple[str, str]:
    """Runs this Python under bwrap with the options a kernel gets, once per process."""
    path = executable()
    if not path:
        return "", "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    scratch = Path(os.environ.get("TMPDIR", "/tmp")).resolve()
    try:
        trial = plan(scratch=str(scratch), runtime=str(scratch), env={"PATH": "/usr/bin:/bin"}, uid=None, bwrap=path)
        proc = subprocess.run(trial.argv + [sys.executable, "-c", "import coursekit.grading"], capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        return "", f"bubblewrap could not be started ({err})"
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        hint = " (user namespaces are off: run the grader as root, or enable them)" if "namespace" in why else ""
        return "", f"bubblewrap failed here: {why[:300]}{hint}"
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.split()
    return (version[-1] if version else "?"), ""
