"""Catching an answer that calls the reference implementation, by any route.

The reference implementations live in the coursekit package, which every
graded kernel can import. An answer that simply calls one (imported,
aliased, wrapped, found with ``gc.get_objects()``, or run from a copy of
its code object) would pass every check. So, in a graded kernel only:

* **Kernel side.** :func:`install` puts an import hook in front of the
  others: every coursekit module (but the grader's, the widgets and the
  allowed utilities, :data:`UNMARKED`) is compiled from its source with one
  more first line in every function, ``sys.audit("coursekit.reference",
  "<module>:<qualname>")``, where ``sys.audit`` is the C function object
  itself, stored in the code's constants (:func:`inject`), so that no
  rebinding of a name or attribute silences it. A copy of the code object,
  a wrapper, an alias or a function found through ``gc`` all run that line.
  The sandbox's audit hook (installed first, so no later hook can stop it)
  writes each such call to a socket whose other end is the grader's
  (:func:`coursekit.grading.sandbox.install_audit_hook`): nothing in the
  kernel keeps the record, so nothing there can erase it.
  The record says whether the caller was itself a marked function of a
  reference module calling, from its own code, a helper it names (a helper
  calling a helper: :func:`coursekit.grading.sandbox._called_by_own_code`),
  or anything else (the answer, a wrapper, ``map``, a check's own helper, a
  coursekit function calling a function it was handed).
* **Grader side.** While the grader re-checks an exercise, it runs the
  reference in its own process under a profiler (see
  :func:`coursekit.checks.core.tracing_references`) to learn which
  coursekit functions make up the reference implementation of this
  exercise: the ones the check's code calls (the entry points, such as
  ``perceptron.pla_update`` or ``perceptron.pocket``) and every private
  helper under them (``_name``), less the helpers the check allows. The
  public functions the reference uses on the way (``linear.theta``,
  ``perceptron.count_mistakes`` inside ``pocket``) are building blocks an
  answer may use. It collects the calls the kernel reports meanwhile
  (:class:`Collector`). A call, from anything but another coursekit
  function, of one of the reference's functions during the re-check scores
  the exercise 0: "your answer calls the reference implementation".
"""
from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections import Counter

EVENT = "coursekit.reference"
MARK = "\0coursekit.reference.audit\0"  # the constant replaced by ``sys.audit`` in the compiled code
# modules whose functions are not marked: the grader itself, the widgets (no answers, many calls),
# and the utilities every exercise may use (input checks, device and seeding, data sets)
UNMARKED = ("coursekit.grading", "coursekit.widgets", "coursekit._validate", "coursekit.device",
            "coursekit.datasets")
MAX_NAMES = 10_000  # distinct names kept by the grader's collector (a flood of made-up names is counted, not kept)


def is_marked(module: str) -> bool:
    """Whether the functions of ``module`` carry the mark."""
    return module.startswith("coursekit.") and not any(module == u or module.startswith(u + ".") for u in UNMARKED)


def is_reference_module(module: str) -> bool:
    """A marked module that is not a check module: where reference implementations live."""
    return is_marked(module) and not module.startswith("coursekit.checks")


# ------------------------------------------------------- kernel side ----

class _Marker(ast.NodeTransformer):
    """Adds ``MARK(EVENT, "<module>:<qualname>")`` as the first statement of every function."""

    def __init__(self, module: str):
        self.module, self.scope = module, []

    def _function(self, node):
        qualname = ".".join(self.scope + [node.name])
        self.scope += [node.name, "<locals>"]
        self.generic_visit(node)
        self.scope = self.scope[:-2]
        call = ast.Expr(ast.Call(ast.Constant(MARK), [ast.Constant(EVENT), ast.Constant(f"{self.module}:{qualname}")],
                                 []))
        docstring = bool(node.body) and isinstance(node.body[0], ast.Expr) and \
            isinstance(getattr(node.body[0], "value", None), ast.Constant) and isinstance(node.body[0].value.value, str)
        at = 1 if docstring else 0
        ast.copy_location(call, node.body[min(at, len(node.body) - 1)])
        node.body.insert(at, call)
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node):
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()
        return node


def inject(code):
    """``code`` (and the code nested in it) with every :data:`MARK` constant replaced by ``sys.audit``.

    The sandbox's audit hook lets only this function build code objects from parts."""
    consts = tuple(sys.audit if c == MARK and isinstance(c, str) else inject(c) if isinstance(c, type(code)) else c
                   for c in code.co_consts)
    return code.replace(co_consts=consts) if consts != code.co_consts else code


def compile_marked(source: bytes | str, filename: str, module: str):
    """The module's code, every function marked."""
    tree = _Marker(module).visit(ast.parse(source, filename))
    ast.fix_missing_locations(tree)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # "'str' object is not callable": it is not a str when run
        code = compile(tree, filename, "exec", dont_inherit=True)
    return inject(code)


class _Loader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname):  # always from the source: a cached .pyc has no marks
        return compile_marked(self.get_data(self.get_filename(fullname)), self.get_filename(fullname), fullname)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if not is_marked(fullname):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _Loader(fullname, spec.origin)
        return spec


def install() -> None:
    """Mark every coursekit module imported from now on (the sandbox calls this before any student code)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    loaded = [name for name, module in list(sys.modules.items()) if module is not None and is_marked(name)]
    if loaded:  # nothing with a reference implementation may be imported unmarked before this point
        raise RuntimeError(f"coursekit modules imported before the grading sandbox could mark them: {loaded}")


# -------------------------------------------------------- grader side ----

class Collector:
    """The kernel's record of calls (``\\0<module>:<qualname>\\1<i|o>\\n`` per call, ``i`` where a
    coursekit function called it), read from a socket; only the other calls are counted.

    :meth:`drain` is called while cells run and before every count (the
    socket holds every call made before the kernel's last reply: each was
    written to it before that reply was sent). Bytes a submission writes to
    the socket itself can only add calls: a record is everything after the
    last NUL before a newline."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.setblocking(False)
        self.counts: Counter = Counter()
        self.bytes = 0
        self._partial = b""

    def drain(self) -> int:
        """Read what is waiting; returns how many bytes were read."""
        got = 0
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if not data:
                break
            got += len(data)
            self._take(data)
        return got

    def _take(self, data: bytes) -> None:
        self.bytes += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-4096:]
        for line in lines:
            name, _, where = line.rsplit(b"\0", 1)[-1].partition(b"\1")
            if where == b"i":  # a coursekit function calling another: not the answer's own call
                continue
            name = name.decode("utf-8", "replace")
            if name in self.counts or len(self.counts) < MAX_NAMES:
                self.counts[name] += 1

    def snapshot(self) -> Counter:
        self.drain()
        return Counter(self.counts)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def reference_calls(before: Counter, after: Counter, watched) -> list[str]:
    """The functions of ``watched`` called between two snapshots, sorted."""
    return sorted(name for name in watched if after.get(name, 0) > before.get(name, 0))
