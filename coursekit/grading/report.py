"""grades.csv, grades.json, one HTML feedback page per student, one page per written question.

:class:`Reporter` writes as results arrive: each result's row is appended to
``grades.csv`` and its JSON to ``results/`` at once, and a student's
feedback page is rewritten with every notebook of theirs graded so far, so
a run that stops late keeps what it had done. :meth:`Reporter.close` then
writes ``grades.csv`` (sorted) and ``grades.json`` whole, and the
written-answer pages. No one result can stop the others' reports: each
write is on its own, and its failure is reported.
"""
from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import sys
from pathlib import Path

from . import notebook as N
from .grader import AWAITING, ExerciseResult, NotebookResult, clean
from .sandbox import summary

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
HAND_GRADED = "graded by hand"


def safe_name(student: str) -> str:
    """A file name for a student id that cannot leave its folder, and that no other id shares:
    an id that had to be changed to be safe gets a short digest of itself ("eve smith" and
    "eve_smith" get two pages)."""
    safe = _SAFE.sub("_", student).strip("._")[:80] or "student"
    if safe != student:
        safe += "-" + hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe


def read_manual_scores(path) -> dict[tuple[str, str], tuple[float, str]]:
    """``coursekit grade --manual scores.csv``: (student, grade_id) -> (points, comment).

    Columns: ``student``, ``grade_id``, ``points``, and optionally ``comment``
    (and ``notebook``, which is not needed: grade_ids are unique across a course's notebooks)."""
    scores = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"student", "grade_id", "points"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: the columns {sorted(missing)} are missing (student, grade_id, points, comment)")
        for line, row in enumerate(reader, start=2):
            try:
                points = float(row["points"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}, line {line}: points {row['points']!r} is not a number") from None
            scores[(row["student"].strip(), row["grade_id"].strip())] = (points, (row.get("comment") or "").strip())
    return scores


def merge_manual(result: NotebookResult, scores: dict) -> NotebookResult:
    """The hand-given points of ``scores`` in the result (capped at each question's points)."""
    for i, ex in enumerate(result.exercises):
        key = (result.student, ex.grade_id)
        if ex.status == AWAITING and key in scores:
            points, comment = scores[key]
            points = max(0.0, min(points, ex.max_points))
            result.exercises[i] = ExerciseResult(ex.grade_id, points, ex.max_points, HAND_GRADED, comment, ex.output)
    result.total = round(sum(e.points for e in result.exercises), 6)
    return result


class Reporter:
    """Writes the reports of one ``coursekit grade`` run into ``out`` as results arrive."""

    def __init__(self, out: Path, sources: list[Path], *, seed: int, source: str, students=()):
        self.out, self.seed, self.source = Path(out), seed, source
        self.results: list[NotebookResult] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.questions: dict[str, list[tuple[str, str]]] = {}  # notebook -> [(grade_id, question text)]
        for path in sources:
            nb = N.read_notebook(path)
            self.ids += [N.grade_id(c) for c in nb.cells if N.is_grade(c) and N.grade_id(c) not in self.ids]
            self.questions[path.name] = [(N.grade_id(c), _question(nb, i)) for i, c in enumerate(nb.cells)
                                         if N.is_solution(c) and c.cell_type == "markdown" and N.grade_id(c)]
        self.pending = {}  # student -> notebooks still to come (a page is written when none are left)
        for student in students:
            self.pending[student] = self.pending.get(student, 0) + 1
        (self.out / "feedback").mkdir(parents=True, exist_ok=True)
        (self.out / "results").mkdir(exist_ok=True)
        self._safely("grades.csv", lambda: self._write_csv(self.out / "grades.csv", []))

    def _safely(self, what: str, write) -> None:
        try:
            write()
        except Exception as err:  # noqa: BLE001 - one report that cannot be written never stops the others
            message = f"could not write {what}: {type(err).__name__}: {err}"
            self.errors.append(message)
            print(f"coursekit grade: {message}", file=sys.stderr)

    def add(self, result: NotebookResult) -> NotebookResult:
        result = NotebookResult.from_dict(result.to_dict())  # every string writable
        self.results.append(result)
        name = f"{safe_name(result.student)}--{safe_name(result.notebook)}.json"
        self._safely(f"results/{name}", lambda: (self.out / "results" / name).write_text(
            json.dumps(result.to_dict(), indent=1), encoding="utf-8"))
        self._safely("grades.csv", lambda: self._append_row(result))
        self.pending[result.student] = self.pending.get(result.student, 1) - 1
        if self.pending[result.student] <= 0:
            self._write_feedback(result.student)
        return result

    def _rows(self, result: NotebookResult) -> list:
        got = {e.grade_id: e.points for e in result.exercises}
        return [result.student, result.notebook, *[f"{got[i]:g}" if i in got else "" for i in self.ids],
                result.late_days or "", f"{result.penalty:g}" if result.penalty else "", f"{result.total:g}",
                f"{result.max_total:g}", result.status, " | ".join(result.problems)]

    def _write_csv(self, path: Path, results: list[NotebookResult]) -> None:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["student", "notebook", *self.ids, "days late", "penalty", "total", "max", "status",
                             "problems"])
            for r in results:
                writer.writerow(self._rows(r))

    def _append_row(self, result: NotebookResult) -> None:
        with open(self.out / "grades.csv", "a", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(self._rows(result))

    def _write_feedback(self, student: str) -> None:
        rows = [r for r in self.results if r.student == student]
        path = self.out / "feedback" / f"{safe_name(student)}.html"
        self._safely(f"feedback/{path.name}", lambda: path.write_text(feedback_html(student, rows), encoding="utf-8"))

    def close(self) -> None:
        """The whole reports, sorted by student and notebook."""
        self.results.sort(key=lambda r: (r.student, r.notebook))
        for student in {r.student for r in self.results if self.pending.get(r.student, 0) > 0}:
            self._write_feedback(student)  # a student whose notebooks did not all come back
        self._safely("grades.csv", lambda: self._write_csv(self.out / "grades.csv", self.results))
        lines, weak = summary(r.sandbox for r in self.results)  # the kernels that ran (not invalid or missing files)
        self._safely("grades.json", lambda: (self.out / "grades.json").write_text(json.dumps(clean(
            {"source": self.source, "seed": self.seed, "sandbox": lines, "sandbox_weak": bool(weak),
             "report_errors": self.errors, "results": [r.to_dict() for r in self.results]}), indent=1),
            encoding="utf-8"))
        for notebook, questions in self.questions.items():
            for gid, question in questions:
                folder = self.out / "written" / Path(notebook).stem
                self._safely(f"written/{gid}.html", lambda: _write_question_page(
                    folder, notebook, gid, question, [r for r in self.results if r.notebook == notebook]))


def _question(nb, index: int) -> str:
    """The text of the markdown cell before a written answer (the question), if any."""
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type == "markdown" and not N.is_solution(cell):
            return N.cell_source(cell)
        if cell.cell_type == "code":
            break
    return ""


def _write_question_page(folder: Path, notebook: str, gid: str, question: str, results) -> None:
    e = html.escape
    folder.mkdir(parents=True, exist_ok=True)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(notebook)}: {e(gid)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{e(notebook)}: written answer {e(gid)}</h1>"]
    if question:
        parts.append(f"<div class='question'><pre>{e(question)}</pre></div>")
    parts.append("<table><tr><th>student</th><th>answer</th><th>points</th></tr>")
    for r in sorted(results, key=lambda r: r.student):
        ex = next((x for x in r.exercises if x.grade_id == gid), None)
        points = f"{ex.points:g} / {ex.max_points:g} ({e(ex.status)})" if ex else ""
        answer = r.written.get(gid, "") if isinstance(r.written, dict) else ""
        parts.append(f"<tr><td>{e(r.student)}</td><td><pre>{e(answer) or '<i>no answer</i>'}</pre></td>"
                     f"<td>{points}</td></tr>")
    parts.append("</table><p>Give points in a CSV (student, grade_id, points, comment) and merge them with "
                 "<code>coursekit grade ... --manual scores.csv</code>.</p></body></html>")
    (folder / f"{safe_name(gid)}.html").write_text("".join(parts), encoding="utf-8")


_STYLE = """body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}
.passed,.graded\\ by\\ hand{background:#e8f6e8}.partial{background:#fff6dd}
.wrong,.error,.time\\ limit,.disk\\ limit,.output\\ limit,.kernel\\ died,.calls\\ the\\ reference{background:#fdeaea}
.not\\ attempted,.not\\ run,.not\\ checked,.to\\ be\\ graded\\ by\\ hand{background:#fff6dd}
pre{white-space:pre-wrap;margin:.2rem 0;font-size:.85rem}.problems,.question{background:#fff6dd;padding:.5rem 1rem}"""


def feedback_html(student: str, results: list[NotebookResult]) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Feedback for {e(student)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>Feedback for {e(student)}</h1>"]
    for r in results:
        parts.append(f"<h2>{e(r.notebook)}: {r.total:g} / {r.max_total:g} points</h2><p>Status: <b>{e(r.status)}</b></p>")
        if r.problems:
            parts.append("<div class='problems'><p>Please note:</p><ul>"
                         + "".join(f"<li>{e(p)}</li>" for p in r.problems) + "</ul></div>")
        parts.append("<table><tr><th>exercise</th><th>points</th><th>result</th><th>details</th></tr>")
        for x in r.exercises:
            details = f"<pre>{e(x.message)}</pre>" if x.message else ""
            if x.output and x.output.strip() != x.message.strip():
                details += f"<details><summary>what the test cell printed</summary><pre>{e(x.output[:5000])}</pre></details>"
            parts.append(f"<tr class='{e(x.status)}'><td>{e(str(x.grade_id))}</td><td>{x.points:g} / {x.max_points:g}</td>"
                         f"<td>{e(x.status)}</td><td>{details}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


def write_reports(results: list[NotebookResult], out: Path, *, seed: int, source: str) -> None:
    """All reports at once, for results made elsewhere (the same files as a ``coursekit grade`` run)."""
    reporter = Reporter(Path(out), [], seed=seed, source=source, students=[r.student for r in results])
    reporter.ids = []
    for r in results:
        reporter.ids += [e.grade_id for e in r.exercises if e.grade_id not in reporter.ids]
    reporter._safely("grades.csv", lambda: reporter._write_csv(reporter.out / "grades.csv", []))
    for r in results:
        reporter.add(r)
    reporter.close()
