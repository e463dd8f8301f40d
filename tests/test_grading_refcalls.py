"""The pieces of reference-call detection and of scoring, without a kernel: the marks compiled into
coursekit functions, the grader's reading of the kernel's record, and partial credit."""
import socket
import subprocess
import sys
import textwrap

import pytest

from coursekit.checks import core
from coursekit.grading import grader, refcalls
from coursekit.grading.executor import CellRun

SOURCE = '''
"""A module."""

def top(x):
    """Doubles."""
    return inner_helper(x) * 2

def inner_helper(x):
    def nested(y):
        return y
    return nested(x)

class Layer:
    def forward(self, x):
        return x

    @staticmethod
    def _private(x):
        return x

async def later():
    return 1
'''


def run_marked(source: str, module: str, code: str) -> list[str]:
    """The calls a marked module reports while ``code`` runs, in order (an audit hook stands in
    for the sandbox's)."""
    seen = []

    def hook(event, args):
        if event == refcalls.EVENT:
            seen.append(args[0])

    namespace = {"__name__": module}
    exec(refcalls.compile_marked(source, f"<{module}>", module), namespace)
    sys.addaudithook(hook)  # hooks stay for the process's life: this one only listens to the marks' event
    exec(code, namespace)
    return list(seen)


def test_every_function_reports_its_qualified_name_and_keeps_its_docstring():
    calls = run_marked(SOURCE, "coursekit.demo", "top(3); Layer().forward(1); Layer._private(2)")
    assert calls == ["coursekit.demo:top", "coursekit.demo:inner_helper", "coursekit.demo:inner_helper.<locals>.nested",
                     "coursekit.demo:Layer.forward", "coursekit.demo:Layer._private"]


def test_the_mark_is_the_audit_function_itself_not_a_name():
    code = refcalls.compile_marked(SOURCE, "<m>", "coursekit.demo")
    top = next(c for c in code.co_consts if getattr(c, "co_name", "") == "top")
    assert any(c is sys.audit for c in top.co_consts) and refcalls.MARK not in top.co_consts
    namespace = {"__name__": "coursekit.demo"}
    exec(code, namespace)
    assert namespace["top"].__doc__ == "Doubles."


def test_which_modules_are_marked():
    assert refcalls.is_marked("coursekit.perceptron") and refcalls.is_marked("coursekit.checks.perceptron")
    assert not refcalls.is_marked("coursekit.grading.rpc") and not refcalls.is_marked("coursekit._validate")
    assert not refcalls.is_marked("coursekit") and not refcalls.is_marked("numpy")
    assert refcalls.is_reference_module("coursekit.linear") and not refcalls.is_reference_module("coursekit.checks.core")


def test_the_import_hook_marks_what_is_imported_and_refuses_a_late_start():
    script = textwrap.dedent("""
        import sys
        from coursekit.grading import refcalls
        refcalls.install()
        import coursekit.perceptron as P
        assert any(c is sys.audit for c in P.pla_update.__code__.co_consts)
        import coursekit.grading.rpc as rpc
        assert not any(c is sys.audit for c in rpc.call.__code__.co_consts)
        del sys.meta_path[0]
        try:
            refcalls.install()
        except RuntimeError as err:
            print("refused:", err)
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "refused: coursekit modules imported before" in proc.stdout


def test_the_collector_counts_the_answer_s_calls_only():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    calls = refcalls.Collector(ours)
    before = calls.snapshot()
    theirs.sendall(b"\0coursekit.perceptron:pla_update\1o\n")  # the answer called it
    theirs.sendall(b"\0coursekit.perceptron:_check_w\1i\n")  # pla_update called its helper
    theirs.sendall(b"junk written by a submission\0coursekit.perceptron:pla_")  # a record cut in two ...
    theirs.sendall(b"update\1o\njunk without a newline")  # ... is read whole; junk only adds
    after = calls.snapshot()
    assert after["coursekit.perceptron:pla_update"] == 2 and "coursekit.perceptron:_check_w" not in after
    assert refcalls.reference_calls(before, after, ["coursekit.perceptron:pla_update", "coursekit.x:y"]) == [
        "coursekit.perceptron:pla_update"]
    theirs.close()
    calls.close()


def test_a_partial_verdict_scores_its_share(monkeypatch):
    parts = [core.CheckResult("loss", core.PASSED, "ok", 1, 1), core.CheckResult("grad", core.WRONG, "no", 0, 2)]
    verdict = core.combine("both", parts, verbose=False)
    monkeypatch.setattr(grader, "recheck", lambda *a, **k: verdict)
    step = grader.Step("test", "result = checks.perceptron.check_pla_update(pla_update)", "check_both", 6.0)

    class Session:
        def check_disk(self):
            return None

    limits = grader.Limits()
    # the hidden `assert result.passed` failed in the kernel, as it does for a partial answer
    run = CellRun("error", ename="AssertionError")
    scored = grader._score(Session(), step, run, 1, limits, float("inf"))
    assert scored.points == 2.0 and scored.status == "partial"  # 1 of 3 check points: 2 of the cell's 6
    crashed = grader._score(Session(), step, CellRun("error", ename="NameError"), 1, limits, float("inf"))
    assert crashed.points == 0


def test_a_verdict_that_called_the_reference_scores_nothing():
    verdict = core.CheckResult("pla_update", core.PASSED, "ok", 2, 2, reference=("coursekit.perceptron:pla_update",))
    caught = grader._calls_reference(verdict, ["coursekit.perceptron:_check_w", "coursekit.perceptron:pla_update"])
    assert caught.points == 0 and caught.status == grader.USES_REFERENCE
    assert caught.message.startswith("your answer calls the reference implementation (coursekit.perceptron.pla_update,")


HANDING = '''
def _check(w):
    return w

def count(w):
    return _check(w)

def handed(fn, *args):
    return fn(*args)

def outer(v):
    def inner():
        return v
    return inner()

class Layer:
    def forward(self, x):
        return self.f(x) + self.g(x)

    def __add__(self, other):
        return self.forward(other)
'''


def test_a_coursekit_function_calls_its_own_helpers_not_what_it_is_handed():
    """The kernel's record calls a call of a coursekit function "inner" (excused) only where the
    caller's own code makes it; a reference handed to a coursekit function that calls its argument
    (``threads_as_train(pla_update)(w, x, y)``, a layer's activation) is the answer's call."""
    from coursekit.grading.sandbox import _called_by_own_code as own

    space: dict = {}
    exec(compile(HANDING, "<m>", "exec"), space)
    count, handed, outer = space["count"].__code__, space["handed"].__code__, space["outer"].__code__
    forward, add = space["Layer"].forward.__code__, space["Layer"].__add__.__code__
    assert own(count, "m", "m:_check") and own(add, "m", "m:Layer.forward")  # named in its code
    assert own(outer, "m", "m:outer.<locals>.inner")  # a function nested in the caller
    assert own(forward, "m", "m:Layer.__add__")  # an operator's method
    assert own(handed, "m", "m:_check")  # a private helper of its own module (a table of operations)
    assert not own(handed, "m", "coursekit.perceptron:pla_update")  # handed in: the answer's call
    assert not own(handed, "m", "coursekit.perceptron:_trace")  # another module's private helper
    assert not own(forward, "coursekit.nn", "coursekit.nn:sigmoid")  # self.f = sigmoid: handed in
    assert not own(outer, "m", "m:other.<locals>.inner")  # nested elsewhere
