"""Cold start: `course grade one.ipynb` against `python -c "import torch"`, alternated on this machine.

    python bench/cold_start.py [--rounds 5] [NOTEBOOK]

Each round runs both commands once, each as a new process (the page cache is warm for both: the
first round is a warm-up and is not counted). Prints every round and the medians, and their ratio
(the target is under 2). This is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "examples" / "submitted" / "alice" / "02-char-rnn" / "char-rnn.ipynb"


def seconds(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    course = Path(sys.executable).parent / "course"
    grading, importing = [], []
    with tempfile.TemporaryDirectory(prefix="course-cold-") as out:
        grade = [str(course), "grade", str(args.notebook), "--out", out, "--quiet"]
        torch = [sys.executable, "-c", "import torch"]
        for round_ in range(args.rounds + 1):
            g, t = seconds(grade), seconds(torch)
            if round_:
                grading.append(g)
                importing.append(t)
                print(f"round {round_}: course grade {g:5.2f} s   import torch {t:5.2f} s   ratio {g / t:4.2f}")
    g, t = statistics.median(grading), statistics.median(importing)
    print(f"median: course grade {g:.2f} s, import torch {t:.2f} s, ratio {g / t:.2f} (target < 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
