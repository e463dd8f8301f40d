"""Run every benchmark module, print the table, write bench-results.json."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from . import Row

# Every benchmarks/bench_*.py module, the slow whole-notebook timings last; a new module needs no entry here.
_HERE = Path(__file__).resolve().parent
_LAST = ["bench_grading", "bench_notebooks"]
MODULES = sorted(p.stem for p in _HERE.glob("bench_*.py") if p.stem not in _LAST) + _LAST


def format_table(rows: list[Row]) -> str:
    lines = [f"{'group':<22} {'measure':<46} {'value':>12}  {'budget':<12} {'':<2} note"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        mark = "" if r.ok is None else ("ok" if r.ok else "!!")
        value = f"{r.value:.4g} {r.unit}"
        lines.append(f"{r.group:<22} {r.name:<46} {value:>12}  {r.budget:<12} {mark:<2} {r.note}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="run only these modules (e.g. bench_perceptron)")
    parser.add_argument("--out", default="bench-results.json")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    failures = []
    for name in args.only or MODULES:
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            new = module.run()
        except Exception:  # one broken benchmark must not hide the others
            failures.append(name)
            traceback.print_exc()
            continue
        rows += new
        print(f"[{name}: {time.perf_counter() - start:.1f} s]", file=sys.stderr)
    print(f"coursekit benchmarks on {platform.node()}: {os.cpu_count()} CPU cores, Python {platform.python_version()}")
    print(format_table(rows))
    Path(args.out).write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "rows": [r.to_dict() for r in rows],
        "failed_modules": failures,
    }, indent=2))
    print(f"\nwritten to {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
