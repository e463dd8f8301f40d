"""The kernel that runs a submission, fenced in before any student code runs.

``python -m coursekit.grading.sandbox --policy FILE -f CONNECTION_FILE`` is the
kernel command the grader uses. Before IPython starts it

1. sets resource limits: address space (memory), the largest file it may
   write, no core dumps;
2. applies a Linux **Landlock** rule set (kernel 5.13+, no root needed): the
   process and its children may write only in the scratch directory, may not
   read the instructor's source notebooks, the grader's output folder, the
   submissions folder or the home directory (the Python installation and the
   coursekit package stay readable), and (Landlock ABI 6+) may not send
   signals to processes outside the sandbox;
3. installs a Python audit hook (it cannot be removed once added) that
   refuses, with a ``PermissionError``, the same file accesses plus starting
   programs (``subprocess``, ``os.system``, ``exec``, ``fork``), signalling
   other processes, and the ``ctypes`` calls that could undo the fences.

Landlock is the real fence (enforced by the OS kernel); the audit hook is the
fallback where Landlock is missing and gives clearer error messages. Neither
limits network access: run the grader on a machine without secrets on its
network if that matters to you.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

# ------------------------------------------------------------ rlimits ----

def set_limits(memory_mb: int | None, file_mb: int | None) -> None:
    if memory_mb:
        limit = int(memory_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if file_mb:
        limit = int(file_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# ----------------------------------------------------------- Landlock ----

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # same numbers on x86_64 and arm64
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH = 1
_READ = (1 << 0) | (1 << 2) | (1 << 3)  # EXECUTE | READ_FILE | READ_DIR
_SCOPE_SIGNAL = 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _all_fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM (ABI 1)
    if abi >= 2:
        rights |= 1 << 13  # REFER
    if abi >= 3:
        rights |= 1 << 14  # TRUNCATE
    if abi >= 5:
        rights |= 1 << 15  # IOCTL_DEV
    return rights


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


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


def apply_landlock(writable: list[str], readable: list[str]) -> int:
    """Restrict this process (and its children) to ``readable`` (read, execute)
    and ``writable`` (everything). Returns the Landlock ABI used, 0 where the
    OS kernel has no Landlock (then nothing is restricted by it)."""
    abi = landlock_abi()
    if abi < 1:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    rights = _all_fs_rights(abi)
    attr = _RulesetAttr(rights, 0, _SCOPE_SIGNAL if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16
    fd = libc.syscall(_SYS_CREATE, ctypes.byref(attr), size, 0)
    if fd < 0:
        return 0
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
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    ok = libc.syscall(_SYS_RESTRICT, fd, 0) == 0
    os.close(fd)
    return abi if ok else 0


# --------------------------------------------------------- audit hook ----

_BLOCKED_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "pty.spawn", "os.startfile", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function",
    "ctypes.cdata", "ctypes.string_at", "ctypes.wstring_at", "ctypes.set_errno", "sys.remote_exec",
})
_PATH_EVENTS = {  # event -> which arguments are paths, and whether the access writes
    "os.remove": ((0,), True), "os.rename": ((0, 1), True), "os.rmdir": ((0,), True),
    "os.mkdir": ((0,), True), "os.symlink": ((0, 1), True), "os.link": ((0, 1), True),
    "os.chmod": ((0,), True), "os.chown": ((0,), True), "os.truncate": ((0,), True),
    "os.utime": ((0,), True), "os.chflags": ((0,), True), "os.lchmod": ((0,), True),
    "os.setxattr": ((0,), True), "os.removexattr": ((0,), True), "shutil.rmtree": ((0,), True),
    "os.listdir": ((0,), False), "os.scandir": ((0,), False), "glob.glob": ((0,), False),
    "os.chdir": ((0,), False),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def install_audit_hook(scratch: str, deny: list[str], keep: list[str]) -> None:
    """Refuse file access outside the fences, new programs, and signals to others.

    Everything the hook uses is bound now, as default arguments: replacing a
    module attribute later does not change it, and changing a function's
    defaults or code is itself refused (the ``object.__setattr__`` event).
    """
    realpath, fspath, getpid = os.path.realpath, os.fspath, os.getpid
    scratch = realpath(scratch)
    writable = (scratch, "/dev/null", "/dev/tty")
    deny, keep = tuple(realpath(d) for d in deny), tuple(realpath(k) for k in keep)
    me = getpid()

    def resolve(path, realpath=realpath, fspath=fspath, isinstance=isinstance, int=int, bytes=bytes):
        if isinstance(path, int):
            return None  # an already-open descriptor was checked when it was opened
        try:
            text = fspath(path)
            text = text.decode("utf-8", "surrogateescape") if isinstance(text, bytes) else text
            return realpath(text)
        except Exception:
            return "?"

    def under(path, roots):
        for root in roots:
            if path == root or path.startswith(root.rstrip("/") + "/"):
                return True
        return False

    def hook(event, args, resolve=resolve, under=under, writable=writable, deny=deny, keep=keep, me=me,
             blocked=_BLOCKED_EVENTS, path_events=_PATH_EVENTS, write_flags=_WRITE_FLAGS,
             isinstance=isinstance, len=len, getattr=getattr, bool=bool, PermissionError=PermissionError,
             this_file=__file__):
        if event == "open":
            path = resolve(args[0])
            if path is None:
                return
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & write_flags)
            if writes and not under(path, writable):
                raise PermissionError(f"grading sandbox: writing outside the scratch directory is not allowed ({path})")
            if under(path, deny) and not under(path, keep):
                raise PermissionError(f"grading sandbox: reading {path} is not allowed")
        elif event in path_events:
            positions, writes = path_events[event]
            for i in positions:
                if i < len(args):
                    path = resolve(args[i])
                    if path is None:
                        continue
                    if writes and not under(path, writable):
                        raise PermissionError(f"grading sandbox: {event} outside the scratch directory is not allowed")
                    if not writes and under(path, deny) and not under(path, keep):
                        raise PermissionError(f"grading sandbox: {event} on {path} is not allowed")
        elif event in blocked:
            raise PermissionError(f"grading sandbox: {event} is not allowed while grading")
        elif event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            if event != "signal.pthread_kill" and args and args[0] not in (me, 0):
                raise PermissionError("grading sandbox: signalling other processes is not allowed")
        elif event == "object.__setattr__" and len(args) > 1 and (args[1] == "__code__" or (
                args[1] in ("__defaults__", "__kwdefaults__")
                and getattr(getattr(args[0], "__code__", None), "co_filename", "") == this_file)):
            raise PermissionError("grading sandbox: changing the code of a function, or the sandbox, is not allowed")

    sys.addaudithook(hook)


# ------------------------------------------------------------- launch ----

def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    policy_path = argv[argv.index("--policy") + 1]
    with open(policy_path) as f:
        policy = json.load(f)
    rest = [a for i, a in enumerate(argv) if a != "--policy" and (i == 0 or argv[i - 1] != "--policy")]
    # load what IPython needs while everything is still readable
    from ipykernel import kernelapp

    set_limits(policy.get("memory_mb"), policy.get("file_mb"))
    readable = readable_roots(policy["deny"], policy["keep"])
    abi = apply_landlock([policy["scratch"]], readable) if policy.get("landlock", True) else 0
    os.environ["COURSEKIT_SANDBOX"] = f"landlock-abi-{abi}" if abi else "audit-hook-only"
    install_audit_hook(policy["scratch"], policy["deny"], policy["keep"])
    kernelapp.launch_new_instance(argv=rest)


if __name__ == "__main__":
    main()
