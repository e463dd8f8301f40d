"""One sandboxed kernel, driven cell by cell with time, output and disk limits."""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

from jupyter_client import KernelManager

from . import rpc
from .sandbox import ENV_MODE

MAX_OUTPUT_CHARS = 20_000  # kept per cell for the feedback; the rest is counted, not stored
MAX_FILES = 10_000  # files the kernel may create in its scratch directory
DISK_POLL_S = 0.25  # how often the scratch directory is measured while a cell runs
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TEMP_PREFIX = "coursekit-grade"  # every grader folder under the temp folder starts so (all are hidden from kernels)
# the grader's environment may hold secrets (tokens, keys): the kernel gets only these
_ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH")
_ENV_KEEP_PREFIX = ("LC_", "CUDA_", "OMP_", "MKL_", "OPENBLAS_")


@dataclass
class CellRun:
    status: str  # "ok", "error", "timeout" (interrupted), "stuck" (killed), "dead" (kernel gone), "disk" (killed)
    text: str = ""
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    seconds: float = 0.0
    output_chars: int = 0
    results: list = field(default_factory=list)  # payloads of rpc.MIME display messages
    earlier: bool = False  # the kernel had been stopped before this run (status and evalue say why)

    @property
    def truncated(self) -> bool:
        return self.output_chars > MAX_OUTPUT_CHARS


class _SandboxKernelManager(KernelManager):
    """Starts ``python -m coursekit.grading.sandbox`` instead of ipykernel_launcher."""

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        policy = getattr(self, "_policy_path", None)
        if policy and "ipykernel_launcher" in cmd:
            i = cmd.index("ipykernel_launcher")
            cmd = [sys.executable] + cmd[1:i] + ["coursekit.grading.sandbox", "--policy", policy] + cmd[i + 1:]
        return cmd


def keep_readable() -> list[str]:
    """What the kernel must read: the Python installation, the coursekit package
    and the data sets it ships (``datasets/`` next to the package in a source checkout)."""
    import coursekit

    package = Path(coursekit.__file__).resolve().parent
    keep = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, str(package)}
    if (package.parent / "datasets").is_dir():
        keep.add(str(package.parent / "datasets"))
    keep.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
    return sorted(os.path.realpath(k) for k in keep)


class KernelSession:
    """A kernel working in ``home/scratch`` that may not touch ``deny``.

    ``home`` is a private folder (see :func:`make_run_dir`) holding the
    kernel's scratch directory, its connection file and its sandbox policy;
    the grader denies the kernel the whole folder but for its own scratch
    directory (and its own connection file, which it reads at start), and,
    under ``coursekit grade``, every other kernel's folder too."""

    def __init__(self, home: str | Path, *, deny=(), memory_mb: int | None = 2048, file_mb: int | None = 64,
                 disk_mb: int | None = 512, cpu_s: int | None = None, sandbox: bool = True, landlock: bool = True,
                 startup_timeout: float = 60):
        self.home = Path(home)
        self.scratch = self.home / "scratch"
        self.runtime = self.home / "runtime"
        self.deny = [str(d) for d in deny] + [str(self.home)]
        self.memory_mb, self.file_mb, self.disk_mb, self.cpu_s = memory_mb, file_mb, disk_mb, cpu_s
        self.sandbox, self.landlock = sandbox, landlock
        self.startup_timeout = startup_timeout
        self.km = self.kc = None
        self.dead = False
        self.ended: CellRun | None = None  # the run that stopped the kernel (killed or died)
        self.mode: dict | None = None  # the sandbox actually applied, as the kernel reports it
        self.next_disk_check = 0.0  # a run's own last look at the scratch directory is skipped before this time
        self.disk_unchecked = False  # a run ended without that last look (see check_disk)

    # ------------------------------------------------------------ life ----
    def start(self) -> None:
        self.runtime.mkdir(parents=True, exist_ok=True)
        for sub in ("tmp", ".ipython", ".config"):
            (self.scratch / sub).mkdir(parents=True, exist_ok=True)
        km = _SandboxKernelManager(kernel_name="python3")
        km.connection_file = str(self.runtime / "kernel.json")
        if self.sandbox:
            km._policy_path = self._write_policy(km.connection_file)
        km.start_kernel(cwd=str(self.scratch), env=self._env(), stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, extra_arguments=["--HistoryManager.enabled=False"])
        self.km = km
        self.kc = km.client()
        self.kc.start_channels()
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
        return env

    def _write_policy(self, connection_file: str) -> str:
        # other grader folders in the temp folder (other runs, validations) are hidden too
        others = glob.glob(os.path.join(tempfile.gettempdir(), TEMP_PREFIX + "*"))
        policy = self.home / "policy.json"
        policy.write_text(json.dumps({
            "scratch": str(self.scratch), "deny": self.deny + others,
            "keep": keep_readable() + [connection_file, str(self.scratch)], "memory_mb": self.memory_mb,
            "file_mb": self.file_mb, "cpu_s": self.cpu_s, "landlock": self.landlock}))
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
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except Empty:
                msg = None
            if msg is not None and msg.get("parent_header", {}).get("msg_id") == msg_id:
                kind, content = msg["msg_type"], msg["content"]
                if kind == "status" and content.get("execution_state") == "idle":
                    idle = True
                elif kind == "stream":
                    keep(content.get("text", ""))
                elif kind in ("execute_result", "display_data"):
                    data = content.get("data", {})
                    if rpc.MIME in data:
                        run.results.append(data[rpc.MIME])
                    else:
                        keep(str(data.get("text/plain", "")) + "\n")
                elif kind == "error":
                    run.traceback = ANSI.sub("", "\n".join(content.get("traceback", [])))[-MAX_OUTPUT_CHARS:]
            if reply is None:
                try:
                    shell = self.kc.get_shell_msg(timeout=0)
                except Empty:
                    shell = None
                if shell is not None and shell.get("parent_header", {}).get("msg_id") == msg_id:
                    reply = shell["content"]
            if msg is None and reply is None and not self.km.is_alive():
                self.dead, self.ended = True, run
                run.status, run.evalue = "dead", "the kernel stopped (the code exited or crashed the process)"
                break
        run.seconds = time.monotonic() - start
        run.text = "".join(texts)
        if run.status == "ok" and reply is not None and reply.get("status") != "ok":
            run.status = "timeout" if interrupted else "error"
            run.ename, run.evalue = reply.get("ename", ""), str(reply.get("evalue", ""))[:2000]
        if run.status not in ("dead", "stuck", "disk"):
            if settle or time.monotonic() >= self.next_disk_check:
                self._stop_if_over_disk(run)  # what a short cell wrote between two checks
            else:
                self.disk_unchecked = True
        return run

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
