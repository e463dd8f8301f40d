"""One sandboxed kernel, driven cell by cell with time, output, message and disk limits."""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from jupyter_client import KernelManager
from zmq.utils.monitor import recv_monitor_message

from . import bwrap as B
from . import rpc
from .refcalls import Collector
from .sandbox import ENV_MODE

MAX_OUTPUT_CHARS = 20_000  # kept per cell for the feedback; the rest is counted, not stored
MAX_FILES = 10_000  # files the kernel may create in its scratch directory
DISK_POLL_S = 0.25  # how often the scratch directory is measured while a cell runs
# what the grader accepts from a kernel: one message part (ZeroMQ refuses a larger one and drops the
# connection), the messages waiting in a channel's queue, and all it sends in one notebook
MAX_MESSAGE_BYTES = 8 * 2**20
QUEUE_MESSAGES = 32
MAX_TOTAL_BYTES = 256 * 2**20
NPROC = 64  # processes (threads count too) a kernel's user may have
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TEMP_PREFIX = "coursekit-grade"  # every grader folder under the temp folder starts so (all are hidden from kernels)
# the grader's environment may hold secrets (tokens, keys): the kernel gets only these
_ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH")
_ENV_KEEP_PREFIX = ("LC_", "CUDA_", "OMP_", "MKL_", "OPENBLAS_")


@dataclass
class CellRun:
    # "ok", "error", "timeout" (interrupted), "stuck" (killed), "dead" (kernel gone), "disk" or "output" (killed)
    status: str
    text: str = ""
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    seconds: float = 0.0
    output_chars: int = 0
    results: list = field(default_factory=list)  # the last payload of an rpc.MIME display message, if any
    earlier: bool = False  # the kernel had been stopped before this run (status and evalue say why)

    @property
    def truncated(self) -> bool:
        return self.output_chars > MAX_OUTPUT_CHARS


class _SandboxKernelManager(KernelManager):
    """Starts ``python -m coursekit.grading.sandbox`` (inside bubblewrap where planned) instead of
    ipykernel_launcher, and hands the kernel's own user its connection file."""

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        policy = getattr(self, "_policy_path", None)
        if policy and "ipykernel_launcher" in cmd:
            i = cmd.index("ipykernel_launcher")
            cmd = [sys.executable] + cmd[1:i] + ["coursekit.grading.sandbox", "--policy", policy] + cmd[i + 1:]
            cmd = list(getattr(self, "_prefix", [])) + cmd
        return cmd

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        uid = getattr(self, "_owner", None)
        if uid is not None:
            os.chown(self.connection_file, uid, uid)


def keep_readable() -> list[str]:
    """What the kernel must read: the Python installation, the coursekit package and its data sets."""
    return B.python_paths()


def _client_context() -> zmq.Context:
    """The grader's sockets to a kernel: a message part over MAX_MESSAGE_BYTES is refused by ZeroMQ
    before it is read into memory, and at most QUEUE_MESSAGES wait in each channel."""
    ctx = zmq.Context()
    ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    ctx.setsockopt(zmq.RCVHWM, QUEUE_MESSAGES)
    return ctx


class KernelSession:
    """A kernel working in ``home/scratch`` that may not touch ``deny``.

    ``home`` is a private folder (see :func:`make_run_dir`) holding the
    kernel's scratch directory and its runtime folder (connection file,
    Unix sockets of its channels, sandbox policy). Under bubblewrap the
    kernel sees only these two folders of it, and the Python installation;
    without bubblewrap, the grader denies it the whole folder but for them
    and, under ``coursekit grade``, every other kernel's folder too."""

    def __init__(self, home: str | Path, *, deny=(), memory_mb: int | None = 2048, file_mb: int | None = 64,
                 disk_mb: int | None = 512, cpu_s: int | None = None, sandbox: bool = True, landlock: bool = True,
                 bwrap: bool = True, nproc: int | None = NPROC, max_total_bytes: int = MAX_TOTAL_BYTES,
                 startup_timeout: float = 60):
        self.home = Path(home)
        self.scratch = self.home / "scratch"
        self.runtime = self.home / "runtime"
        self.deny = [str(d) for d in deny] + [str(self.home)]
        self.memory_mb, self.file_mb, self.disk_mb, self.cpu_s = memory_mb, file_mb, disk_mb, cpu_s
        self.sandbox, self.landlock, self.use_bwrap, self.nproc = sandbox, landlock, bwrap, nproc
        self.startup_timeout = startup_timeout
        self.km = self.kc = None
        self.dead = False
        self.ended: CellRun | None = None  # the run that stopped the kernel (killed or died)
        self.mode: dict | None = None  # the sandbox actually applied, as the kernel reports it
        self.next_disk_check = 0.0  # a run's own last look at the scratch directory is skipped before this time
        self.disk_unchecked = False  # a run ended without that last look (see check_disk)
        self.received = 0  # bytes accepted from the kernel so far (messages and the record of calls)
        self.max_total_bytes = max_total_bytes
        self.calls: Collector | None = None  # the kernel's record of coursekit calls (see refcalls)
        self._monitors: list = []
        self._ctx: zmq.Context | None = None

    # ------------------------------------------------------------ life ----
    def start(self) -> None:
        self.runtime.mkdir(parents=True, exist_ok=True)
        for sub in ("tmp", ".ipython", ".config"):
            (self.scratch / sub).mkdir(parents=True, exist_ok=True)
        km = _SandboxKernelManager(kernel_name="python3")
        km.connection_file = str(self.runtime / "kernel.json")
        ipc = os.name == "posix"
        if ipc:  # the channels are Unix sockets: the kernel needs no network at all
            km.transport, km.ip = "ipc", str(self.runtime / "k")
        kwargs: dict = {}
        if self.sandbox:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 2**20)
            self.calls = Collector(ours)
            kwargs["pass_fds"] = (theirs.fileno(),)
            version, why = B.probe() if self.use_bwrap and ipc else ("", "turned off" if ipc else "no Unix sockets")
            uid = B.kernel_uid() if version else None
            env = self._env()
            if version:
                plan = B.plan(scratch=str(self.scratch), runtime=str(self.runtime), env=env, uid=uid)
                km._prefix = plan.argv
                km.kernel_spec.interrupt_mode = "message"  # SIGINT cannot cross bwrap's new session
            if uid is not None:
                km._owner = uid
                for folder in [self.scratch, *self.scratch.iterdir(), self.runtime]:
                    os.chown(folder, uid, uid)
            km._policy_path = self._write_policy(version=version, no_bwrap=why, uid=uid, record_fd=theirs.fileno())
        try:
            # COURSEKIT_GRADING_DEBUG=FILE keeps the kernels' own error output (sandbox problems) in FILE
            debug = os.environ.get("COURSEKIT_GRADING_DEBUG")
            errors = open(debug, "ab") if debug else subprocess.DEVNULL
            km.start_kernel(cwd=str(self.scratch), env=self._env(), stdout=subprocess.DEVNULL, stderr=errors, extra_arguments=["--HistoryManager.enabled=False"], **kwargs)
        finally:
            if self.sandbox:
                theirs.close()
        self.km = km
        self._ctx = _client_context()
        self.kc = km.client(context=self._ctx)
        self.kc.start_channels()
        for channel in (self.kc.iopub_channel, self.kc.shell_channel):
            self._monitors.append(channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED))
        self.kc.wait_for_ready(timeout=self.startup_timeout)
        if self.sandbox:
            self.mode = self._probe_mode()

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith(_ENV_KEEP_PREFIX)}
        scratch = self.scratch
        env.update({"HOME": str(scratch), "TMPDIR": str(scratch / "tmp"), "IPYTHONDIR": str(scratch / ".ipython"),
                    "MPLCONFIGDIR": str(scratch / ".config"), "XDG_CONFIG_HOME": str(scratch / ".config"),
                    "XDG_CACHE_HOME": str(scratch / ".config"), "JUPYTER_RUNTIME_DIR": str(scratch / "tmp"),
                    "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
                    "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"), "MPLBACKEND": "agg"})
        env.setdefault("PATH", "/usr/bin:/bin")
        return env

    def _write_policy(self, *, version: str, no_bwrap: str, uid: int | None, record_fd: int) -> str:
        # other grader folders in the temp folder (other runs, validations) are hidden too
        others = glob.glob(os.path.join(tempfile.gettempdir(), TEMP_PREFIX + "*"))
        policy = self.runtime / "policy.json"
        policy.write_text(json.dumps({
            "scratch": str(self.scratch), "runtime": str(self.runtime), "deny": self.deny + others,
            "keep": keep_readable(), "memory_mb": self.memory_mb, "file_mb": self.file_mb, "cpu_s": self.cpu_s,
            "nproc": self.nproc, "landlock": self.landlock, "bwrap": version, "no_bwrap": no_bwrap, "uid": uid,
            "record_fd": record_fd}))
        if uid is not None:
            os.chown(policy, uid, uid)
        return str(policy)

    def _probe_mode(self) -> dict | None:
        """What the sandbox applied, asked before any student code runs (so it cannot be forged)."""
        run = self.run(f"print(__import__('os').environ.get({ENV_MODE!r}, ''))", 30)
        try:
            return json.loads(run.text.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None

    def shutdown(self) -> None:
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        for monitor in self._monitors:
            try:
                monitor.close(linger=0)
            except Exception:
                pass
        if self.km is not None:
            try:
                if self.km.has_kernel:
                    self.km.shutdown_kernel(now=True)
            except Exception:
                pass
            try:
                self.km.cleanup_resources()
            except Exception:
                pass
        if self.calls is not None:
            self.calls.close()
        if self._ctx is not None:
            try:
                self._ctx.destroy(linger=0)
            except Exception:
                pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        return False

    def alive(self) -> bool:
        return not self.dead and self.km is not None and self.km.is_alive()

    # ------------------------------------------------------------- run ----
    def run(self, code: str, timeout: float, grace: float = 5.0, *, settle: bool = True) -> CellRun:
        """Execute ``code``; past ``timeout`` seconds interrupt it (KeyboardInterrupt),
        and if it still runs ``grace`` seconds later, kill the kernel.

        The scratch directory is measured every ``DISK_POLL_S`` while it runs
        and once more when it ends, so that what it wrote is blamed on it; with
        ``settle=False`` (the many short calls of a re-check) that last look is
        skipped if the previous one was less than ``DISK_POLL_S`` ago, and
        :meth:`check_disk` makes up for it when the calls are over."""
        if not self.alive():
            self.dead = True
            why = self.ended or CellRun("dead", evalue="the kernel stopped")
            return CellRun(why.status, evalue=why.evalue, earlier=True)
        start = time.monotonic()
        msg_id = self.kc.execute(code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False)
        run = CellRun("ok")
        texts: list[str] = []
        deadline, interrupted = start + max(timeout, 0.1), False
        reply, idle = None, False

        def keep(text: str):
            run.output_chars += len(text)
            room = MAX_OUTPUT_CHARS - sum(map(len, texts))
            if room > 0:
                texts.append(text[:room])

        poll_at = start + DISK_POLL_S
        while reply is None or not idle:
            now = time.monotonic()
            if now >= poll_at:
                poll_at = now + DISK_POLL_S
                if self._stop_if_over_disk(run):
                    break
            if now > deadline:
                if not interrupted:
                    interrupted = True
                    try:
                        self.km.interrupt_kernel()
                    except Exception:
                        pass
                    deadline = now + grace
                    continue
                run.status, run.evalue = "stuck", "did not stop when interrupted; the kernel was stopped"
                self._kill(run)
                break
            msg = self._recv(self.kc.iopub_channel, 0.05, run)
            if run.status == "output":
                break
            if msg is not None and msg.get("parent_header", {}).get("msg_id") == msg_id:
                kind, content = msg.get("msg_type"), msg.get("content") or {}
                if kind == "status" and content.get("execution_state") == "idle":
                    idle = True
                elif kind == "stream":
                    keep(str(content.get("text", "")))
                elif kind in ("execute_result", "display_data"):
                    data = content.get("data", {}) if isinstance(content.get("data"), dict) else {}
                    if rpc.MIME in data:
                        run.results[:] = [data[rpc.MIME]]  # only the last one counts (a flood is not kept)
                    else:
                        keep(str(data.get("text/plain", ""))[:MAX_OUTPUT_CHARS] + "\n")
                elif kind == "error":
                    tb = content.get("traceback", [])
                    tb = "\n".join(map(str, tb)) if isinstance(tb, list) else str(tb)
                    run.traceback = ANSI.sub("", tb[-4 * MAX_OUTPUT_CHARS:])[-MAX_OUTPUT_CHARS:]
            if reply is None:
                shell = self._recv(self.kc.shell_channel, 0, run)
                if run.status == "output":
                    break
                if shell is not None and shell.get("parent_header", {}).get("msg_id") == msg_id:
                    reply = shell.get("content") if isinstance(shell.get("content"), dict) else {"status": "error"}
            if self._over_limits(run):
                break
            if msg is None and reply is None and not self.km.is_alive():
                self.dead, self.ended = True, run
                run.status, run.evalue = "dead", "the kernel stopped (the code exited or crashed the process)"
                break
        run.seconds = time.monotonic() - start
        run.text = "".join(texts)
        if run.status == "ok" and reply is not None and reply.get("status") != "ok":
            run.status = "timeout" if interrupted else "error"
            run.ename, run.evalue = str(reply.get("ename", ""))[:200], str(reply.get("evalue", ""))[:2000]
        if run.status not in ("dead", "stuck", "disk", "output"):
            if settle or time.monotonic() >= self.next_disk_check:
                self._stop_if_over_disk(run)  # what a short cell wrote between two checks
            else:
                self.disk_unchecked = True
        return run

    def _recv(self, channel, timeout: float, run: CellRun) -> dict | None:
        """One message from ``channel`` (None if none came in ``timeout`` s), its bytes counted.

        A message the grader cannot read (not signed, not JSON, nested too
        deeply) is dropped; one the kernel sent too large (ZeroMQ cut the
        connection) stops the kernel."""
        sock = channel.socket
        try:
            if not sock.poll(int(timeout * 1000)):
                self._check_monitors(run)
                return None
            frames = sock.recv_multipart(copy=True)
        except zmq.ZMQError:
            return None
        self.received += sum(map(len, frames))
        try:
            _, frames = self.kc.session.feed_identities(frames)
            msg = self.kc.session.deserialize(frames)
        except (Exception, RecursionError):  # noqa: BLE001 - whatever the kernel sent, it cannot crash the grader
            return None
        return msg if isinstance(msg, dict) else None

    def _check_monitors(self, run: CellRun) -> None:
        """A channel cut by ZeroMQ while the kernel lives: it sent a message part over MAX_MESSAGE_BYTES."""
        for monitor in self._monitors:
            try:
                while monitor.poll(0):
                    event = recv_monitor_message(monitor)
                    if event.get("event") != zmq.EVENT_DISCONNECTED:
                        continue
                    for _ in range(10):  # a kernel that exits also drops its connections
                        if not self.km.is_alive():
                            return
                        time.sleep(0.05)
                    self._stop_output(run, f"sent a message larger than {MAX_MESSAGE_BYTES // 2**20} MB to the "
                                           "grader")
                    return
            except zmq.ZMQError:
                continue

    def _over_limits(self, run: CellRun) -> bool:
        """Stop the kernel once it has sent more than ``max_total_bytes`` (messages and records together)."""
        if self.calls is not None:
            self.received += self.calls.drain()
        if self.received <= self.max_total_bytes:
            return False
        self._stop_output(run, f"sent more than {self.max_total_bytes / 2**20:g} MB of messages to the grader")
        return True

    def _stop_output(self, run: CellRun, why: str) -> None:
        run.status, run.evalue = "output", why
        self._kill(run)

    def check_disk(self) -> CellRun | None:
        """The last look that runs with ``settle=False`` skipped, if any was:
        the run that stopped the kernel for its disk use, else None."""
        if not self.disk_unchecked or not self.alive():
            return None
        run = CellRun("ok")
        return run if self._stop_if_over_disk(run) else None

    def _stop_if_over_disk(self, run: CellRun) -> bool:
        """Kill the kernel if its scratch directory grew past the disk limit.
        (Its files go when the notebook ends: ``execute`` removes the kernel's folder.)"""
        if not self.disk_mb:
            return False
        self.next_disk_check, self.disk_unchecked = time.monotonic() + DISK_POLL_S, False
        size, files = scratch_usage(self.scratch, MAX_FILES)
        if size <= self.disk_mb * 2**20 and files <= MAX_FILES:
            return False
        run.status = "disk"
        run.evalue = (f"wrote more than {self.disk_mb} MB in its working directory" if files <= MAX_FILES
                      else f"created more than {MAX_FILES:,} files in its working directory")
        self._kill(run)
        return True

    def _kill(self, run: CellRun) -> None:
        self.dead, self.ended = True, run
        try:
            self.km.kill_kernel()
        except Exception:
            pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    # ------------------------------------------------------------- rpc ----
    def call(self, name: str, payload: str | None, timeout: float) -> tuple[CellRun, dict | None]:
        code = f"__import__('coursekit.grading.rpc', fromlist=['call']).call({name!r}, {payload!r})"
        run = self.run(code, timeout, settle=False)
        result = None
        for text in run.results[-1:]:
            try:
                result = json.loads(text)
            except ValueError:
                result = None
        return run, result


def scratch_usage(folder: Path, max_files: int) -> tuple[int, int]:
    """(bytes on disk, number of entries) under ``folder``; stops at the first
    entry past ``max_files`` (then the count is ``max_files + 1`` and the size
    only what was measured so far), without listing the rest of its folder."""
    size, count, todo = 0, 0, [str(folder)]
    while todo:
        try:
            with os.scandir(todo.pop()) as entries:
                for entry in entries:
                    count += 1
                    if count > max_files:
                        return size, count
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    size += st.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
        except OSError:
            continue
    return size, count


def make_run_dir(base: str | Path | None = None) -> Path:
    """A private folder (mode 0700) for one kernel: ``scratch/``, ``runtime/``, its policy.

    ``base`` is ``coursekit grade``'s batch folder (hidden from every kernel);
    by default the system temp folder."""
    path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "-", dir=base))
    os.chmod(path, 0o700)
    return path


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
