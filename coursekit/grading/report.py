"""grades.csv, grades.json and one HTML feedback page per student."""
from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

from .grader import NotebookResult
from .sandbox import summary

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(student: str) -> str:
    """A file name for a student id that cannot leave the feedback folder."""
    return _SAFE.sub("_", student).strip("._") or "student"


def write_reports(results: list[NotebookResult], out: Path, *, seed: int, source: str) -> None:
    out = Path(out)
    ids: list[str] = []
    for r in results:
        ids += [e.grade_id for e in r.exercises if e.grade_id not in ids]
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", *ids, "total", "max", "status", "problems"])
        for r in results:
            got = {e.grade_id: e.points for e in r.exercises}
            writer.writerow([r.student, r.notebook, *[f"{got[i]:g}" if i in got else "" for i in ids],
                             f"{r.total:g}", f"{r.max_total:g}", r.status, " | ".join(r.problems)])
    lines, weak = summary(r.sandbox for r in results)  # the kernels that ran (not the invalid or missing files)
    (out / "grades.json").write_text(json.dumps(
        {"source": source, "seed": seed, "sandbox": lines, "sandbox_weak": bool(weak),
         "results": [r.to_dict() for r in results]}, indent=1))
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    by_student: dict[str, list[NotebookResult]] = {}
    for r in results:
        by_student.setdefault(r.student, []).append(r)
    for student, rows in by_student.items():
        (feedback / f"{safe_name(student)}.html").write_text(feedback_html(student, rows))


_STYLE = """body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}
.passed{background:#e8f6e8}.wrong,.error,.time\\ limit,.disk\\ limit,.kernel\\ died{background:#fdeaea}
.not\\ attempted,.not\\ run,.not\\ checked{background:#fff6dd}
pre{white-space:pre-wrap;margin:.2rem 0;font-size:.85rem}.problems{background:#fff6dd;padding:.5rem 1rem}"""


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
