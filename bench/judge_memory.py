"""Does the judge's memory grow with the submissions it grades?

    python bench/judge_memory.py [--count 200] [--assignment 02-char-rnn]

Grades ``--count`` submissions one after another in this one judge process (the example class's
readable notebooks, in turn), and prints the judge's resident memory, its Python objects and its
loaded modules after the first ten and at every quarter. A leak shows as a steady climb per
submission after the warm-up; the last line gives that slope. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def resident_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv=None) -> int:
    from autograder import course as courses
    from autograder import judge

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--assignment", default="02-char-rnn")
    args = parser.parse_args(argv)
    course = courses.load(ROOT)
    assignment = course.assignment(args.assignment)
    notebooks = [p for p in sorted((ROOT / "examples" / "submitted").glob(f"*/{assignment.id}/{assignment.notebook}"))
                 if p.parent.parent.name != "frank"]
    marks = sorted({10, args.count // 4, args.count // 2, 3 * args.count // 4, args.count})
    rows = []
    started = time.monotonic()
    for n in range(1, args.count + 1):
        path = notebooks[(n - 1) % len(notebooks)]
        judge.grade(path, assignment, course, student=path.parent.parent.name)
        if n in marks:
            gc.collect()
            rows.append((n, resident_mib(), len(gc.get_objects()), len(sys.modules)))
            print(f"after {n:4d}: judge RSS {rows[-1][1]:7.1f} MiB  objects {rows[-1][2]:8d}  "
                  f"modules {rows[-1][3]:5d}  ({time.monotonic() - started:.0f} s)", flush=True)
    first, last = rows[0], rows[-1]
    span = max(last[0] - first[0], 1)
    print(f"from submission {first[0]} to {last[0]}: {(last[1] - first[1]) * 1024 / span:+.1f} KiB, "
          f"{(last[2] - first[2]) / span:+.1f} objects and {(last[3] - first[3]) / span:+.2f} modules per submission")
    return 0


if __name__ == "__main__":
    sys.exit(main())
