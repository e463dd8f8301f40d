"""The kernel that runs a submission, fenced in before any student code runs.

``python -m coursekit.grading.sandbox --policy FILE -f CONNECTION_FILE`` is the
kernel command the grader uses, inside bubblewrap where it can (see
:mod:`coursekit.grading.bwrap`: own PID, network, IPC and mount namespaces,
an allow-listed, read-only file view, channels over Unix sockets). Before
IPython starts, this launcher

1. sets resource limits: address space (memory), the largest file it may
   write, CPU seconds, the number of processes, no core dumps; lowers its
   priority; and dies with the grading process that started it;
2. loads the coursekit modules with every function marked, so that a call
   of a reference implementation, by whatever route, is recorded for the
   grader (see :mod:`coursekit.grading.refcalls`);
3. drops root: where the grader runs as root, the kernel becomes a user id
   of its own, with no capabilities (which also makes the process cap hold);
4. applies a Linux **Landlock** rule set (kernel 5.13+): the process and its
   children may write only in the scratch and runtime folders and read only
   the allow-list (the Python installation, the coursekit package and its
   data sets, the system libraries); with ABI 4+ it may neither open nor
   accept TCP connections, and with ABI 6+ it may not signal, nor connect
   to abstract sockets of, processes outside the sandbox;
5. installs a Python audit hook (it cannot be removed once added) that
   refuses, with a ``PermissionError``, the same file accesses and network
   connections, plus starting programs, signalling other processes, reading
   other processes' ``/proc`` entries, building code objects from parts, and
   the ``ctypes`` calls that could undo the fences; it also sends each call
   of a coursekit function to the grader.

Under bubblewrap, the namespaces and the file view are the fence and
Landlock and the hook are a second layer. Without bubblewrap (not
installed, or no user namespaces), Landlock and the hook are the fence: a
weaker one (no process containment, and where Landlock is missing the hook
alone, which C code can get around), and the reports say so. What was
applied is put in the kernel's environment as ``COURSEKIT_SANDBOX`` (JSON),
which the grader reads before any student code runs and records in the
reports (see :func:`describe`).
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

def set_limits(memory_mb: int | None, file_mb: int | None, cpu_s: int | None = None,
               nproc: int | None = None) -> None:
    if memory_mb:
        limit = int(memory_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if file_mb:
        limit = int(file_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if cpu_s:  # SIGXCPU ends the kernel; a backstop should the grader's own limits fail
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_s), int(cpu_s) + 5))
    if nproc:  # counted per user id (and user namespace): it holds once root is dropped
        resource.setrlimit(resource.RLIMIT_NPROC, (int(nproc), int(nproc)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        os.nice(NICE)
    except OSError:
        pass


def drop_privileges(uid: int) -> dict:
    """Become ``uid`` (group too, no supplementary groups): root's capabilities go with it.

    Returns what holds afterwards: the user id and the effective capabilities (none)."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    return {"uid": os.getuid(), "capabilities": _effective_capabilities()}


def _effective_capabilities() -> int:
    try:
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith("CapEff:"))
        return int(line.split()[1], 16)
    except (OSError, StopIteration, ValueError):
        return -1


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
_EXECUTE = 1 << 0
_READ = (1 << 2) | (1 << 3)  # READ_FILE | READ_DIR: no EXECUTE anywhere, so no program can be started
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


# what a kernel reads beyond the Python installation where no bubblewrap gives it a view of its own:
# its own /proc entries and the machine's CPU and memory figures, the devices, the system libraries
FALLBACK_READABLE = ("/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys/vm/overcommit_memory",
                     "/sys/devices/system/cpu", "/sys/fs/cgroup", "/dev", "/usr", "/lib", "/lib64", "/lib32", "/bin",
                     "/sbin", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")


def readable_roots(deny: list[str], keep: list[str], allow=(os.sep,)) -> list[str]:
    """The files and folders to grant read access beneath so that what is under
    ``allow`` (the allow-list) is readable except what is under ``deny``, while
    everything under ``keep`` stays readable even inside a denied folder (the
    Python installation, coursekit). Landlock only grants, so the tree is split
    along the paths to the denied folders."""
    deny = [os.path.realpath(d) for d in deny]
    keep = [os.path.realpath(k) for k in keep]
    roots: list[str] = []

    def visit(directory: str):
        if any(_inside(directory, d) for d in deny):
            roots.extend(k for k in keep if _inside(k, directory))
            return
        if not any(_inside(d, directory) for d in deny) or not os.path.isdir(directory):
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

    for root in allow:
        if os.path.lexists(root):
            visit(os.path.realpath(root))
    return sorted(set(roots))


def landlock_abi() -> int:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return max(0, int(libc.syscall(_SYS_CREATE, None, 0, 1)))
    except Exception:
        return 0


def apply_landlock(writable: list[str], readable: list[str], bind_ports=()) -> dict:
    """Restrict this process (and its children) to ``readable`` (read, execute)
    and ``writable`` (everything); with ABI 4+ forbid TCP connections and
    binding any TCP port but ``bind_ports`` (the kernel's channels are Unix
    sockets: it needs none); with ABI 6+ scope signals and abstract sockets.

    Nothing may be executed (no rule grants EXECUTE): the kernel, already
    running, loads libraries as before, but neither it nor anything it
    forks can start a program, be it through a way around the audit hook.

    Returns what was applied: ``{"landlock": ABI, "net": [...], "scoped": [...]}``,
    with ABI 0 where the OS kernel has no Landlock (then nothing is restricted by it)."""
    abi = landlock_abi()
    if abi < 1:
        return {"landlock": 0}
    libc = ctypes.CDLL(None, use_errno=True)
    rights = _all_fs_rights(abi)
    net = (_NET_CONNECT | _NET_BIND) if abi >= 4 else 0
    scoped = (_SCOPE_SIGNAL | _SCOPE_ABSTRACT_UNIX) if abi >= 6 else 0
    attr = _RulesetAttr(rights, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else ctypes.sizeof(_RulesetAttr)  # the struct grew with the ABI
    fd = libc.syscall(_SYS_CREATE, ctypes.byref(attr), size, 0)
    if fd < 0:
        return {"landlock": 0}
    try:
        _add_path_rules(libc, fd, rights, abi, writable, readable)
        if net & _NET_BIND:
            for port in bind_ports or ():
                rule = _NetPortAttr(_NET_BIND, int(port))
                libc.syscall(_SYS_ADD_RULE, fd, _RULE_NET_PORT, ctypes.byref(rule), 0)
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        ok = libc.syscall(_SYS_RESTRICT, fd, 0) == 0
    finally:
        os.close(fd)
    if not ok:
        return {"landlock": 0}
    return {"landlock": abi, "exec": False,
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
        add(path, rights & ~_EXECUTE)
    add("/dev/null", rights & ~_EXECUTE)


def describe(mode: dict | None) -> str:
    """One line for the reports: which fences a kernel actually ran under."""
    mode = mode or {}
    if mode.get("off"):
        return "none (the sandbox was turned off)"
    if not mode.get("audit_hook"):
        return "unknown (the kernel did not report its sandbox)"
    layers = []
    if mode.get("landlock"):
        net = mode.get("net") or []
        parts = ["files", "no programs" if mode.get("exec") is False else "",
                 "no TCP" if "tcp-connect" in net else "network NOT restricted (Landlock ABI < 4)"]
        parts = [p for p in parts if p]
        if "signal" in (mode.get("scoped") or []):
            parts.append("signals")
        layers.append(f"Landlock ABI {mode['landlock']} ({', '.join(parts)})")
    layers.append("audit hook")
    if mode.get("bwrap"):
        user = ("a user of its own" if mode.get("uid") else "no root") + ", no privileges"
        if mode.get("capabilities") not in (0, None):
            user = "privileges NOT dropped"
        inside = [f"own {', '.join(mode.get('namespaces') or [])} namespaces", "allow-listed files", user]
        if mode.get("nproc"):
            inside.append(f"at most {mode['nproc']} processes")
        return f"bubblewrap {mode['bwrap']} ({'; '.join(inside)}) + " + " + ".join(layers)
    if not mode.get("landlock"):
        return "audit hook only (no bubblewrap, Landlock missing or not applied)"
    return " + ".join(layers) + " (no bubblewrap)"


def is_weak(mode: dict | None) -> bool:
    """True where a kernel ran without bubblewrap's namespaces, root dropped and the process
    cap (so also where the sandbox was turned off, or is unknown)."""
    mode = mode or {}
    return not (mode.get("bwrap") and mode.get("audit_hook") and mode.get("capabilities") == 0
                and {"PID", "network"} <= set(mode.get("namespaces") or ()) and mode.get("nproc"))


WEAK_WARNING = ("the submissions did not run under bubblewrap, so they were fenced by Landlock and the Python "
                "audit hook alone: processes they start are not contained (they may outlive grading), UDP, "
                "raw and Unix-domain sockets are not refused, and without Landlock (Linux 5.13+) only the "
                "audit hook fenced them, which code using C extensions can get around; install bubblewrap "
                "(Debian/Ubuntu: apt-get install bubblewrap) and grade as root or with user namespaces on")
OFF_WARNING = ("the sandbox was turned off: the submissions ran without any fence (no bubblewrap, no Landlock, "
               "no audit hook, no memory, file-size or CPU limits), only under the grader's time and disk limits; "
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
    (each :func:`warning`, in a fixed order, with why bubblewrap was not
    used where a kernel said), empty where none was weak."""
    modes = [m for m in modes if m]
    weak = {warning(m) for m in modes} - {""}
    warnings = [w for w in (OFF_WARNING, UNKNOWN_WARNING, WEAK_WARNING) if w in weak]
    reasons = sorted({m.get("no_bwrap", "") for m in modes if warning(m) == WEAK_WARNING} - {""})
    warnings += [f"bubblewrap was not used: {r}" for r in reasons]
    return sorted({describe(m) for m in modes}), warnings


# --------------------------------------------------------- audit hook ----

_BLOCKED_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "pty.spawn", "os.startfile", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function",
    "ctypes.cdata", "ctypes.string_at", "ctypes.wstring_at", "ctypes.set_errno", "sys.remote_exec",
    # a sub-interpreter has an import system and audit hooks of its own: none of these fences, no marks
    "cpython.PyInterpreterState_New",
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
_AF_UNIX = 1
REFERENCE_EVENT = "coursekit.reference"  # raised by the first line of every coursekit function (refcalls)


def _called_by_own_code(code, module: str, name: str, str=str, getattr=getattr) -> bool:
    """Whether a marked coursekit function (``code``, in ``module``) called ``name``
    ("module:qualname", also a marked function) as part of its own code, not as something it
    was handed.

    A function is handed in where a coursekit function takes a callable (a decorator's wrapper,
    a layer's activation, a numerical gradient): an answer could pass the reference through it,
    ``threads_as_train(pla_update)(w, x, y)``, and the call would look like a helper's. So a
    call counts as the caller's own when the caller's code names the callee (a global or an
    attribute: ``_check_w(w)``, ``self.forward(x)``), when the callee is a function nested in
    the caller's scope, or an operator's method (``__add__``); a private helper (``_name``)
    also when it is called from its own module (a table of operations, ``ops[op](...)``).
    Everything else is the answer's call."""
    callee_module, _, qualname = name.partition(":")
    scope, _, short = qualname.rpartition(".")
    if short[:2] == "__" and short[-2:] == "__" or short in code.co_names:
        return True
    if scope.endswith(".<locals>"):
        outer = scope[:-len(".<locals>")]
        caller = str(getattr(code, "co_qualname", code.co_name))
        if caller == outer or caller.startswith(scope + "."):
            return True
    return short[:1] == "_" and callee_module == module


def install_audit_hook(scratch: str, deny: list[str], keep: list[str], *, readable=(os.sep,), writable=(),
                       record_fd: int | None = None, code_maker=None) -> None:
    """Refuse file access outside the fences, network sockets, new programs,
    signals to others, and building code objects from parts; send each call
    of a coursekit function (the ``coursekit.reference`` event its code
    raises) to the grader on ``record_fd``.

    Reading is allowed under ``readable`` (the allow-list) and ``keep``,
    except under ``deny``; writing only in ``scratch`` and ``writable``.
    The ``open`` event does not say which folder a relative path is relative
    to (``os.open(name, dir_fd=fd)``), so folders outside the scratch
    directory cannot be opened (no such descriptor exists) and relative paths
    may not climb with ``..``; the other events give their ``dir_fd``, which
    is resolved through ``/proc/self/fd``.

    The record descriptor is checked before every write (the same socket,
    by device and inode): closing it, or putting another file in its place,
    makes every later call of a coursekit function fail, instead of going
    unrecorded. Code objects may be built from parts only by ``code_maker``
    (the code of :func:`coursekit.grading.refcalls.inject`), so the mark in a
    reference function's code cannot be cut out of a copy of it.

    Everything the hooks use is bound now, as default arguments (no closures:
    a closure's cells can be rewritten): replacing a module attribute later
    does not change it, and changing a function's defaults or code is itself
    refused (the ``object.__setattr__`` event).
    """
    import _socket

    scratch = os.path.realpath(scratch)
    writable = (scratch, *(os.path.realpath(w) for w in writable), "/dev/null", "/dev/tty")
    keep = tuple(os.path.realpath(k) for k in keep) + writable
    # (scratch, writable, deny, keep, my pid, readable): a plain tuple, nothing in it can be changed
    fences = (scratch, writable, tuple(os.path.realpath(d) for d in deny), keep, os.getpid(),
              tuple(os.path.realpath(r) for r in readable) + writable + keep)
    record = (-1, -1, -1)
    if record_fd is not None:
        st = os.fstat(record_fd)
        record = (record_fd, st.st_dev, st.st_ino)
    family_of = _socket.socket.family.__get__  # the C field: a subclass cannot fake it

    def hook(event, args, f=fences, check_open=_check_open, check_paths=_check_paths, blocked=_BLOCKED_EVENTS,
             path_events=_PATH_EVENTS, family_of=family_of, unix=_AF_UNIX, len=len, getattr=getattr,
             isinstance=isinstance, str=str, PermissionError=PermissionError, this_file=__file__, rec=record,
             fstat=os.fstat, write=os.write, getframe=sys._getframe, code_maker=code_maker, ref=REFERENCE_EVENT,
             resolve=_resolve, under=_under, audit=sys.audit, any=any, by_own_code=_called_by_own_code):
        if event == ref:
            st = fstat(rec[0])  # OSError where the descriptor was closed: the call fails
            if st.st_dev != rec[1] or st.st_ino != rec[2]:
                raise PermissionError("grading sandbox: the record of calls to the grader was tampered with")
            name = args[0] if len(args) == 1 and isinstance(args[0], str) else "?"
            # "i": called by another coursekit function's own code (a helper of a helper), "o": by
            # anything else, a coursekit function that calls what it was handed included
            try:
                caller = getframe(2)
                module = str(caller.f_globals.get("__name__", ""))
                inner = any(c is audit for c in caller.f_code.co_consts) and \
                    not module.startswith("coursekit.checks") and by_own_code(caller.f_code, module, name)
            except ValueError:
                inner = False
            write(rec[0], ("\0" + name + ("\1i\n" if inner else "\1o\n")).encode("utf-8", "replace"))
        elif event == "open":
            check_open(f, args)
        elif event in path_events:
            check_paths(f, event, args)
        elif event in blocked:
            raise PermissionError(f"grading sandbox: {event} is not allowed while grading")
        elif event == "code.__new__":
            if getframe(1).f_code is not code_maker:
                raise PermissionError("grading sandbox: building code objects from parts (code.replace, "
                                      "types.CodeType) is not allowed while grading")
        elif event == "socket.__new__":
            if len(args) > 1 and args[1] not in (unix, -1):
                raise PermissionError("grading sandbox: network sockets are not allowed while grading")
        elif event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
            if family_of(args[0]) != unix:
                raise PermissionError("grading sandbox: network connections are not allowed while grading")
            address = args[1] if len(args) > 1 else None
            if event == "socket.sendmsg" and address is None:
                return
            # a socket file in the kernel's own folders only; never an abstract one (another program's)
            path = resolve(address) if isinstance(address, (str, bytes)) and address[:1] not in ("\0", b"\0", "", b"") \
                else None
            if path is None or not under(path, f[1]):
                raise PermissionError("grading sandbox: connecting to other programs' sockets is not allowed")
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
    if not under(path, f[5]) or (under(path, f[2]) and not under(path, f[3])):
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
        # listing a folder outside the allow-list is left to Landlock (which makes it fail as
        # "not found" for the libraries that look for optional files); the denied folders are refused here too
        if not writes and ((under(path, f[2]) and not under(path, f[3])) or other_process(path, f[4])):
            raise PermissionError(f"grading sandbox: {event} on {path} is not allowed")


# ------------------------------------------------------------- launch ----

def _namespaces() -> list[str]:
    """The namespaces this process is seen to have of its own (checked, not assumed)."""
    found = []
    try:
        with open("/proc/1/comm") as f:
            if f.read().strip() == "bwrap" and os.getpid() < 100:  # bwrap is process 1: a PID namespace of ours
                found.append("PID")
    except OSError:
        pass
    try:
        import socket

        if [name for _, name in socket.if_nameindex()] == ["lo"]:
            found.append("network")
    except OSError:
        pass
    if os.uname().nodename == "grading":
        found.append("UTS")
    found += ["IPC", "mount"]  # made with the others (bwrap --unshare-ipc, and the file view itself)
    return found


STREAM_CHUNK = 2**19  # characters of printed output per message: far under the grader's cap on one message


def _chunk_output() -> None:
    """Printed output leaves in messages of at most STREAM_CHUNK characters, so that a long print
    is cut short by the grader (and reported), not refused as one message over its cap; and as
    text that can be sent (a lone surrogate, from an exception message, would otherwise make
    every later flush of the stream fail)."""
    import re

    lone = re.compile("[\ud800-\udfff]")
    from ipykernel.iostream import OutStream

    buffers = OutStream._flush_buffers

    def _flush_buffers(self):
        for parent, data in buffers(self):
            data = lone.sub("\ufffd", data)
            for start in range(0, max(len(data), 1), STREAM_CHUNK):
                yield parent, data[start:start + STREAM_CHUNK]

    OutStream._flush_buffers = _flush_buffers


def safe_packer(obj) -> bytes:
    """The kernel's message packer: JSON in ASCII, so that a lone surrogate (an exception message
    can hold one) travels escaped instead of making the message fail to send."""
    from jupyter_client.session import json_clean, json_default

    try:
        return json.dumps(obj, default=json_default, ensure_ascii=True, allow_nan=False).encode("ascii")
    except (TypeError, ValueError):
        return json.dumps(json_clean(obj), default=json_default, ensure_ascii=True).encode("ascii")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    policy_path = argv[argv.index("--policy") + 1]
    with open(policy_path) as f:
        policy = json.load(f)
    rest = [a for i, a in enumerate(argv) if a != "--policy" and (i == 0 or argv[i - 1] != "--policy")]
    die_with_parent()
    set_limits(policy.get("memory_mb"), policy.get("file_mb"), policy.get("cpu_s"), policy.get("nproc"))
    from . import refcalls

    refcalls.install()  # before any coursekit module with a reference implementation is imported
    from ipykernel import kernelapp  # load what IPython needs before the fences go up

    _chunk_output()

    scratch, runtime = policy["scratch"], policy["runtime"]
    mode: dict = {}
    if policy.get("bwrap"):
        mode.update(bwrap=policy["bwrap"], namespaces=_namespaces())
    else:
        mode["no_bwrap"] = policy.get("no_bwrap", "")
    if policy.get("uid") is not None:
        mode.update(drop_privileges(int(policy["uid"])))
    else:
        mode.update(uid=os.getuid(), capabilities=_effective_capabilities())
    if policy.get("nproc"):
        mode["nproc"] = int(policy["nproc"])
    keep = list(policy.get("keep", [])) + [scratch, runtime]  # readable even inside a denied folder
    # under bubblewrap the file view is the allow-list; without it, the allow-list is drawn here
    allow = [os.sep] if policy.get("bwrap") else list(FALLBACK_READABLE) + keep
    deny = [] if policy.get("bwrap") else list(policy.get("deny", []))
    if policy.get("landlock", True):
        mode.update(apply_landlock([scratch, runtime], readable_roots(deny, keep, allow)))
    else:
        mode["landlock"] = 0
    install_audit_hook(scratch, deny, keep, readable=allow, writable=[runtime], record_fd=policy.get("record_fd"),
                       code_maker=refcalls.inject.__code__)
    mode["audit_hook"] = True
    os.environ[ENV_MODE] = json.dumps(mode)
    rest += ["--Session.packer=coursekit.grading.sandbox.safe_packer",
             "--Session.unpacker=jupyter_client.session.json_unpacker"]
    kernelapp.launch_new_instance(argv=rest)


if __name__ == "__main__":
    main()
