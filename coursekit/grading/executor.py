"""One sandboxed kernel, driven cell by cell with time limits and output caps."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

from jupyter_client import KernelManager

from . import rpc

MAX_OUTPUT_CHARS = 20_000  # kept per cell for the feedback; the rest is counted, not stored
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class CellRun:
    status: str  # "ok", "error", "timeout" (interrupted), "stuck" (killed), "dead" (kernel gone)
    text: str = ""
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    seconds: float = 0.0
    output_chars: int = 0
    results: list = field(default_factory=list)  # payloads of rpc.MIME display messages

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
    """A kernel whose working directory is ``scratch`` and which may not touch ``deny``."""

    def __init__(self, scratch: str | Path, private: str | Path, *, deny=(), memory_mb: int | None = 2048,
                 file_mb: int | None = 64, sandbox: bool = True, startup_timeout: float = 60):
        self.scratch = Path(scratch)
        self.private = Path(private)
        self.deny = [str(d) for d in deny]
        self.memory_mb, self.file_mb, self.sandbox = memory_mb, file_mb, sandbox
        self.startup_timeout = startup_timeout
        self.km = self.kc = None
        self.dead = False

    # ------------------------------------------------------------ life ----
    def start(self) -> None:
        runtime = self.private / "runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        for sub in ("tmp", ".ipython", ".config"):
            (self.scratch / sub).mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JPY_", "JUPYTER_", "PYTEST", "COV_")) and k not in ("PYTHONPATH", "PYTHONSTARTUP")}
        env.update({"HOME": str(self.scratch), "TMPDIR": str(self.scratch / "tmp"),
                    "IPYTHONDIR": str(self.scratch / ".ipython"), "MPLCONFIGDIR": str(self.scratch / ".config"),
                    "XDG_CONFIG_HOME": str(self.scratch / ".config"), "XDG_CACHE_HOME": str(self.scratch / ".config"),
                    "JUPYTER_RUNTIME_DIR": str(runtime), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
                    "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"), "MPLBACKEND": "agg"})
        km = _SandboxKernelManager(kernel_name="python3")
        km.connection_file = str(runtime / "kernel.json")
        if self.sandbox:
            policy = self.private / "policy.json"
            policy.write_text(json.dumps({
                "scratch": str(self.scratch), "deny": self.deny + [str(self.private)],
                "keep": keep_readable() + [str(runtime), str(self.scratch)], "memory_mb": self.memory_mb, "file_mb": self.file_mb}))
            km._policy_path = str(policy)
        km.start_kernel(cwd=str(self.scratch), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        extra_arguments=["--HistoryManager.enabled=False"])
        self.km = km
        self.kc = km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout)

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
    def run(self, code: str, timeout: float, grace: float = 5.0) -> CellRun:
        """Execute ``code``; past ``timeout`` seconds interrupt it (KeyboardInterrupt),
        and if it still runs ``grace`` seconds later, kill the kernel."""
        if not self.alive():
            self.dead = True
            return CellRun("dead", evalue="the kernel had already stopped")
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

        while reply is None or not idle:
            now = time.monotonic()
            if now > deadline:
                if not interrupted:
                    interrupted = True
                    try:
                        self.km.interrupt_kernel()
                    except Exception:
                        pass
                    deadline = now + grace
                    continue
                self._kill()
                run.status, run.evalue = "stuck", "did not stop when interrupted; the kernel was stopped"
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
                self.dead = True
                run.status, run.evalue = "dead", "the kernel stopped (the code exited or crashed the process)"
                break
        run.seconds = time.monotonic() - start
        run.text = "".join(texts)
        if run.status == "ok" and reply is not None and reply.get("status") != "ok":
            run.status = "timeout" if interrupted else "error"
            run.ename, run.evalue = reply.get("ename", ""), str(reply.get("evalue", ""))[:2000]
        return run

    def _kill(self) -> None:
        self.dead = True
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
        run = self.run(code, timeout)
        result = None
        for text in run.results[-1:]:
            try:
                result = json.loads(text)
            except ValueError:
                result = None
        return run, result


def make_scratch(base: str | None = None) -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="coursekit-grade-", dir=base))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
