"""coursekit grade / validate: every way a submission can go, each with its expected score and status.

The whole class below is graded in one `grade()` call with -j 2 (one fixture),
then each test reads its student's row (and, for tampering, resource abuse
and escape attempts, its CSV status and problems and its feedback page); a
small synthetic notebook (NumPy and coursekit.checks.perceptron only) keeps
this fast. A second, two-student run (`duel`) has one kernel attack the
other's while both run.
"""
import csv
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursekit import perceptron as P
from coursekit.checks import perceptron as CP
from coursekit.grading import Limits, grade, release_notebook, validate
from coursekit.grading import batch, bwrap, grader, report, sandbox
from coursekit.grading.executor import scratch_usage
from coursekit.grading.grader import InvalidSubmission, load_submission, parse_check_call, rebuild, rebuild_released
from coursekit.grading import notebook as N
from helpers.grading import (CHECK, CORRECT_DOUBLE, CORRECT_PLA, DOUBLE_TEST, WRONG_PLA, cell_by_id, nbmeta,
                             source_notebook, with_answers)

pytestmark = pytest.mark.slow


def hard_coded_pla():
    """A lookup table of the visible (seed 0) test inputs only: zeros anywhere else."""
    table = []

    def record(w, x, y):
        table.append((np.asarray(w).tolist(), np.asarray(x).tolist(), float(y)))
        return P.pla_update(w, x, y)

    assert CP.check_pla_update(record, verbose=False).passed
    return textwrap.dedent(f"""
        import numpy as np
        _TABLE = {table!r}
        def pla_update(w, x, y):
            for tw, tx, ty in _TABLE:
                if np.shape(tw) == np.shape(w) and np.shape(tx) == np.shape(x) and \\
                        np.allclose(tw, w) and np.allclose(tx, x) and ty == float(y):
                    return np.asarray(tw) + ty * np.asarray(tx)
            return np.zeros_like(np.asarray(w, dtype=float))
        """)


def without_nbgrader_metadata(nb):
    """The notebook as if copied into a fresh one: no cell carries nbgrader metadata."""
    for cell in nb.cells:
        cell.metadata = {}
    nb.metadata.pop(N.MANIFEST_KEY, None)
    return nb


def as_nbformat_2(nb) -> str:
    """The same cells written in the 2011 nbformat 2 (no cell metadata at all)."""
    v2 = nbformat.v2
    cells = [v2.new_code_cell(input=N.cell_source(c)) if c.cell_type == "code"
             else v2.new_text_cell("markdown", source=N.cell_source(c)) for c in nb.cells]
    return v2.writes_json(v2.new_notebook(worksheets=[v2.new_worksheet(cells=cells)]))


def report_printer(tag: str, report_expr: str) -> str:
    """An answer `double` that is correct and prints `report_expr` (JSON) when
    the test cell calls it: how a kernel's findings reach the test (its
    answer cells' own output is not kept)."""
    return textwrap.dedent(f"""
        def double(x):
            print({tag!r} + json.dumps({report_expr}))
            return 2 * x
        """)


def printed_report(graded_or_results, student: str, tag: str) -> dict:
    results = graded_or_results["results"] if "results" in graded_or_results else graded_or_results
    output = {e.grade_id: e.output for e in results[student].exercises}["check_double"]
    line = next(line for line in output.splitlines() if line.startswith(tag))
    return json.loads(line[len(tag):])


REPO = Path(__file__).resolve().parent.parent
SOLUTION_MARK = "SECRET-SOLUTION-7c1f"  # in every stray copy of the solutions; never in a feedback page


def escape_attempt(source_path: Path, out: Path, marker: Path, copies: list[Path]) -> str:
    """Read the instructor's notebook and write into --out, the source folder
    and next to the class, by absolute paths and by paths relative to the
    kernel's own working directory; read every other copy of the solutions
    (another clone, a .git folder, the released folder, the repository beside
    the installed package); the answers themselves are right."""
    attack = textwrap.dedent(f"""
        import json, os
        SOURCE, OUT, MARKER = {str(source_path)!r}, {str(out)!r}, {str(marker)!r}
        COPIES = {[str(c) for c in copies]!r}

        def _attempts():
            cwd = os.getcwd()
            report = {{"cwd": cwd, "rel_source": os.path.relpath(SOURCE, cwd), "rel_out": os.path.relpath(OUT, cwd)}}

            def attempt(label, fn):
                try:
                    fn()
                    report[label] = "done"
                except Exception as err:
                    report[label] = type(err).__name__

            def write(path, text="written by a submission"):
                with open(path, "w") as f:
                    f.write(text)

            source_dir = os.path.dirname(SOURCE)
            rel_source_dir = os.path.dirname(report["rel_source"])
            attempt("read source", lambda: open(SOURCE).read())
            attempt("read source (relative)", lambda: open(report["rel_source"]).read())
            attempt("list source folder", lambda: os.listdir(source_dir))
            attempt("list source folder (relative)", lambda: os.listdir(rel_source_dir))
            attempt("list out (relative)", lambda: os.listdir(report["rel_out"]))
            attempt("write into out", lambda: write(os.path.join(OUT, "escaped-abs.txt")))
            attempt("write into out (relative)", lambda: write(os.path.join(report["rel_out"], "escaped-rel.txt")))
            attempt("write into source folder", lambda: write(os.path.join(source_dir, "escaped-abs.txt")))
            attempt("write into source folder (relative)",
                    lambda: write(os.path.join(rel_source_dir, "escaped-rel.txt")))
            attempt("overwrite source", lambda: write(SOURCE, "{{}}"))
            attempt("overwrite source (relative)", lambda: write(report["rel_source"], "{{}}"))
            attempt("write next to the class", lambda: write(MARKER))
            for i, path in enumerate(COPIES):
                attempt(f"read copy {{i}}", lambda: print(open(path).read()))
            attempt("list the repository", lambda: print(os.listdir(os.path.dirname(COPIES[0]))))
            return report

        import resource
        _REPORT = _attempts()
        _REPORT["limits"] = {{"cpu": resource.getrlimit(resource.RLIMIT_CPU)[0], "nice": os.nice(0),
                              "secret": os.environ.get("COURSEKIT_TEST_SECRET")}}
        """)
    return attack + report_printer("ESCAPE ", "_REPORT")


FLOOD = """from IPython.display import publish_display_data
_blob = "x" * 2**20
for _i in range(200):  # 200 MB of result messages, each under the cap on one message
    publish_display_data({"application/x-coursekit-result+json": _blob})
""" + CORRECT_DOUBLE

BIG_MESSAGE = """from IPython.display import publish_display_data
publish_display_data({"text/plain": "y" * (12 * 2**20)})  # one message of 12 MB
""" + CORRECT_PLA

# a fresh Python started by the submission: no audit hook, no marks; what can it see and reach?
CHILD = """
import json, os, socket
r = {"uid": os.getuid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
def rd(path):
    try:
        with open(path, "rb") as f:
            return f.read(300).decode("latin-1")
    except Exception as err:
        return type(err).__name__
def t(fn):
    try:
        fn()
        return "done"
    except Exception as err:
        return type(err).__name__
r["environ"] = [rd(f"/proc/{p}/environ") for p in r["pids"]]
r["udp_out"] = t(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53)))
r["udp_host"] = t(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", UDP_PORT)))
r["tcp_host"] = t(lambda: socket.create_connection(("127.0.0.1", TCP_PORT), timeout=3))
r["raw"] = t(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
r["unix_host"] = t(lambda: socket.socket(socket.AF_UNIX).connect(UNIX_PATH))
r["abstract_host"] = t(lambda: socket.socket(socket.AF_UNIX).connect(ABSTRACT))
r["solutions"] = rd(SOLUTIONS)
print(json.dumps(r))
"""


def containment_attack(servers: dict) -> str:
    """Start programs around the audit hook (subprocess.sys swapped for a copy), in their own
    session, as many as it can, and through multiprocessing's spawn; from a fresh Python, read
    other processes' environments and reach the host's network and sockets."""
    child = CHILD
    for key, value in servers.items():
        child = child.replace(key, repr(value))
    return textwrap.dedent(f"""
        import json, multiprocessing, subprocess, sys, time, types
        _fake = types.ModuleType("sys")
        _fake.__dict__.update(vars(sys))
        _fake.audit = lambda *a: None
        subprocess.sys = _fake  # the hook no longer hears of new programs
        _R = {{}}
        def _try(label, fn):
            try:
                _R[label] = fn()
            except BaseException as err:
                _R[label] = type(err).__name__
        _try("child", lambda: json.loads(subprocess.run([sys.executable, "-c", {child!r}], capture_output=True,
                                                        text=True, timeout=60).stdout))
        _try("survivor", lambda: subprocess.Popen(["setsid", "sleep", "317"]).pid)
        _try("spawn", lambda: [multiprocessing.get_context("spawn").Process(target=time.sleep, args=(319,)).start()
                               for _ in range(2)] and "started")
        _started = []
        def _flood():
            for _ in range(200):
                _started.append(subprocess.Popen(["sleep", "318"]))
        _try("flood", _flood)
        _R["started"] = len(_started)
        """) + report_printer("CONTAINED ", "_R")


def namespace_servers(root: Path) -> tuple[dict, list]:
    """A UDP and a TCP server on the host's loopback, a Unix socket and an abstract one: a graded
    kernel must reach none of them."""
    import socket

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    tcp = socket.create_server(("127.0.0.1", 0))
    tcp.setblocking(False)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(root / "host.sock"))
    unix.listen()
    unix.setblocking(False)
    abstract = socket.socket(socket.AF_UNIX)
    name = f"\0coursekit-test-{os.getpid()}"
    abstract.bind(name)
    abstract.listen()
    abstract.setblocking(False)
    servers = {"UDP_PORT": udp.getsockname()[1], "TCP_PORT": tcp.getsockname()[1], "UNIX_PATH": str(root / "host.sock"),
               "ABSTRACT": name, "SOLUTIONS": str(REPO / "notebooks" / "02_perceptron.ipynb")}
    return servers, [udp, tcp, unix, abstract]


def nothing_reached(sockets) -> bool:
    udp, *listeners = sockets
    try:
        udp.recvfrom(100)
        return False
    except BlockingIOError:
        pass
    for listener in listeners:
        try:
            listener.accept()
            return False
        except BlockingIOError:
            pass
    return True


def programs_left(*numbers) -> list[str]:
    """Processes still running whose command line holds one of the sleep durations used as markers."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(n).encode() in args for n in numbers) or any(f"({n},)".encode() in a for a in args for n in numbers):
            found.append(b" ".join(args).decode(errors="replace"))
    return found


def build_class(root: Path, source_path: Path, out: Path, servers: dict) -> dict:
    """Write one submission per case; returns {student: extra info}."""
    subs = root / "submitted"
    subs.mkdir()

    def save(student, nb):
        nbformat.write(nb, str(subs / f"{student}.ipynb"))

    save("correct", with_answers(CORRECT_PLA, CORRECT_DOUBLE))
    save("untouched", release_notebook(source_notebook()))
    save("wrong", with_answers(WRONG_PLA, CORRECT_DOUBLE))

    # --- tampering with locked and test cells
    nb = with_answers(WRONG_PLA, CORRECT_DOUBLE)
    cell_by_id(nb, "check_pla_update").source = "result = 'all good'\nprint('passed')"
    save("edited_test", nb)

    nb = with_answers(WRONG_PLA, CORRECT_DOUBLE)
    nb.cells = [c for c in nb.cells if N.grade_id(c) != "check_pla_update"]
    save("deleted_test", nb)

    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    test = cell_by_id(nb, "check_pla_update")
    nb.cells.remove(test)
    nb.cells.insert(1, test)
    save("moved_test", nb)

    nb = with_answers(WRONG_PLA, CORRECT_DOUBLE)
    i = nb.cells.index(cell_by_id(nb, "check_pla_update"))
    md = nbformat.v4.new_markdown_cell(nb.cells[i].source, metadata=nb.cells[i].metadata)
    nb.cells[i] = md
    save("markdown_test", nb)

    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    cell_by_id(nb, "demo").source = "import os\nos._exit(0)"  # would kill the kernel if it ran
    save("edited_locked", nb)

    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    nb.cells.remove(cell_by_id(nb, "demo"))
    save("deleted_locked", nb)

    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    cell_by_id(nb, "check_pla_update").metadata.nbgrader["points"] = 100
    cell_by_id(nb, "check_double").metadata.nbgrader["grade_id"] = "my_bonus"
    save("metadata_changed", nb)

    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    cell_by_id(nb, "pla_update").metadata.nbgrader["grade_id"] = "my_pla_update"
    save("answer_id_changed", nb)

    save("no_metadata", without_nbgrader_metadata(with_answers(CORRECT_PLA, CORRECT_DOUBLE)))
    (subs / "format_2.ipynb").write_text(as_nbformat_2(with_answers(CORRECT_PLA, CORRECT_DOUBLE)))

    # a helper the answer needs, in a cell of its own (the grader does not run added cells)
    nb = with_answers("def pla_update(w, x, y):\n    return _helper(w, x, y)\n", CORRECT_DOUBLE)
    nb.cells.insert(nb.cells.index(cell_by_id(nb, "pla_update")),
                    nbformat.v4.new_code_cell("def _helper(w, x, y):\n    return w + y * x\n"))
    save("added_helper", nb)

    # a written answer is never run, whatever it says
    save("markdown_code", with_answers(CORRECT_PLA, CORRECT_DOUBLE, why="import os\nos._exit(0)"))

    # --- forged passes
    patch = textwrap.dedent("""
        import numpy as np, coursekit.checks.core as core
        from coursekit import checks
        import coursekit.checks.perceptron
        np.allclose = lambda *a, **k: True
        core.compare_values = lambda *a, **k: None
        class _Pass:
            passed, status, message, points = True, "passed", "passed", 2
        checks.perceptron.check_pla_update = lambda fn, **k: _Pass()
        """)
    save("patched_checks", with_answers(WRONG_PLA, CORRECT_DOUBLE, prefix_pla=patch))

    silence = textwrap.dedent("""
        def _swallow(lines):
            body = "".join("    " + line for line in lines) or "    pass\\n"
            return ["try:\\n", body, "\\nexcept BaseException:\\n", "    pass\\n"]
        get_ipython().input_transformers_post.append(_swallow)
        get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
        """)
    save("silenced_errors", with_answers(WRONG_PLA, CORRECT_DOUBLE, prefix_pla=silence))
    save("hard_coded", with_answers(hard_coded_pla(), CORRECT_DOUBLE))

    # --- resource abuse
    save("endless_loop", with_answers("def pla_update(w, x, y):\n    while True:\n        pass\n", CORRECT_DOUBLE))
    save("stubborn_loop", with_answers(
        "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass\n",
        CORRECT_DOUBLE))
    save("memory_hog", with_answers(
        "import numpy as np\ndef pla_update(w, x, y):\n    hog = []\n    while True:\n        hog.append(np.empty(2**25))\n",
        CORRECT_DOUBLE))
    save("huge_output", with_answers(CORRECT_PLA + "print('x' * 30_000_000)\n", CORRECT_DOUBLE))
    save("disk_hog", with_answers(
        "for i in range(100):  # 60 MB each: under the file-size limit, far over the disk limit together\n"
        "    with open(f'blob{i}', 'wb') as f:\n        f.write(b'x' * (60 * 2**20))\n" + CORRECT_PLA, CORRECT_DOUBLE))
    save("exits_kernel", with_answers(CORRECT_PLA, "import os\nos._exit(0)\n"))
    save("crashes_kernel", with_answers(CORRECT_PLA, "import faulthandler\nfaulthandler._sigsegv()\n"))
    save("timeout_then_crash", with_answers("while True:\n    pass\n", "import os\nos._exit(0)\n"))

    # --- bad files
    (subs / "not_json.ipynb").write_text("this is not JSON {")
    (subs / "not_notebook.ipynb").write_text(json.dumps({"name": "a JSON file", "cells": 3}))
    (subs / "empty_file.ipynb").write_text("")
    (subs / "empty_notebook.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (subs / "future_format.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 7}))
    old = nbformat.convert(with_answers(CORRECT_PLA, CORRECT_DOUBLE), 3)
    (subs / "old_format.ipynb").write_text(nbformat.writes(old, version=3))
    other = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def softmax(z):\n    return z\n", metadata=nbmeta("softmax", solution=True)),
        nbformat.v4.new_code_cell("assert True", metadata=nbmeta("check_softmax", grade=True, locked=True, points=3))])
    nbformat.write(other, str(subs / "other_unit.ipynb"))
    (subs / "symlinked.ipynb").symlink_to(subs / "correct.ipynb")
    (root / "real_folder").mkdir()
    nbformat.write(with_answers(CORRECT_PLA, CORRECT_DOUBLE), str(root / "real_folder" / "synth.ipynb"))
    (subs / "symlinked_folder").symlink_to(root / "real_folder", target_is_directory=True)
    (subs / "folder_missing").mkdir()  # a student folder without the notebook
    (subs / "folder_missing" / "notes.txt").write_text("I forgot to hand in the notebook")

    # --- escape attempts
    marker = root / "escaped.txt"
    copies = stray_copies(root)
    save("escape_attempt", with_answers(CORRECT_PLA, escape_attempt(source_path, out, marker, copies)))

    # --- answering with the reference implementation, by every route
    for student, answer in REFERENCE_ROUTES.items():
        save(student, with_answers(answer, CORRECT_DOUBLE))
    save("building_block", with_answers(BUILDING_BLOCK, CORRECT_DOUBLE))

    # --- containment: processes, network, the grader's memory
    save("contained", with_answers(CORRECT_PLA, containment_attack(servers)))
    save("flood", with_answers(CORRECT_PLA, FLOOD))
    save("big_message", with_answers(BIG_MESSAGE, CORRECT_DOUBLE))
    return {"marker": marker, "copies": copies}


def stray_copies(root: Path) -> list[Path]:
    """Copies of the solutions the grader does not know about: the repository beside the installed
    package (an editable install), its .git folder, another clone, an earlier run's released folder."""
    clone = root / "other_clone" / "notebooks"
    clone.mkdir(parents=True)
    (clone / "synth.ipynb").write_text(nbformat.writes(source_notebook()) + SOLUTION_MARK)
    (root / "other_clone" / ".git").mkdir()
    (root / "other_clone" / ".git" / "ORIG_HEAD").write_text(SOLUTION_MARK)
    released = root / "release"
    released.mkdir()
    (released / "synth.ipynb").write_text(SOLUTION_MARK)
    return [REPO / "notebooks" / "02_perceptron.ipynb", REPO / ".git" / "HEAD", clone / "synth.ipynb",
            root / "other_clone" / ".git" / "ORIG_HEAD", released / "synth.ipynb"]


REFERENCE_ROUTES = {
    "ref_import": "from coursekit.perceptron import pla_update\n",
    "ref_alias": "import coursekit.perceptron as _P\n_mine = _P.pla_update\n"
                 "def pla_update(w, x, y):\n    return _mine(w, x, y)\n",
    "ref_wrapper": "import functools\nfrom coursekit import perceptron as _P\n"
                   "pla_update = functools.partial(lambda f, *a: f(*a), _P.pla_update)\n",
    "ref_gc": "import gc\nimport coursekit.perceptron\n\ndef pla_update(w, x, y):\n"
              "    found = next(o for o in gc.get_objects() if callable(o) and getattr(o, '__name__', '') == 'pla_update'\n"
              "                 and getattr(o, '__module__', '') == 'coursekit.perceptron')\n"
              "    return found(w, x, y)\n",
    # handed to a coursekit function that calls what it is given (a layer's activation): the call
    # comes from coursekit code, but not from code of its own that names the reference
    "ref_handed_in": "import functools\nfrom coursekit import nn as _nn, perceptron as _P\n"
                     "def pla_update(w, x, y):\n"
                     "    return _nn.Activation(functools.partial(_P.pla_update, w, x), None).forward(float(y))[0]\n",
    "ref_code_copy": "import types, coursekit.perceptron as _P\n"
                     "pla_update = types.FunctionType(_P.pla_update.__code__, dict(vars(_P)), 'pla_update')\n",
    "ref_code_edit": "import types, coursekit.perceptron as _P\n"
                     "_code = _P.pla_update.__code__\n"
                     "_code = _code.replace(co_consts=tuple(c for c in _code.co_consts if not callable(c)))\n"
                     "pla_update = types.FunctionType(_code, dict(vars(_P)), 'pla_update')\n",
    "ref_in_a_child": "import subprocess, sys, types, json\n"
                      "def pla_update(w, x, y):  # a fresh Python, without the marks or the audit hook\n"
                      "    fake = types.ModuleType('sys'); fake.__dict__.update(vars(sys)); fake.audit = lambda *a: None\n"
                      "    real, subprocess.sys = subprocess.sys, fake\n"
                      "    try:\n"
                      "        out = subprocess.run([sys.executable, '-c', 'import sys, json; from coursekit.perceptron "
                      "import pla_update; import numpy as np; a = json.loads(sys.argv[1]); "
                      "print(json.dumps(pla_update(np.array(a[0]), np.array(a[1]), a[2]).tolist()))', "
                      "json.dumps([list(map(float, w)), list(map(float, x)), float(y)])], capture_output=True, "
                      "text=True)\n"
                      "    finally:\n"
                      "        subprocess.sys = real\n"
                      "    return json.loads(out.stdout)\n",
}


# a correct answer that uses a public building block (predict) whose private helpers (_check_w,
# _numbers, _finite) are also the reference's: allowed, and it must not be taken for a reference call
BUILDING_BLOCK = ("def pla_update(w, x, y):\n"
                  "    on_the_right_side = P.predict(w, x[None])[0] == y  # a mistake or not: PLA updates either way\n"
                  "    return w + y * x\n")


SEED = 731902468  # distinctive: a test looks for it in what submissions could see
DISK_MB = 150
MESSAGES_MB = 64


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    source_dir = root / "source"
    source_dir.mkdir()
    source_path = source_dir / "synth.ipynb"
    nbformat.write(source_notebook(), str(source_path))
    source_before = source_path.read_bytes()
    out = root / "out"
    out.mkdir()
    (out / "sentinel.txt").write_text("instructor's file")
    servers, sockets = namespace_servers(root)
    info = build_class(root, source_path, out, servers)
    # the source notebook itself, handed in as a submission
    (root / "submitted" / "instructor.ipynb").write_bytes(source_before)
    limits = Limits(cell_timeout=4, total_timeout=60, memory_mb=1024, disk_mb=DISK_MB, messages_mb=MESSAGES_MB)
    os.environ["COURSEKIT_TEST_SECRET"] = "an instructor's token"  # the kernels must not see the grader's environment
    try:
        results = grade(source_dir, sorted((root / "submitted").iterdir()), out, jobs=2, limits=limits, seed=SEED,
                        verbose=False)
    finally:
        del os.environ["COURSEKIT_TEST_SECRET"]
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    reached = not nothing_reached(sockets)
    for sock in sockets:
        sock.close()
    return {"results": {r.student: r for r in results}, "rows": rows, "out": out, "root": root, "limits": limits,
            "source": source_path, "source_before": source_before, "reached": reached, **info}


def result(graded, student):
    return graded["results"][student]


def points(graded, student):
    r = result(graded, student)
    return {e.grade_id: e.points for e in r.exercises}


def feedback(graded, student):
    return (graded["out"] / "feedback" / f"{student}.html").read_text()


def assert_reported(graded, student, status, *words):
    """The CSV row has this status and names the problem; so does the feedback page."""
    row = graded["rows"][student]
    assert row["status"] == status, (row["status"], row["problems"])
    page = feedback(graded, student)
    assert f"Status: <b>{status}</b>" in page
    for w in words:
        assert w in row["problems"], (w, row["problems"])
        assert html.escape(w) in page, w


# ------------------------------------------------------------- scores ----

def test_correct_answers_get_full_points(graded):
    assert points(graded, "correct") == {"check_pla_update": 2, "check_double": 1}
    assert result(graded, "correct").status == "graded"
    assert graded["rows"]["correct"]["total"] == "3" and graded["rows"]["correct"]["max"] == "3"
    assert graded["rows"]["correct"]["problems"] == ""


def test_source_notebook_graded_as_a_submission_scores_full_marks(graded):
    assert result(graded, "instructor").total == 3


def test_released_version_untouched_is_not_attempted(graded):
    r = result(graded, "untouched")
    assert r.total == 0 and r.status == "not attempted"
    assert {e.status for e in r.exercises} == {"not attempted"}
    assert graded["rows"]["untouched"]["status"] == "not attempted"


def test_wrong_answer_gets_zero_with_the_checks_message(graded):
    assert points(graded, "wrong") == {"check_pla_update": 0, "check_double": 1}
    ex = result(graded, "wrong").exercises[0]
    assert ex.status == "wrong" and "Smallest failing input" in ex.message
    assert "Smallest failing input" in feedback(graded, "wrong")


# ---------------------------------------------------------- tampering ----

@pytest.mark.parametrize("student, words", [("edited_test", "was edited"), ("deleted_test", "was deleted"),
                                            ("markdown_test", "was turned into markdown")])
def test_tampered_test_cell_is_restored_and_reported(graded, student, words):
    r = result(graded, student)
    assert points(graded, student) == {"check_pla_update": 0, "check_double": 1}
    assert any(words in p and "restored" in p for p in r.problems), r.problems
    assert_reported(graded, student, "graded", f"test cell 'check_pla_update' {words}")


@pytest.mark.parametrize("student, words", [("edited_locked", "was edited"), ("deleted_locked", "was deleted")])
def test_tampered_locked_cell_is_restored_and_reported(graded, student, words):
    """The edit would have killed the kernel; the original ran instead."""
    assert points(graded, student) == {"check_pla_update": 2, "check_double": 1}
    assert_reported(graded, student, "graded", f"locked cell 'demo' {words}", "the original was restored")


def test_moved_test_cell_runs_in_its_place(graded):
    r = result(graded, "moved_test")
    assert r.total == 3
    assert any("moved" in p for p in r.problems)


def test_changed_metadata_is_restored_from_the_source(graded):
    r = result(graded, "metadata_changed")
    assert points(graded, "metadata_changed") == {"check_pla_update": 2, "check_double": 1}
    assert r.max_total == 3
    assert any("metadata changed (points)" in p for p in r.problems)
    assert any("'check_double'" in p and "deleted" in p for p in r.problems)


def test_answer_found_by_its_function_is_not_reported_as_added(graded):
    r = result(graded, "answer_id_changed")
    assert r.total == 3 and r.status == "graded"
    assert any("'pla_update' was found by the function it defines" in p for p in r.problems), r.problems
    assert not any("added" in p for p in r.problems), r.problems


@pytest.mark.parametrize("student", ["no_metadata", "format_2"])
def test_notebook_without_grade_ids_is_graded_by_its_functions(graded, student):
    r = result(graded, student)
    assert r.total == 3 and r.status == "graded", r.problems
    assert any("no nbgrader metadata" in p for p in r.problems), r.problems
    assert not any("added" in p for p in r.problems), r.problems
    if student == "format_2":
        assert any("nbformat 2" in p and "converted" in p for p in r.problems), r.problems


def test_added_helper_cell_is_not_run(graded):
    r = result(graded, "added_helper")
    assert points(graded, "added_helper") == {"check_pla_update": 0, "check_double": 1}
    assert "NameError" in r.exercises[0].message
    assert_reported(graded, "added_helper", "graded", "1 code cell(s) you added")


def test_markdown_answer_is_never_run():
    source = source_notebook()
    steps, _ = rebuild(source, with_answers(CORRECT_PLA, CORRECT_DOUBLE, why="import os\nos._exit(0)"))
    assert [s.grade_id for s in steps if s.kind == "answer"] == ["pla_update", "double"]
    assert not any("os._exit" in s.source for s in steps)


def test_markdown_answer_that_reads_as_code_scores_normally(graded):
    assert result(graded, "markdown_code").total == 3
    assert result(graded, "markdown_code").status == "graded"


@pytest.mark.parametrize("student", ["patched_checks", "silenced_errors", "hard_coded"])
def test_forged_passes_earn_nothing(graded, student):
    ex = result(graded, student).exercises[0]
    assert ex.grade_id == "check_pla_update" and ex.points == 0 and ex.status == "wrong", ex
    assert points(graded, student)["check_double"] == 1


def test_forged_passes_did_pass_inside_the_kernel(graded):
    """The notebook's own test cell was fooled; only the grader's re-run caught it."""
    for student in ["patched_checks", "hard_coded"]:
        ex = result(graded, student).exercises[0]
        assert "grader's own run" in ex.message, ex.message


# ----------------------------------------------------- resource abuse ----

def test_endless_loop_in_a_function_costs_only_that_exercise(graded):
    ex = {e.grade_id: e for e in result(graded, "endless_loop").exercises}
    assert ex["check_pla_update"].points == 0 and ex["check_pla_update"].status == "time limit"
    assert ex["check_double"].points == 1
    assert_reported(graded, "endless_loop", "graded", "ran past the time limit and was interrupted")


def test_loop_that_ignores_interrupts_is_killed(graded):
    r = result(graded, "stubborn_loop")
    assert r.total == 0 and r.status == "time limit"
    assert {e.status for e in r.exercises} == {"not run"}
    assert_reported(graded, "stubborn_loop", "time limit", "did not stop when interrupted")


def test_memory_growth_hits_the_limit(graded):
    ex = {e.grade_id: e for e in result(graded, "memory_hog").exercises}
    assert ex["check_pla_update"].points == 0 and "MemoryError" in ex["check_pla_update"].message
    assert ex["check_double"].points == 1
    assert_reported(graded, "memory_hog", "graded")
    assert "MemoryError" in feedback(graded, "memory_hog")


def test_huge_output_is_capped(graded):
    r = result(graded, "huge_output")
    assert r.total == 3
    assert any("30,0" in p and "characters" in p for p in r.problems), r.problems
    assert (graded["out"] / "feedback" / "huge_output.html").stat().st_size < 200_000
    assert_reported(graded, "huge_output", "graded", "only the first part was kept")


def test_filling_the_disk_is_stopped(graded):
    """60 MB files, each under the file-size limit: the scratch directory's total is what stops them."""
    r = result(graded, "disk_hog")
    assert r.total == 0 and {e.status for e in r.exercises} == {"not run"}
    assert_reported(graded, "disk_hog", "disk limit", f"wrote more than {DISK_MB} MB", "the notebook was stopped")


@pytest.mark.parametrize("student", ["exits_kernel", "crashes_kernel"])
def test_kernel_exit_or_crash(graded, student):
    r = result(graded, student)
    assert r.status == "kernel died"
    assert points(graded, student) == {"check_pla_update": 2, "check_double": 0}
    assert_reported(graded, student, "kernel died", "the kernel stopped while")


def test_crash_after_a_time_limit_is_a_crash(graded):
    """Both problems are reported; the status is the more severe one."""
    assert result(graded, "timeout_then_crash").total == 0
    assert_reported(graded, "timeout_then_crash", "kernel died", "ran past the time limit and was interrupted",
                    "the kernel stopped while")


def test_abuse_does_not_touch_the_others(graded):
    """Every well-behaved submission in the same run got its full score."""
    for student in ["correct", "instructor", "moved_test", "answer_id_changed", "old_format", "escape_attempt",
                    "contained"]:
        assert result(graded, student).total == 3, student


# ---------------------------------------------------------- bad files ----

@pytest.mark.parametrize("student, words", [
    ("not_json", "not valid JSON"), ("not_notebook", "not a notebook"), ("empty_file", "empty"),
    ("empty_notebook", "no cells"), ("other_unit", "another unit"), ("future_format", "nbformat 7"),
    ("symlinked", "symbolic link"), ("symlinked_folder", "symbolic link")])
def test_bad_files_are_invalid(graded, student, words):
    r = result(graded, student)
    assert r.status == "invalid" and r.total == 0
    assert words in r.problems[0]
    assert_reported(graded, student, "invalid", words)


def test_student_folder_without_the_notebook_is_missing(graded):
    r = result(graded, "folder_missing")
    assert r.status == "missing" and r.total == 0 and r.max_total == 3
    assert_reported(graded, "folder_missing", "missing", "synth.ipynb is missing")


def test_old_nbformat_is_converted_and_graded(graded):
    r = result(graded, "old_format")
    assert r.total == 3 and any("nbformat 3" in p for p in r.problems)


def test_nbformat_1_is_read():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v1.ipynb"
        path.write_text(json.dumps({"nbformat": 1, "cells": [{"cell_type": "code", "code": "x = 1"}]}))
        nb, notes = load_submission(path)
    assert N.cell_source(nb.cells[0]) == "x = 1" and "nbformat 1" in notes[0]


# ------------------------------------------------------------- escape ----

def test_escape_attempts_fail_and_touch_nothing(graded):
    report = printed_report(graded, "escape_attempt", "ESCAPE ")
    limits = report.pop("limits")
    cwd = report.pop("cwd")
    rel_source, rel_out = report.pop("rel_source"), report.pop("rel_out")
    # the kernel ran in its scratch directory under the temp folder, far from the instructor's files
    temp = os.path.realpath(tempfile.gettempdir())
    assert cwd.startswith(temp + os.sep) and os.path.basename(cwd) == "scratch", cwd
    for folder in (graded["source"].parent, graded["out"]):
        assert os.path.commonpath([cwd, str(folder)]) in (temp, os.sep), (cwd, folder)
    assert rel_source.startswith("..") and rel_out.startswith("..")
    # every attempt, by absolute and by relative path, was refused
    # (under bubblewrap the instructor's folders are not even there: FileNotFoundError)
    assert report and all(v in ("PermissionError", "FileNotFoundError", "OSError") for v in report.values()), report
    assert {f"read copy {i}" for i in range(len(graded["copies"]))} <= set(report)
    assert graded["source"].read_bytes() == graded["source_before"]
    assert sorted(p.name for p in graded["source"].parent.iterdir()) == ["synth.ipynb"]
    assert not list(graded["out"].glob("escaped*")) and not graded["marker"].exists()
    assert (graded["out"] / "sentinel.txt").read_text() == "instructor's file"
    assert result(graded, "escape_attempt").total == 3
    assert_reported(graded, "escape_attempt", "graded")
    page = feedback(graded, "escape_attempt")
    assert "PermissionError" in page or "FileNotFoundError" in page
    assert SOLUTION_MARK not in page and "BEGIN SOLUTION" not in page
    # and it ran with a CPU-time limit, at a lower priority, without the grader's environment
    assert limits["cpu"] == graded["limits"].cpu_seconds() and limits["secret"] is None, limits
    assert limits["nice"] >= os.nice(0) + sandbox.NICE, limits


# ------------------------------------------- answering with the reference ----

@pytest.mark.parametrize("student", sorted(REFERENCE_ROUTES))
def test_an_answer_that_calls_the_reference_scores_nothing(graded, student):
    """Imported, aliased, wrapped, found with gc, handed to a coursekit function that calls it, run
    from a copy of its code: each call of the reference implementation during the re-check is caught
    and named. An edited copy of the code
    cannot be made, and a fresh Python cannot be started to run it unmarked."""
    ex = {e.grade_id: e for e in result(graded, student).exercises}
    assert ex["check_pla_update"].points == 0, ex["check_pla_update"]
    assert ex["check_double"].points == 1
    if student in ("ref_code_edit", "ref_in_a_child"):
        assert ex["check_pla_update"].status == "error", ex["check_pla_update"]
    else:
        assert ex["check_pla_update"].status == "calls the reference"
        assert "your answer calls the reference implementation (coursekit.perceptron.pla_update)" in \
            ex["check_pla_update"].message
        assert "calls the reference implementation" in html.unescape(feedback(graded, student))


def test_an_answer_may_use_the_public_building_blocks(graded):
    """Legitimate helpers stay allowed: predict runs the reference's private helpers from its own code."""
    ex = {e.grade_id: e for e in result(graded, "building_block").exercises}
    assert ex["check_pla_update"].points == 2 and ex["check_pla_update"].status == "passed", ex["check_pla_update"]


# ------------------------------------------------------------ containment ----

def test_no_program_can_be_started(graded):
    """Around the audit hook (subprocess.sys swapped), no program starts: Landlock grants no
    EXECUTE right, so no child Python, no `setsid sleep`, no multiprocessing spawn."""
    report = printed_report(graded, "contained", "CONTAINED ")
    assert report["child"] == report["survivor"] == "PermissionError" and report["started"] == 0, report
    assert report["spawn"] in ("PermissionError", "started"), report  # multiprocessing does not look at exec's failure
    assert not programs_left(317, 318, 319)
    assert result(graded, "contained").total == 3


def test_a_flood_of_messages_stops_the_kernel_not_the_grader(graded):
    r = result(graded, "flood")
    assert r.status == "output limit", (r.status, r.problems)
    assert any(f"more than {MESSAGES_MB} MB" in p for p in r.problems), r.problems
    assert r.total == 2 and r.grader_mb < 600, (r.total, r.grader_mb)  # what the grader kept stayed small


def test_one_message_too_large_is_refused(graded):
    r = result(graded, "big_message")
    assert r.status == "output limit" and r.total == 0, (r.status, r.problems)
    assert any("larger than 8 MB" in p for p in r.problems), r.problems
    assert r.grader_mb < 600


def test_grader_memory_is_the_workers_own_not_its_parents():
    """A worker started by a large process (here: this test holding 400 MB) reports its own
    peak memory. ``ru_maxrss`` would report the parent's: Linux carries it across exec."""
    ballast = np.ones(400 * 2**20 // 8)  # touched, so resident
    code = "from coursekit.grading.worker import peak_mb; print(peak_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         start_new_session=True).stdout
    assert 0 < float(out) < 300, out
    del ballast


@pytest.fixture(scope="module")
def namespaces_alone(tmp_path_factory):
    """The bubblewrap layer alone (no Landlock, and the audit hook bypassed): programs start, but in
    the kernel's own PID and network namespaces, as its own user, capped, and they die with it."""
    root = tmp_path_factory.mktemp("ns")
    (root / "source").mkdir()
    nbformat.write(source_notebook(), str(root / "source" / "synth.ipynb"))
    servers, sockets = namespace_servers(root)
    nbformat.write(with_answers(CORRECT_PLA, containment_attack(servers)), str(root / "contained.ipynb"))
    os.environ["COURSEKIT_TEST_SECRET"] = "an instructor's token"
    try:
        results = grade(root / "source", [root / "contained.ipynb"], root / "out", seed=SEED, verbose=False,
                        limits=Limits(cell_timeout=60, total_timeout=120, memory_mb=1024, landlock=False))
    finally:
        del os.environ["COURSEKIT_TEST_SECRET"]
    time.sleep(0.5)
    left = programs_left(317, 318, 319)
    reached = not nothing_reached(sockets)
    for sock in sockets:
        sock.close()
    return results[0], left, reached


def test_namespaces_hold_without_landlock(namespaces_alone):
    if not bwrap.probe()[0]:
        pytest.skip(f"no bubblewrap here: {bwrap.probe()[1]}")
    r, left, reached = namespaces_alone
    assert r.sandbox.get("bwrap") and not r.sandbox.get("landlock"), r.sandbox
    report = _report_of(r, "CONTAINED ")
    child = report["child"]
    assert isinstance(child, dict), report
    assert child["uid"] != 0 and child["uid"] == r.sandbox["uid"]  # not root
    assert len(child["pids"]) < 80 and max(child["pids"]) < 1000  # its own PID namespace
    assert not any("COURSEKIT_TEST_SECRET" in e or "instructor" in e for e in child["environ"])
    assert child["udp_out"] == "OSError" and child["tcp_host"] in ("ConnectionRefusedError", "OSError")
    assert child["raw"] == "PermissionError" and child["unix_host"] == "FileNotFoundError"
    assert child["abstract_host"] == "ConnectionRefusedError" and child["solutions"] == "FileNotFoundError"
    assert not reached  # nothing arrived at the host's servers, UDP included
    assert isinstance(report["survivor"], int) and report["spawn"] == "started"
    assert 0 < report["started"] < Limits().nproc, report  # the process cap
    assert not left, left  # the setsid child, the spawned ones and the flood all died with the kernel
    assert r.total == 3 and r.status == "graded"


def _report_of(r, tag: str) -> dict:
    output = {e.grade_id: e.output for e in r.exercises}["check_double"]
    line = next(line for line in output.splitlines() if line.startswith(tag))
    return json.loads(line[len(tag):])


# ------------------------------------------------------------ sandbox ----

def test_the_strong_sandbox_was_applied(graded):
    """Every kernel ran under bubblewrap (own PID and network namespaces, a user of its own, no
    capabilities, the process cap), with Landlock and the audit hook on top, and the reports say so."""
    version, why = bwrap.probe()
    if not version:
        pytest.skip(f"no bubblewrap here ({why}): the grader fell back to Landlock and the audit hook")
    modes = [r.sandbox for r in graded["results"].values() if r.sandbox]
    assert modes and all(m["bwrap"] == version and {"PID", "network"} <= set(m["namespaces"]) for m in modes), modes
    assert all(m["capabilities"] == 0 and m["nproc"] == Limits().nproc and m["audit_hook"] for m in modes)
    if os.geteuid() == 0:  # root was dropped, to a user of each kernel's own
        uids = [m["uid"] for m in modes]
        assert all(u >= bwrap.UID_BASE for u in uids) and len(set(uids)) == len(uids)
    abi = sandbox.landlock_abi()
    assert all(m["landlock"] == abi for m in modes)
    if abi >= 4:
        assert all("tcp-connect" in m["net"] and m["exec"] is False for m in modes)
    data = json.loads((graded["out"] / "grades.json").read_text())
    assert data["sandbox"] == [sandbox.describe(modes[0])] and not data["sandbox_weak"]
    assert data["sandbox"][0].startswith(f"bubblewrap {version} (own PID, network")


def run_sandboxed(code: str, scratch: Path, *, landlock: bool, deny=(), hook: bool = True) -> str:
    """Run ``code`` in a fresh Python fenced like a kernel (Landlock and/or the audit hook); its stdout."""
    prologue = textwrap.dedent(f"""
        import os, sys
        from coursekit.grading import sandbox
        deny, scratch = {[str(d) for d in deny]!r}, {str(scratch)!r}
        os.chdir(scratch)
        if {landlock!r}:
            mode = sandbox.apply_landlock([scratch], sandbox.readable_roots(deny, [sys.prefix, sys.base_prefix]))
            assert mode["landlock"], mode
        if {hook!r}:
            sandbox.install_audit_hook(scratch, deny, [])
        def attempt(label, fn):
            try:
                fn()
                print(label, "done")
            except Exception as err:
                print(label, type(err).__name__)
        """)
    proc = subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_fallback_refuses_the_dir_fd_trick(tmp_path):
    """The audit hook alone (where Landlock is missing): a folder descriptor
    and a path relative to it, or a climbing relative path, cannot reach a denied file."""
    project, scratch = tmp_path / "project", tmp_path / "scratch"
    (project / "notebooks").mkdir(parents=True)
    (project / "notebooks" / "02_perceptron.ipynb").write_text("the solutions")
    (scratch / "a" / "b").mkdir(parents=True)
    out = run_sandboxed(f"""
        project = {str(project)!r}
        attempt("folder descriptor", lambda: os.open(project, os.O_RDONLY))
        attempt("root descriptor", lambda: os.open("/", os.O_RDONLY | os.O_DIRECTORY))
        attempt("folder descriptor (O_PATH)", lambda: os.open(project, os.O_PATH))
        inner = os.open("a/b", os.O_RDONLY)  # a folder inside the scratch directory is fine
        climb = os.path.relpath(project, os.path.join(scratch, "a", "b")) + "/notebooks/02_perceptron.ipynb"
        attempt("climb from an inner folder", lambda: os.read(os.open(climb, os.O_RDONLY, dir_fd=inner), 9))
        attempt("remove through a descriptor", lambda: os.remove(climb, dir_fd=inner))
        attempt("climbing relative path", lambda: open(os.path.relpath(project + "/notebooks/02_perceptron.ipynb")).read())
        attempt("own scratch", lambda: open("fine.txt", "w").write("ok"))
        """, scratch, landlock=False, deny=[project / "notebooks"])
    assert out.splitlines() == [
        "folder descriptor PermissionError", "root descriptor PermissionError", "folder descriptor (O_PATH) PermissionError",
        "climb from an inner folder PermissionError", "remove through a descriptor PermissionError",
        "climbing relative path PermissionError", "own scratch done"]
    assert (project / "notebooks" / "02_perceptron.ipynb").read_text() == "the solutions"


def test_the_audit_hook_refuses_a_sub_interpreter(tmp_path):
    """A sub-interpreter has its own import system and audit hooks: inside one, neither the hook's
    fences nor the marks of the reference functions would hold (under the audit-hook-only fallback
    it could read the solutions). The hook refuses to make one."""
    project, scratch = tmp_path / "project", tmp_path / "scratch"
    (project / "notebooks").mkdir(parents=True)
    (project / "notebooks" / "02_perceptron.ipynb").write_text("the solutions")
    scratch.mkdir()
    out = run_sandboxed(f"""
        import _xxsubinterpreters as I
        attempt("read directly", lambda: open({str(project / "notebooks" / "02_perceptron.ipynb")!r}).read())

        def through_a_sub_interpreter():
            channel, interpreter = I.channel_create(), I.create()
            I.run_string(interpreter, "import _xxsubinterpreters as I; "
                         f"I.channel_send({{channel}}, open({str(project / "notebooks" / "02_perceptron.ipynb")!r}).read())")
            print(I.channel_recv(channel))
        attempt("read in a sub-interpreter", through_a_sub_interpreter)
        """, scratch, landlock=False, deny=[project / "notebooks"])
    assert out.splitlines() == ["read directly PermissionError", "read in a sub-interpreter RuntimeError"], out


def test_landlock_alone_refuses_tcp_connections(tmp_path):
    """The OS-level fence, without the audit hook: no TCP connection, even to a listening local port."""
    if sandbox.landlock_abi() < 4:
        pytest.skip("Landlock network rules need ABI 4 (Linux 6.7+); this kernel has "
                    f"ABI {sandbox.landlock_abi()}: the grader records that the network was not restricted")
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        out = run_sandboxed(f"""
            import socket
            attempt("connect", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=5))
            """, tmp_path, landlock=True, hook=False)
    finally:
        server.close()
    assert out.strip() == "connect PermissionError"


def test_fallback_is_reported_with_a_warning(tmp_path, capsys):
    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    path = tmp_path / "mine.ipynb"
    nbformat.write(nb, str(path))
    r = validate(path, limits=Limits(cell_timeout=10, total_timeout=60, memory_mb=1024, landlock=False,
                                     bwrap=False), seed=3)
    out = capsys.readouterr().out
    assert r.total == 3 and r.sandbox["landlock"] == 0 and r.sandbox["audit_hook"] and not r.sandbox.get("bwrap")
    assert "sandbox: audit hook only" in out and "WARNING" in out and "can get around" in out
    assert "bubblewrap was not used: turned off" in out


def test_fallback_with_landlock_grades_and_is_weak(tmp_path, capsys):
    """Without bubblewrap: Landlock's allow-list and the audit hook; the answers grade as usual, a
    copy of the solutions beside the package cannot be read, and the report names the weaker sandbox."""
    if sandbox.landlock_abi() < 1:
        pytest.skip("no Landlock on this Linux kernel")
    attack = ("def pla_update(w, x, y):\n    return w + y * x\n"
              f"try:\n    open({str(REPO / 'notebooks' / '02_perceptron.ipynb')!r}).read()\n    _READ = 'done'\n"
              "except Exception as err:\n    _READ = type(err).__name__\n")
    path = tmp_path / "mine.ipynb"
    nbformat.write(with_answers(attack, "import json\n" + report_printer("READ ", "_READ")), str(path))
    r = validate(path, limits=Limits(cell_timeout=10, total_timeout=60, memory_mb=1024, bwrap=False), seed=3)
    out = capsys.readouterr().out
    assert r.total == 3 and r.sandbox["landlock"] and not r.sandbox.get("bwrap"), r.sandbox
    assert _report_of(r, "READ ") == "PermissionError"
    assert sandbox.is_weak(r.sandbox) and "(no bubblewrap)" in out and "WARNING" in out


# ---------------------------------------------- two kernels at once ----

VICTIM = """import json, time, ipykernel
with open(ipykernel.get_connection_file()) as _f:
    _INFO = json.load(_f)
_PORTS = [_INFO[k] for k in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")]
_SOCKETS = [f"{_INFO['ip']}-{p}" for p in _PORTS] if _INFO.get("transport") == "ipc" else []
_START = time.time()
time.sleep(15)  # the attacker strikes meanwhile
_END = time.time()
""" + report_printer("VICTIM ", '{"ports": _PORTS, "sockets": _SOCKETS, "start": _START, "end": _END}')

ATTACKER = """import glob, json, os, re, socket, time

def _attack():
    time.sleep(4)  # the other kernel is up, and waiting, by now
    report = {"start": time.time(), "read": {}, "listed": {}, "connect": {}, "found": [], "takeover": [],
              "sockets": []}
    cwd = os.getcwd()
    own = os.path.dirname(cwd)  # this kernel's own folder: its scratch, its connection file, its sockets
    batch = os.path.dirname(os.path.dirname(cwd))  # where the grader keeps every kernel's folder
    for folder in [batch, os.path.dirname(cwd), "/tmp"]:
        try:
            report["listed"][folder] = os.listdir(folder)
        except Exception as err:
            report["listed"][folder] = type(err).__name__
    # connection files, job files, results: anything the grader keeps in the temp folder
    candidates = glob.glob("/tmp/coursekit-grade*/**", recursive=True)
    candidates += glob.glob("/proc/[0-9]*/cmdline") + glob.glob("/proc/[0-9]*/environ")
    mine = f"/proc/{os.getpid()}/"
    for path in candidates:
        if path.startswith(mine) or path.startswith(own + "/"):
            continue
        if os.path.basename(path).startswith("k-"):
            report["sockets"].append(path)  # another kernel's channel (jupyter_client's ipc transport)
        try:
            with open(path, "rb") as f:
                text = f.read(200_000).decode("utf-8", "replace")
        except Exception as err:
            report["read"][type(err).__name__] = report["read"].get(type(err).__name__, 0) + 1
            continue
        report["read"]["ok"] = report["read"].get("ok", 0) + 1
        if re.search(r"seed|job|\\"key\\"", text):
            report["found"].append(path + ": " + text[:300])
            if path.endswith(".json") and '"key"' in text:
                report["takeover"].append(path)
            candidates += [p for p in re.findall(r"/[^\\0\\s]+\\.json", text) if p not in candidates
                           and not p.startswith(own + "/")]
    # every listening TCP port on this machine, the other kernel's among them
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    for port in sorted(ports):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            report["connect"][port] = "connected"
        except Exception as err:
            report["connect"][port] = type(err).__name__
    for path in report["takeover"]:  # a stolen key: run code in the other kernel
        from jupyter_client import BlockingKernelClient
        client = BlockingKernelClient(connection_file=path)
        client.load_connection_file()
        client.start_channels()
        client.execute("double = lambda x: 0")
    report["end"] = time.time()
    return report

_REPORT = _attack()
""" + report_printer("ATTACK ", "_REPORT")


@pytest.fixture(scope="module")
def duel(tmp_path_factory):
    """Two submissions graded at once (-j 2): one kernel looks for the other's
    connection file, key and ports and for the grader's seed, and tries to take it over."""
    root = tmp_path_factory.mktemp("duel")
    (root / "source").mkdir()
    nbformat.write(source_notebook(), str(root / "source" / "synth.ipynb"))
    (root / "submitted").mkdir()
    for student, double in [("victim", VICTIM), ("attacker", ATTACKER)]:
        nb = with_answers(CORRECT_PLA, "import json\n" + double)
        nbformat.write(nb, str(root / "submitted" / f"{student}.ipynb"))
    limits = Limits(cell_timeout=30, total_timeout=90, memory_mb=1024)
    results = grade(root / "source", sorted((root / "submitted").iterdir()), root / "out", jobs=2, limits=limits,
                    seed=SEED, verbose=False)
    return {r.student: r for r in results}, root / "out"


def test_a_kernel_cannot_reach_another_kernel(duel):
    results, out = duel
    victim = printed_report(results, "victim", "VICTIM ")
    attack = printed_report(results, "attacker", "ATTACK ")
    # both kernels ran at the same time: the attack fell while the victim was waiting
    assert victim["start"] < attack["start"] and attack["end"] < victim["end"], (victim, attack)
    # no folder of the grader shows anything but the kernel's own, no connection or job file was read,
    # no key found, no other kernel's socket seen
    listed = {folder: listing for folder, listing in attack["listed"].items() if isinstance(listing, list)}
    # the sandbox mounts the workbook's code and Python read-only: a checkout under /tmp shows its folder there
    code = {p.name for where in (Path(P.__file__), Path(sys.prefix)) for p in where.resolve().parents}
    for folder, listing in listed.items():  # the way down to its own folder, and its own folder: nothing else
        assert len(listing) <= 2 and set(listing) <= {"runtime", "scratch"} | code | {
            os.path.basename(f) for f in listed}, attack["listed"]
    assert attack["found"] == [] and attack["takeover"] == [] and attack["sockets"] == [], attack
    assert not set(victim["sockets"]) & set(attack["sockets"])
    # no TCP port can be reached: its own network namespace has none of the machine's (and Landlock refuses TCP)
    assert all(v != "connected" for v in attack["connect"].values()), attack["connect"]
    # and the victim's score is its own
    assert results["victim"].total == 3 and results["victim"].status == "graded"
    assert results["attacker"].total == 3


def test_the_seed_is_nowhere_a_submission_can_see(duel):
    results, out = duel
    seen = json.dumps([e.output for r in results.values() for e in r.exercises])
    assert str(SEED) not in seen
    assert str(SEED) not in (out / "feedback" / "attacker.html").read_text()
    assert str(SEED) not in (out / "grades.csv").read_text()
    assert json.loads((out / "grades.json").read_text())["seed"] == SEED  # the instructor's record keeps it


# ---------------------------------------------- time limits, errors ----

def test_watchdog_stops_a_hung_job_and_its_kernel(tmp_path, monkeypatch):
    """The watchdog (the notebook's time limit plus a margin, here none) kills
    the grading process, and its kernel with it."""
    (tmp_path / "source").mkdir()
    nbformat.write(source_notebook(), str(tmp_path / "source" / "synth.ipynb"))
    stubborn = "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass\n"
    nbformat.write(with_answers(stubborn, CORRECT_DOUBLE), str(tmp_path / "hung.ipynb"))
    nbformat.write(with_answers(CORRECT_PLA, CORRECT_DOUBLE), str(tmp_path / "fine.ipynb"))
    monkeypatch.setattr(batch, "WATCHDOG_MARGIN_S", 0.0)
    tag = f"{batch.TEMP_PREFIX}-watchdog-test-{os.getpid()}-"  # this run's kernels, not another test run's
    monkeypatch.setattr(batch, "TEMP_PREFIX", tag)
    limits = Limits(cell_timeout=60, total_timeout=8, memory_mb=1024)
    slow = grade(tmp_path / "source", [tmp_path / "hung.ipynb"], tmp_path / "out", limits=limits, verbose=False)
    assert slow[0].status == "time limit" and "took longer than 8 s" in slow[0].problems[0]
    for _ in range(20):  # the kernel dies with its grading process (bwrap --die-with-parent), at once
        orphans = [p for p in Path("/proc").glob("[0-9]*") if _is_kernel_of(p, tag)]
        if not orphans:
            break
        time.sleep(0.1)
    assert not orphans, orphans
    page = (tmp_path / "out" / "feedback" / "hung.html").read_text()
    assert "took longer than 8 s and was stopped" in page


def _is_kernel_of(proc: Path, tag: str) -> bool:
    """A grading kernel started by the run whose batch folder's name holds ``tag``."""
    try:
        args = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    return b"coursekit.grading.sandbox" in args and tag.encode() in args


def test_a_broken_source_notebook_is_a_grader_error(tmp_path):
    source = source_notebook()
    cell_by_id(source, "check_pla_update").source = "result = checks.no_such_topic.check_pla_update(pla_update)"
    (tmp_path / "source").mkdir()
    nbformat.write(source, str(tmp_path / "source" / "synth.ipynb"))
    nbformat.write(with_answers(CORRECT_PLA, CORRECT_DOUBLE), str(tmp_path / "alice.ipynb"))
    results = grade(tmp_path / "source", [tmp_path / "alice.ipynb"], tmp_path / "out", verbose=False)
    assert results[0].status == "grader error" and "no_such_topic" in results[0].problems[0]
    row = next(csv.DictReader(open(tmp_path / "out" / "grades.csv")))
    assert row["status"] == "grader error" and "ModuleNotFoundError" in row["problems"]


DENSE_ANSWER = '''def dense_backward(dout, x, W):
    """(dx, dW, db) for h = xW + b."""
    ### BEGIN SOLUTION
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)
    ### END SOLUTION'''

DENSE_CHECK = """result = checks.backprop.check_dense_backward(dense_backward)
### BEGIN HIDDEN TESTS
assert result.passed, result.message
### END HIDDEN TESTS"""


def test_a_check_with_independent_parts_gives_partial_credit_end_to_end(tmp_path):
    """Unit 05's dense_backward check has three parts (dx, dW, db): graded for real, in the
    sandbox, an answer with db averaged keeps the points of dx and dW (2 of the cell's 3)."""
    v4 = nbformat.v4
    source = v4.new_notebook(cells=[
        v4.new_code_cell("import numpy as np\nfrom coursekit import checks\nimport coursekit.checks.backprop"),
        v4.new_code_cell(DENSE_ANSWER, metadata=nbmeta("dense_backward", solution=True)),
        v4.new_code_cell(DENSE_CHECK, metadata=nbmeta("check_dense_backward", grade=True, locked=True, points=3)),
    ])
    source.metadata["kernelspec"] = dict(N.KERNELSPEC)
    (tmp_path / "source").mkdir()
    nbformat.write(source, str(tmp_path / "source" / "dense.ipynb"))
    answers = {"right": "    return dout @ W.T, x.T @ dout, dout.sum(axis=0)\n",
               "mean_db": "    return dout @ W.T, x.T @ dout, dout.mean(axis=0)\n",
               "only_dx": "    return dout @ W.T, 0 * W, 0 * W[0]\n"}
    paths = []
    for student, body in answers.items():
        nb = release_notebook(source)
        cell_by_id(nb, "dense_backward").source = "def dense_backward(dout, x, W):\n" + body
        (tmp_path / student).mkdir()
        nbformat.write(nb, str(tmp_path / student / "dense.ipynb"))
        paths.append(tmp_path / student)
    results = {r.student: r for r in grade(tmp_path / "source", paths, tmp_path / "out", jobs=2, verbose=False)}
    assert {s: r.total for s, r in results.items()} == {"right": 3, "mean_db": 2, "only_dx": 1}, results
    check = next(x for x in results["mean_db"].exercises if x.grade_id == "check_dense_backward")
    assert check.status == "partial" and "db" in check.message, check
    row = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert float(row["mean_db"]["check_dense_backward"]) == 2


# -------------------------------------------------------------- units ----

def test_reports(graded):
    data = json.loads((graded["out"] / "grades.json").read_text())
    assert data["seed"] == SEED
    assert len(data["results"]) == len(graded["results"])
    header = next(csv.reader(open(graded["out"] / "grades.csv")))
    assert header[:2] == ["student", "notebook"] and "check_pla_update" in header and "check_double" in header
    assert header[-4:] == ["total", "max", "status", "problems"]
    for student in graded["results"]:
        page = feedback(graded, student)
        assert page.startswith("<!doctype html>") and student in page


def test_parse_check_call():
    call = parse_check_call(CHECK)
    assert (call.module, call.function, call.args) == ("coursekit.checks.perceptron", "check_pla_update",
                                                       [("name", "pla_update")])
    assert parse_check_call(DOUBLE_TEST) is None


def test_rebuild_does_not_count_an_answer_found_by_its_function_as_added():
    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    cell_by_id(nb, "pla_update").metadata.nbgrader["grade_id"] = "renamed"
    steps, problems = rebuild(source_notebook(), nb)
    assert [s.source for s in steps if s.grade_id == "pla_update"] == [CORRECT_PLA]
    assert problems == ["answer cell 'pla_update' was found by the function it defines (its cell metadata had "
                        "been changed)"]


def test_rebuild_finds_answers_by_function_before_calling_it_another_unit():
    steps, problems = rebuild(source_notebook(), without_nbgrader_metadata(with_answers(CORRECT_PLA, CORRECT_DOUBLE)))
    assert {s.grade_id: s.source for s in steps if s.kind == "answer"} == {"pla_update": CORRECT_PLA,
                                                                            "double": CORRECT_DOUBLE}
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def softmax(z):\n    return z\n")])
    with pytest.raises(InvalidSubmission, match="another unit"):
        rebuild(source_notebook(), other)


def test_sandbox_summary_words_each_weak_case(tmp_path, capsys):
    """A turned-off or unreported sandbox is weak, and says so in its own
    words (not "only the audit hook fenced them", which would be untrue)."""
    full = {"bwrap": "0.8.0", "namespaces": ["PID", "network", "IPC", "mount"], "uid": 1600000001,
            "capabilities": 0, "nproc": 64, "landlock": 6, "net": ["tcp-connect", "tcp-bind"], "scoped": ["signal"],
            "audit_hook": True}
    no_net = {"landlock": 3, "net": [], "scoped": [], "audit_hook": True, "no_bwrap": "not installed"}
    hook_only, off, unknown = {"landlock": 0, "audit_hook": True}, {"off": True}, {"unknown": True}
    assert not sandbox.is_weak(full) and all(map(sandbox.is_weak, (no_net, hook_only, off, unknown)))
    assert sandbox.describe(off) == "none (the sandbox was turned off)"
    assert sandbox.describe(unknown) == "unknown (the kernel did not report its sandbox)"
    assert sandbox.summary([full, {}]) == ([sandbox.describe(full)], [])
    assert sandbox.summary([]) == ([], [])
    assert sandbox.summary([hook_only]) == (["audit hook only (no bubblewrap, Landlock missing or not applied)"],
                                            [sandbox.WEAK_WARNING])
    assert sandbox.summary([no_net])[1] == [sandbox.WEAK_WARNING, "bubblewrap was not used: not installed"]
    assert sandbox.describe(full) == ("bubblewrap 0.8.0 (own PID, network, IPC, mount namespaces; allow-listed files; "
                                      "a user of its own, no privileges; at most 64 processes) + Landlock ABI 6 "
                                      "(files, no TCP, signals) + audit hook")
    assert sandbox.is_weak({**full, "capabilities": 0x3ff}) and sandbox.is_weak({**full, "namespaces": ["IPC"]})
    for mode in (off, unknown):
        lines, weak = sandbox.summary([mode])
        assert lines == [sandbox.describe(mode)] and len(weak) == 1
        assert "Landlock and the Python audit hook alone" not in weak[0]
    assert sandbox.summary([off])[1][0].startswith("the sandbox was turned off")
    assert sandbox.summary([unknown])[1] == [sandbox.UNKNOWN_WARNING]
    lines, weak = sandbox.summary([hook_only, full, off, hook_only, unknown, {}])
    assert lines == sorted({sandbox.describe(m) for m in (hook_only, full, off, unknown)})
    assert weak == [sandbox.OFF_WARNING, sandbox.UNKNOWN_WARNING, sandbox.WEAK_WARNING]
    # the three reports word it the same way
    results = [grader.NotebookResult("amy", "x.ipynb", "graded", sandbox=off),
               grader.NotebookResult("bob", "x.ipynb", "invalid")]
    report.write_reports(results, tmp_path, seed=1, source="src")
    data = json.loads((tmp_path / "grades.json").read_text())
    assert data["sandbox"] == ["none (the sandbox was turned off)"] and data["sandbox_weak"] is True
    batch.print_sandbox(results)
    out = capsys.readouterr()
    assert out.out == "sandbox: none (the sandbox was turned off)\n"
    assert out.err == f"WARNING: {sandbox.OFF_WARNING}\n"
    grader._print_validation(grader.NotebookResult("you", "x.ipynb", "graded", sandbox=unknown), True)
    out = capsys.readouterr().out
    assert "  sandbox: unknown (the kernel did not report its sandbox)\n" in out
    assert f"  WARNING: {sandbox.UNKNOWN_WARNING}\n" in out and "audit hook alone" not in out
    grader._print_validation(grader.NotebookResult("you", "x.ipynb", "graded", sandbox=full), True)
    assert "WARNING" not in capsys.readouterr().out


def test_hook_path_test_is_bound_not_looked_up():
    """The audit hook's `_under` is `_inside` over the roots, bound as default
    arguments (no closure, no module global read when it runs)."""
    assert sandbox._under.__closure__ is None and sandbox._inside.__closure__ is None
    assert sandbox._inside in sandbox._under.__defaults__ and os.sep in sandbox._inside.__defaults__
    assert sandbox._under("/a/b", ("/x", "/a")) and sandbox._under("/a/b", ("/a/",)) and sandbox._under("/etc", ("/",))
    assert sandbox._under("/a", ("/a",)) and not sandbox._under("/ab", ("/a",)) and not sandbox._under("/a", ())
    assert not sandbox._under("/", ("/a",))


def test_scratch_usage_stops_at_the_first_entry_past_the_limit(tmp_path):
    (tmp_path / "sub").mkdir()
    for i in range(30):
        (tmp_path / "sub" / f"f{i}").write_bytes(b"x" * 5000)
    size, count = scratch_usage(tmp_path, 100)
    assert count == 31 and size >= 30 * 4096
    assert scratch_usage(tmp_path, 10)[1] == 11
    assert scratch_usage(tmp_path, 31) == (size, 31)


def test_validate_without_the_release_manifest_rebuilds_the_same(tmp_path):
    """A released notebook whose manifest was removed: validate makes it from
    the cells themselves (their stored checksums), and runs the same cells."""
    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    steps, problems, max_total = rebuild_released(nb)
    assert problems == [] and max_total == 3
    bare = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    bare.metadata.pop(N.MANIFEST_KEY)
    assert N.manifest(bare) is None
    bare_steps, bare_problems, bare_total = rebuild_released(bare)
    assert bare_steps == steps and bare_total == max_total
    assert len(bare_problems) == 1 and "carries no release information" in bare_problems[0]
    # each cell's stored checksum stands in for the manifest's: an edited test cell is not checked here ...
    cell_by_id(bare, "check_double").source += "\nprint('edited')"
    edited = {s.grade_id: s.kind for s in rebuild_released(bare)[0] if s.grade_id}
    assert edited == {"pla_update": "answer", "check_pla_update": "test", "demo": "code", "double": "answer",
                      "check_double": "unchecked"}
    # ... unless it carries no checksum at all (then nothing tells it from the released one)
    cell_by_id(bare, "check_double").metadata.nbgrader.pop("checksum")
    assert {s.grade_id: s.kind for s in rebuild_released(bare)[0] if s.grade_id}["check_double"] == "test"


def test_load_submission_refuses_a_link(tmp_path):
    real = tmp_path / "real.ipynb"
    nbformat.write(with_answers(CORRECT_PLA, CORRECT_DOUBLE), str(real))
    (tmp_path / "link.ipynb").symlink_to(real)
    with pytest.raises(InvalidSubmission, match="symbolic link"):
        load_submission(tmp_path / "link.ipynb")


def test_load_submission_refuses_a_directory(tmp_path):
    with pytest.raises(InvalidSubmission):
        load_submission(tmp_path)


# ----------------------------------------------------------- validate ----

VALIDATE_LIMITS = Limits(cell_timeout=10, total_timeout=60, memory_mb=1024)


def run_validate(tmp_path, nb):
    path = tmp_path / "mine.ipynb"
    nbformat.write(nb, str(path))
    return validate(path, limits=VALIDATE_LIMITS, seed=3)


def test_validate_scores_as_the_grader_would(tmp_path, capsys):
    r = run_validate(tmp_path, with_answers(WRONG_PLA, CORRECT_DOUBLE))
    out = capsys.readouterr().out
    assert {e.grade_id: e.points for e in r.exercises} == {"check_pla_update": 0, "check_double": 1}
    assert "check_pla_update" in out and "0/2" in out and "wrong" in out
    assert "total 1/3" in out and "sandbox: " in out
    # the whole message of the wrong answer, not its first line only: the smallest failing input,
    # expected vs got and the hint, as the check itself words them when run here
    from coursekit.checks import perceptron as CP

    here = CP.check_pla_update(lambda w, x, y: w - y * x, verbose=False).message.splitlines()
    hint = next(line.strip() for line in here if line.strip().startswith("Hint:"))
    message = {e.grade_id: e.message for e in r.exercises}["check_pla_update"]
    assert len(message.splitlines()) > 3 and all(line.strip() in out for line in message.splitlines())
    assert "Smallest failing input" in out and hint in out
    assert re.search(r"^\s+expected: ", out, re.M) and re.search(r"^\s+got: ", out, re.M)
    if bwrap.probe()[0]:
        assert "sandbox: bubblewrap" in out and "WARNING" not in out


def test_validate_does_not_trust_an_edited_test_cell(tmp_path, capsys):
    """The edit would pass anything; the grader restores the original, which
    validate does not have: the exercise is not checked, and says why."""
    nb = with_answers(CORRECT_PLA, "def double(x):\n    return None\n")
    test = cell_by_id(nb, "check_double")
    test.source = "print('double(3) = 6')"
    r = run_validate(tmp_path, nb)
    out = capsys.readouterr().out
    index = nb.cells.index(test)
    ex = {e.grade_id: e for e in r.exercises}
    assert ex["check_double"].points == 0 and ex["check_double"].status == "not checked"
    assert ex["check_pla_update"].points == 2 and r.max_total == 3
    assert f"cell {index} ('check_double') was changed; the grader will restore the original" in out


def test_validate_counts_a_deleted_test_cell(tmp_path, capsys):
    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    nb.cells.remove(cell_by_id(nb, "check_pla_update"))
    r = run_validate(tmp_path, nb)
    out = capsys.readouterr().out
    assert r.max_total == 3 and r.total == 1
    assert {e.grade_id: e.status for e in r.exercises} == {"check_pla_update": "not checked", "check_double": "passed"}
    assert "test cell 'check_pla_update' was deleted; the grader will restore it" in out
    assert "total 1/3" in out


def test_validate_and_grade_agree_on_an_added_helper_cell(graded, tmp_path, capsys):
    graded_copy = graded["root"] / "submitted" / "added_helper.ipynb"
    r = run_validate(tmp_path, nbformat.read(str(graded_copy), as_version=4))
    out = capsys.readouterr().out
    assert {e.grade_id: e.points for e in r.exercises} == points(graded, "added_helper")
    assert "NameError" in r.exercises[0].message
    index = next(i for i, c in enumerate(nbformat.read(str(graded_copy), as_version=4).cells)
                 if N.cell_source(c).startswith("def _helper"))
    assert f"cell(s) {index}: code you added" in out and "not run here either" in out
