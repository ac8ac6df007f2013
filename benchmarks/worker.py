"""A benchmark subprocess: reads one JSON job per line on stdin, answers one JSON line per job on stdout.

run.py starts it with the Keras interpreter (one per workload, so Keras's import is paid once and the
implementations can still be interleaved) and, for isolated workloads, with any interpreter for a single
job in a fresh process. A job ``{"op": "info"}`` returns the interpreter's versions instead.

Anything the frameworks print (TensorFlow's start-up lines, warnings) is sent to stderr, so that stdout
carries only the answers.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # C-level writes to fd 1 (TensorFlow, XLA) now land on stderr
    sys.stdout = sys.stderr
    from harness import execute, interpreter_info

    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        answer = interpreter_info() if job.get("op") == "info" else execute(job)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
