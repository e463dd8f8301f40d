"""One grading job in its own process: ``python -m coursekit.grading.worker JOB.json``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .grader import Limits, grade_notebook


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    result = grade_notebook(job["source"], job["submission"], student=job["student"],
                            limits=Limits(**job["limits"]), seed=job["seed"], deny=job["deny"])
    Path(job["result"]).write_text(json.dumps(result.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
