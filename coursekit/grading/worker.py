"""One grading job in its own process: ``python -m coursekit.grading.worker``.

The job (with the secret re-check seed) comes on stdin and the result goes
to stdout as JSON: neither is ever in a file, on a command line or in the
environment, where a submission's kernel could look for them."""
from __future__ import annotations

import json
import os
import sys

from .grader import Limits, grade_notebook


def main() -> int:
    job = json.loads(sys.stdin.read())
    result_fd = os.dup(1)  # the result alone goes to the pipe;
    os.dup2(2, 1)  # anything else printed on the way goes to stderr
    result = grade_notebook(job["source"], job["submission"], student=job["student"], limits=Limits(**job["limits"]),
                            seed=job["seed"], deny=job["deny"], scratch_base=job.get("scratch_base"))
    with os.fdopen(result_fd, "w") as out:
        out.write(json.dumps(result.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
