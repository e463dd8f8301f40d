"""The ``coursekit`` command: ``doctor``, and the instructor tools ``release``, ``validate``, ``grade``."""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coursekit", description="The deep-learning workbook's command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check versions, CPU/GPU and the widget front-end")

    rel = sub.add_parser("release", help="write the student versions of source notebooks")
    rel.add_argument("sources", nargs="+", metavar="SRC", help="source notebooks (or folders of them)")
    rel.add_argument("--out", required=True, metavar="DIR", help="folder for the student versions")

    val = sub.add_parser("validate", help="run your notebook as the grader will and show what it would score")
    val.add_argument("notebook", metavar="NOTEBOOK")
    _limit_options(val)

    gra = sub.add_parser("grade", help="grade a class's submissions")
    gra.add_argument("--source", required=True, metavar="DIR", help="folder of the source notebooks (with solutions)")
    gra.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                     help="one per student: a notebook named by student id, or a folder named by student id")
    gra.add_argument("--out", required=True, metavar="DIR", help="folder for grades.csv, grades.json, feedback/")
    gra.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="grade N submissions at once")
    gra.add_argument("--seed", type=int, default=None,
                     help="seed of the grader's re-run of the checks (default: a new random one, saved in grades.json)")
    gra.add_argument("--scheduler", metavar="ADDRESS", default=None,
                     help="grade on a Dask distributed cluster (tcp://host:8786): one task per notebook")
    gra.add_argument("--manual", metavar="CSV", default=None,
                     help="hand-given points of written answers: columns student, grade_id, points, comment")
    gra.add_argument("--deadline", metavar="TIME", default=None,
                     help="the deadline, ISO 8601 (2026-05-01T23:59+08:00; without a zone: UTC); a submission's "
                          "time is nbgrader's timestamp.txt in its folder, else the file's modification time")
    gra.add_argument("--late-penalty", type=float, default=100.0, metavar="PERCENT",
                     help="percent of the points taken off per started day late (default 100: late scores 0)")
    _limit_options(gra)
    return parser


def _limit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cell-timeout", type=float, default=60, metavar="S", help="seconds per cell (default 60)")
    p.add_argument("--timeout", type=float, default=300, metavar="S", help="seconds per notebook (default 300)")
    p.add_argument("--memory", type=int, default=2048, metavar="MB", help="memory limit of the kernel (default 2048)")
    p.add_argument("--disk", type=int, default=512, metavar="MB",
                   help="most the notebook may write to its working directory, all files together (default 512)")


def _limits(args):
    from .grading import Limits

    return Limits(cell_timeout=args.cell_timeout, total_timeout=args.timeout, memory_mb=args.memory,
                  disk_mb=args.disk)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from .device import doctor

        findings = doctor()
        return 0 if all(f.ok for f in findings) else 1
    from . import grading

    if args.command == "release":
        try:
            written = grading.release(args.sources, args.out)
        except grading.ReleaseError as err:
            print(f"coursekit release: {err}", file=sys.stderr)
            return 1
        for path in written:
            print(f"released {path}")
        return 0
    if args.command == "validate":
        from .grading.worker import adopt_orphans, kill_descendants

        adopt_orphans()  # without bubblewrap, what the kernel leaves running is ended here
        try:
            result = grading.validate(args.notebook, limits=_limits(args))
        finally:
            kill_descendants()
        return 0 if result.status not in ("invalid", "grader error") else 1
    if args.command == "grade":
        try:
            grading.grade(args.source, args.submissions, args.out, jobs=args.jobs, limits=_limits(args), seed=args.seed,
                          scheduler=args.scheduler, manual=args.manual, deadline=args.deadline,
                          late_penalty=args.late_penalty)
        except (ValueError, OSError, grading.ReleaseError) as err:
            print(f"coursekit grade: {err}", file=sys.stderr)
            return 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
