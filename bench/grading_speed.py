"""Grading speed: `course grade` against nbgrader's `autograde` on the same 20 char-RNN submissions.

    python bench/grading_speed.py [--count 20] [--jobs N]

The batch is the embedded example class (its five readable notebooks) repeated to ``--count``.
Printed, side by side from one run on this machine:
- nbgrader autograde (its own CLI, a fresh kernel per notebook, one at a time), seconds per submission;
- `course grade --jobs N` (a cold process, fork server included), seconds per submission, and the ratio,
  with the start-up (until the first result) apart from the rest;
- the floor: executing the same notebooks' code in an already-warm Python process, per submission,
  and our per-submission time against it;
- the peak resident memory of a worker (from the fork server's wait4) and of the judge.
This is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AID = "02-char-rnn"
NOTEBOOK = "char-rnn.ipynb"


def batch(folder: Path, count: int) -> list[Path]:
    """``count`` submissions in nbgrader's submitted/<student>/<aid>/ layout."""
    sources = [p for p in sorted((ROOT / "examples" / "submitted").glob(f"*/{AID}/{NOTEBOOK}"))
               if p.parent.parent.name != "frank"]                    # frank's file is not a notebook
    paths = []
    for i in range(count):
        target = folder / "submitted" / f"s{i:02d}" / AID / NOTEBOOK
        target.parent.mkdir(parents=True)
        shutil.copy(sources[i % len(sources)], target)
        paths.append(target)
    return paths


def time_course(folder: Path, jobs: int) -> tuple[float, float, list[dict]]:
    """(total seconds, seconds until the first result, results): `course grade` as a new process."""
    out = folder / "course-out"
    started = time.monotonic()
    first = None
    proc = subprocess.Popen([sys.executable, "-m", "autograder.cli", "grade", str(folder / "submitted"), "--out",
                             str(out), "--jobs", str(jobs)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:                  # not a terminal: one progress line per submission
        if first is None and line.startswith("[1/"):
            first = time.monotonic() - started
    if proc.wait() != 0:
        raise SystemExit(f"course grade failed with exit {proc.returncode}")
    seconds = time.monotonic() - started
    return seconds, first or seconds, [json.loads(p.read_text("utf-8"))
                                       for p in sorted(out.glob(f"*/{AID}/results.json"))]


def time_nbgrader(folder: Path, count: int) -> float:
    """nbgrader's autograde, set up as an nbgrader course would be, on the same notebooks."""
    course = folder / "nbgrader-course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "source" / AID, course / "source" / AID)
    shutil.copytree(folder / "submitted", course / "submitted")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = %r\nc.CourseDirectory.db_url = 'sqlite:///%s/gradebook.db'\n"
        "c.ExecutePreprocessor.timeout = 300\n" % (str(course), course))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONHASHSEED="0")
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run(nbgrader + ["generate_assignment", AID, "--force"], cwd=course, env=env, check=True,
                   capture_output=True)
    for i in range(count):
        subprocess.run(nbgrader + ["db", "student", "add", f"s{i:02d}"], cwd=course, env=env, check=True,
                       capture_output=True)
    started = time.monotonic()
    proc = subprocess.run(nbgrader + ["autograde", AID, "--force"], cwd=course, env=env, capture_output=True,
                          text=True)
    seconds = time.monotonic() - started
    graded = list((course / "autograded").glob(f"*/{AID}/{NOTEBOOK}"))
    if len(graded) != count:
        print(f"  (nbgrader autograded {len(graded)} of {count}; exit {proc.returncode})")
    return seconds


def time_floor(paths: list[Path]) -> float:
    """The same notebooks' code executed in this (warm) process: the least grading could cost."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import torch

    torch.set_num_threads(1)
    from autograder import notebook

    cells = [notebook.code_cells(notebook.read(p)) for p in paths]
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile("\n".join(cells[0]), "<warm-up>", "exec"), {"get_ipython": lambda: None, "__name__": "__main__"})
    started = time.monotonic()
    for code in cells:
        namespace = {"__name__": "__main__", "get_ipython": lambda: None}
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in code:
                try:
                    exec(compile(cell, "<cell>", "exec"), namespace)
                except Exception:
                    pass
    return time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-nbgrader", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="course-bench-") as scratch:
        folder = Path(scratch)
        paths = batch(folder, args.count)
        ours, first, results = time_course(folder, args.jobs)
        theirs = None if args.skip_nbgrader else time_nbgrader(folder, args.count)
        floor = time_floor(paths)
    n = args.count
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; {n} char-RNN submissions")
    if theirs is not None:
        print(f"nbgrader autograde          {theirs:7.1f} s   {theirs / n:6.2f} s/submission")
    print(f"course grade --jobs {args.jobs:<2}      {ours:7.1f} s   {ours / n:6.2f} s/submission"
          + (f"   ({theirs / ours:.1f}x nbgrader's throughput)" if theirs else ""))
    print(f"  of which start-up (until the first result) {first:.1f} s, then "
          f"{(ours - first) / max(n - 1, 1):.2f} s per further submission")
    print(f"floor (warm exec, 1 core)   {floor:7.1f} s   {floor / n:6.2f} s/submission")
    print(f"ours against the floor: {ours / floor:.1f}x wall clock; {ours * args.jobs / floor:.1f}x core-seconds")
    peaks = [r["extra_data"].get("peak_memory_kib", 0) for r in results]
    print(f"worker peak RSS: max {max(peaks) / 1024:.0f} MiB, mean {sum(peaks) / len(peaks) / 1024:.0f} MiB; "
          f"benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    scores = sorted({r["score"] for r in results})
    print(f"scores seen: {scores}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
