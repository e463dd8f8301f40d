"""The kernel that runs a submission, fenced in before any student code runs.

``python -m coursekit.grading.sandbox --policy FILE -f CONNECTION_FILE`` is the
kernel command the grader uses. Before IPython starts it

1. sets resource limits: address space (memory), the largest file it may
   write, CPU seconds, no core dumps; lowers its priority; and dies with the
   grading process that started it;
2. applies a Linux **Landlock** rule set (kernel 5.13+, no root needed): the
   process and its children may write only in the scratch directory and may
   not read the denied folders (the instructor's source notebooks, the
   grader's output and private folders, the other kernels' folders, the
   submissions, the home directory; the Python installation and the
   coursekit package stay readable). With Landlock ABI 4+ it may not open
   TCP connections nor bind any TCP port but its own kernel ports, and with
   ABI 6+ it may not signal, nor connect to abstract sockets of, processes
   outside the sandbox;
3. installs a Python audit hook (it cannot be removed once added) that
   refuses, with a ``PermissionError``, the same file accesses and TCP
   connections, plus starting programs (``subprocess``, ``os.system``,
   ``exec``, ``fork``), signalling other processes, reading other
   processes' ``/proc`` entries, and the ``ctypes`` calls that could undo the
   fences.

Landlock is the real fence (enforced by the OS kernel); the audit hook gives
clearer error messages, and is the only, weaker, fence where Landlock is
missing (C code can get around it). What was applied is put in the kernel's
environment as ``COURSEKIT_SANDBOX`` (JSON), which the grader reads before any
student code runs and records in the reports (see :func:`describe`).
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

ENV_MODE = "COURSEKIT_SANDBOX"
NICE = 10  # the grader and its watchdog stay responsive while kernels compute

# ------------------------------------------------------------ rlimits ----

def set_limits(memory_mb: int | None, file_mb: int | None, cpu_s: int | None = None) -> None:
    if memory_mb:
        limit = int(memory_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if file_mb:
        limit = int(file_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if cpu_s:  # SIGXCPU ends the kernel; a backstop should the grader's own limits fail
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_s), int(cpu_s) + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        os.nice(NICE)
    except OSError:
        pass


_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38


def die_with_parent() -> None:
    """SIGKILL this kernel when the process that started it ends (the kernel
    runs in its own session, so a watchdog killing the grading process's
    group would not reach it)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except Exception:
        pass


# ----------------------------------------------------------- Landlock ----

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # same numbers on x86_64 and arm64
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_READ = (1 << 0) | (1 << 2) | (1 << 3)  # EXECUTE | READ_FILE | READ_DIR
_NET_BIND, _NET_CONNECT = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def _all_fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM (ABI 1)
    if abi >= 2:
        rights |= 1 << 13  # REFER
    if abi >= 3:
        rights |= 1 << 14  # TRUNCATE
    if abi >= 5:
        rights |= 1 << 15  # IOCTL_DEV
    return rights


def _inside(path: str, root: str, sep=os.sep) -> bool:
    """``path`` is ``root`` or lies beneath it (both real paths). The audit
    hook uses it too, so ``sep`` is bound now, as a default argument."""
    return path == root or path.startswith(root.rstrip(sep) + sep)


def readable_roots(deny: list[str], keep: list[str]) -> list[str]:
    """Directories to grant read access beneath so that everything is readable
    except what is under ``deny``, while everything under ``keep`` stays
    readable even inside a denied folder (the Python installation, coursekit).
    Landlock only grants, so the tree is split along the paths to the denied folders."""
    deny = [os.path.realpath(d) for d in deny]
    keep = [os.path.realpath(k) for k in keep]
    roots: list[str] = []

    def visit(directory: str):
        if any(_inside(directory, d) for d in deny):
            roots.extend(k for k in keep if _inside(k, directory))
            return
        if not any(_inside(d, directory) for d in deny):
            roots.append(directory)
            return
        try:
            children = [e.path for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)]
            files = [e.path for e in os.scandir(directory) if not e.is_dir(follow_symlinks=False)]
        except OSError:
            return
        roots.extend(files)  # files next to the path down to a denied folder stay readable
        for child in children:
            visit(child)

    visit(os.sep)
    return sorted(set(roots))


def landlock_abi() -> int:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return max(0, int(libc.syscall(_SYS_CREATE, None, 0, 1)))
    except Exception:
        return 0


def apply_landlock(writable: list[str], readable: list[str], bind_ports=None) -> dict:
    """Restrict this process (and its children) to ``readable`` (read, execute)
    and ``writable`` (everything); with ABI 4+ forbid TCP connections and
    binding any TCP port but ``bind_ports`` (binding stays unrestricted if
    they are unknown); with ABI 6+ scope signals and abstract sockets.

    Returns what was applied: ``{"landlock": ABI, "net": [...], "scoped": [...]}``,
    with ABI 0 where the OS kernel has no Landlock (then nothing is restricted by it)."""
    abi = landlock_abi()
    if abi < 1:
        return {"landlock": 0}
    libc = ctypes.CDLL(None, use_errno=True)
    rights = _all_fs_rights(abi)
    net = (_NET_CONNECT | (_NET_BIND if bind_ports else 0)) if abi >= 4 else 0
    scoped = (_SCOPE_SIGNAL | _SCOPE_ABSTRACT_UNIX) if abi >= 6 else 0
    attr = _RulesetAttr(rights, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else ctypes.sizeof(_RulesetAttr)  # the struct grew with the ABI
    fd = libc.syscall(_SYS_CREATE, ctypes.byref(attr), size, 0)
    if fd < 0:
        return {"landlock": 0}
    try:
        _add_path_rules(libc, fd, rights, abi, writable, readable)
        if net & _NET_BIND:
            for port in bind_ports:
                rule = _NetPortAttr(_NET_BIND, int(port))
                libc.syscall(_SYS_ADD_RULE, fd, _RULE_NET_PORT, ctypes.byref(rule), 0)
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        ok = libc.syscall(_SYS_RESTRICT, fd, 0) == 0
    finally:
        os.close(fd)
    if not ok:
        return {"landlock": 0}
    return {"landlock": abi,
            "net": [name for bit, name in ((_NET_CONNECT, "tcp-connect"), (_NET_BIND, "tcp-bind")) if net & bit],
            "scoped": [name for bit, name in ((_SCOPE_SIGNAL, "signal"), (_SCOPE_ABSTRACT_UNIX, "abstract-unix-socket"))
                       if scoped & bit]}


def _add_path_rules(libc, fd: int, rights: int, abi: int, writable, readable) -> None:
    file_rights = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14 if abi >= 3 else 0) | (1 << 15 if abi >= 5 else 0)

    def add(path: str, allowed: int):
        try:
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                allowed &= file_rights
            rule = _PathBeneathAttr(allowed, pfd)
            libc.syscall(_SYS_ADD_RULE, fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
        finally:
            os.close(pfd)

    for path in readable:
        add(path, _READ & rights)
    for path in writable:
        add(path, rights)
    add("/dev/null", rights)


def describe(mode: dict | None) -> str:
    """One line for the reports: which fences a kernel actually ran under."""
    mode = mode or {}
    if mode.get("off"):
        return "none (the sandbox was turned off)"
    if not mode.get("audit_hook"):
        return "unknown (the kernel did not report its sandbox)"
    if not mode.get("landlock"):
        return "audit hook only (Landlock missing or not applied)"
    net = mode.get("net") or []
    parts = ["files", "no TCP connections" if "tcp-connect" in net else "network NOT restricted (Landlock ABI < 4)"]
    if "signal" in (mode.get("scoped") or []):
        parts.append("signals")
    return f"Landlock ABI {mode['landlock']} ({', '.join(parts)}) + audit hook"


def is_weak(mode: dict | None) -> bool:
    """True where a kernel ran without Landlock, or without its network rules
    (so also where the sandbox was turned off, or is unknown)."""
    mode = mode or {}
    return not mode.get("landlock") or "tcp-connect" not in (mode.get("net") or [])


WEAK_WARNING = ("the submissions did not run under the full sandbox: without Landlock (Linux 5.13+) only the "
                "Python audit hook fenced them, which code using C extensions can get around, and without "
                "Landlock ABI 4 (Linux 6.7+) network access was not restricted; grade on a newer Linux "
                "for the full sandbox")
OFF_WARNING = ("the sandbox was turned off: the submissions ran without any fence (no Landlock, no audit hook, "
               "no memory, file-size or CPU limits), only under the grader's time and disk limits; "
               "grade with the sandbox on")
UNKNOWN_WARNING = ("a kernel did not report the sandbox it ran under, so it is unknown which fences, if any, held "
                   "the submissions (was the python3 kernel started some other way than through "
                   "coursekit.grading.sandbox?); find out why before trusting these grades")


def warning(mode: dict | None) -> str:
    """Why a kernel's sandbox was weak, worded for its case ("" where it was not weak)."""
    if not is_weak(mode):
        return ""
    mode = mode or {}
    if mode.get("off"):
        return OFF_WARNING
    if not mode.get("audit_hook"):
        return UNKNOWN_WARNING
    return WEAK_WARNING


def summary(modes) -> tuple[list[str], list[str]]:
    """What the reports say about the kernels that ran (``modes``: their
    :func:`describe` dicts; empty ones, where no kernel ran, are skipped):
    the distinct :func:`describe` lines, sorted, and the distinct warnings
    (each :func:`warning`, in a fixed order), empty where none was weak."""
    modes = [m for m in modes if m]
    weak = {warning(m) for m in modes} - {""}
    return sorted({describe(m) for m in modes}), [w for w in (OFF_WARNING, UNKNOWN_WARNING, WEAK_WARNING) if w in weak]


# --------------------------------------------------------- audit hook ----

_BLOCKED_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "pty.spawn", "os.startfile", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function",
    "ctypes.cdata", "ctypes.string_at", "ctypes.wstring_at", "ctypes.set_errno", "sys.remote_exec",
})
# event -> ((path argument, its dir_fd argument or None), ...), and whether the access writes;
# kept as tuples and a frozenset, which no submission can change
_PATH_EVENT_LIST = {
    "os.remove": (((0, 1),), True), "os.rename": (((0, 2), (1, 3)), True), "os.rmdir": (((0, 1),), True),
    "os.mkdir": (((0, 2),), True), "os.symlink": (((0, 2), (1, 2)), True), "os.link": (((0, 2), (1, 3)), True),
    "os.chmod": (((0, 2),), True), "os.chown": (((0, 3),), True), "os.truncate": (((0, None),), True),
    "os.utime": (((0, 3),), True), "os.chflags": (((0, None),), True), "os.lchmod": (((0, None),), True),
    "os.setxattr": (((0, None),), True), "os.removexattr": (((0, None),), True),
    "shutil.rmtree": (((0, 1),), True),
    "os.listdir": (((0, None),), False), "os.scandir": (((0, None),), False), "glob.glob": (((0, None),), False),
    "os.chdir": (((0, None),), False),
}
_PATH_EVENT_RULES = tuple((event, places, writes) for event, (places, writes) in _PATH_EVENT_LIST.items())
_PATH_EVENTS = frozenset(_PATH_EVENT_LIST)
del _PATH_EVENT_LIST
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_INET = (2, 10)  # AF_INET, AF_INET6


def install_audit_hook(scratch: str, deny: list[str], keep: list[str]) -> None:
    """Refuse file access outside the fences, TCP connections, new programs,
    and signals to others.

    The ``open`` event does not say which folder a relative path is relative
    to (``os.open(name, dir_fd=fd)``), so folders outside the scratch
    directory cannot be opened (no such descriptor exists) and relative paths
    may not climb with ``..``; the other events give their ``dir_fd``, which
    is resolved through ``/proc/self/fd``.

    Everything the hooks use is bound now, as default arguments (no closures:
    a closure's cells can be rewritten): replacing a module attribute later
    does not change it, and changing a function's defaults or code is itself
    refused (the ``object.__setattr__`` event).
    """
    import _socket

    scratch = os.path.realpath(scratch)
    # (scratch, writable, deny, keep, my pid): a plain tuple, nothing in it can be changed
    fences = (scratch, (scratch, "/dev/null", "/dev/tty"), tuple(os.path.realpath(d) for d in deny),
              tuple(os.path.realpath(k) for k in keep), os.getpid())
    family_of = _socket.socket.family.__get__  # the C field: a subclass cannot fake it

    def hook(event, args, f=fences, check_open=_check_open, check_paths=_check_paths, blocked=_BLOCKED_EVENTS,
             path_events=_PATH_EVENTS, family_of=family_of, inet=_INET, len=len, getattr=getattr,
             PermissionError=PermissionError, this_file=__file__):
        if event == "open":
            check_open(f, args)
        elif event in path_events:
            check_paths(f, event, args)
        elif event in blocked:
            raise PermissionError(f"grading sandbox: {event} is not allowed while grading")
        elif event == "socket.connect":
            if family_of(args[0]) in inet:
                raise PermissionError("grading sandbox: network connections are not allowed while grading")
        elif event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            if event != "signal.pthread_kill" and args and args[0] not in (f[4], 0):
                raise PermissionError("grading sandbox: signalling other processes is not allowed")
        elif event == "object.__setattr__" and len(args) > 1 and (args[1] == "__code__" or (
                args[1] in ("__defaults__", "__kwdefaults__")
                and getattr(getattr(args[0], "__code__", None), "co_filename", "") == this_file)):
            raise PermissionError("grading sandbox: changing the code of a function, or the sandbox, is not allowed")

    sys.addaudithook(hook)


def _text(path, fspath=os.fspath, isinstance=isinstance, bytes=bytes):
    text = fspath(path)
    return text.decode("utf-8", "surrogateescape") if isinstance(text, bytes) else text


def _resolve(path, dir_fd=None, realpath=os.path.realpath, isabs=os.path.isabs, join=os.path.join,
             readlink=os.readlink, text_of=_text, isinstance=isinstance, int=int, Exception=Exception):
    """The real path, or None for an open descriptor (checked when it was opened)."""
    if isinstance(path, int):
        return None
    try:
        text = text_of(path)
        if isinstance(dir_fd, int) and dir_fd >= 0 and not isabs(text):
            text = join(readlink(f"/proc/self/fd/{dir_fd}"), text)
        return realpath(text)
    except Exception:
        return "?"


def _under(path, roots, inside=_inside, any=any):
    return any(inside(path, root) for root in roots)


def _other_process(path, me, str=str):
    """A ``/proc/PID/...`` entry of another process (their command lines show the grader's paths)."""
    if not path.startswith("/proc/"):
        return False
    first = path[6:].split("/", 1)[0]
    return first.isdigit() and first != str(me)


def _check_open(f, args, resolve=_resolve, under=_under, other_process=_other_process, text_of=_text,
                isdir=os.path.isdir, isabs=os.path.isabs, sep=os.sep, write_flags=_WRITE_FLAGS,
                isinstance=isinstance, len=len, bool=bool, any=any, int=int, PermissionError=PermissionError):
    raw = args[0]
    path = resolve(raw)
    if path is None:
        return
    text = text_of(raw)
    if not isabs(text) and ".." in text.split(sep):
        raise PermissionError(f"grading sandbox: relative paths with '..' are not allowed ({text})")
    mode, flags = args[1], args[2] if len(args) > 2 else 0
    writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & write_flags)
    if writes and not under(path, f[1]):
        raise PermissionError(f"grading sandbox: writing outside the scratch directory is not allowed ({path})")
    if under(path, f[2]) and not under(path, f[3]):
        raise PermissionError(f"grading sandbox: reading {path} is not allowed")
    if other_process(path, f[4]):
        raise PermissionError(f"grading sandbox: reading other processes' information is not allowed ({path})")
    if not under(path, (f[0],)) and isdir(path):
        raise PermissionError(f"grading sandbox: opening a folder outside the scratch directory is not allowed ({path})")


def _check_paths(f, event, args, resolve=_resolve, under=_under, other_process=_other_process,
                 rules=_PATH_EVENT_RULES, len=len, next=next, PermissionError=PermissionError):
    places, writes = next((p, w) for e, p, w in rules if e == event)
    for i, fd_at in places:
        if i >= len(args):
            continue
        path = resolve(args[i], args[fd_at] if fd_at is not None and fd_at < len(args) else None)
        if path is None:
            continue
        if writes and not under(path, f[1]):
            raise PermissionError(f"grading sandbox: {event} outside the scratch directory is not allowed")
        if not writes and ((under(path, f[2]) and not under(path, f[3])) or other_process(path, f[4])):
            raise PermissionError(f"grading sandbox: {event} on {path} is not allowed")


# ------------------------------------------------------------- launch ----

def kernel_ports(argv: list[str]) -> list[int]:
    """The five ports of the kernel's connection file (``-f FILE``), or [] if unknown."""
    path = None
    for i, arg in enumerate(argv):
        if arg == "-f" and i + 1 < len(argv):
            path = argv[i + 1]
        elif arg.startswith(("--f=", "--IPKernelApp.connection_file=")):
            path = arg.split("=", 1)[1]
    try:
        with open(path) as f:
            info = json.load(f)
        ports = [int(info[k]) for k in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")]
    except Exception:
        return []
    return ports if all(ports) else []


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    policy_path = argv[argv.index("--policy") + 1]
    with open(policy_path) as f:
        policy = json.load(f)
    rest = [a for i, a in enumerate(argv) if a != "--policy" and (i == 0 or argv[i - 1] != "--policy")]
    # load what IPython needs while everything is still readable
    from ipykernel import kernelapp

    die_with_parent()
    set_limits(policy.get("memory_mb"), policy.get("file_mb"), policy.get("cpu_s"))
    mode = {"landlock": 0}
    if policy.get("landlock", True):
        readable = readable_roots(policy["deny"], policy["keep"])
        mode = apply_landlock([policy["scratch"]], readable, kernel_ports(rest))
    install_audit_hook(policy["scratch"], policy["deny"], policy["keep"])
    mode["audit_hook"] = True
    os.environ[ENV_MODE] = json.dumps(mode)
    kernelapp.launch_new_instance(argv=rest)


if __name__ == "__main__":
    main()
