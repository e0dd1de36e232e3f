"""Shared fixtures: the course, a way to run the `course` CLI, and one grading of the example class."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AID = "02-char-rnn"


def run_course(*args, env=None, cwd=ROOT, timeout=900) -> subprocess.CompletedProcess:
    """Run the real CLI in a fresh process, as an instructor or CI would."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def load_results(folder: Path, student: str, aid: str = AID) -> dict:
    return json.loads((folder / student / aid / "results.json").read_text("utf-8"))


@pytest.fixture(scope="session")
def course():
    from autograder import course as courses

    return courses.load(ROOT)


@pytest.fixture(scope="session")
def example_grades(tmp_path_factory):
    """The embedded class graded once by `course grade` (the README's main job)."""
    out = tmp_path_factory.mktemp("graded")
    junit = out / "junit.xml"
    summary = out / "summary.md"                 # as on GitHub Actions: earlier steps wrote there already
    summary.write_text("earlier step\n", "utf-8")
    proc = run_course("grade", "--out", out, "--jobs", "2", "--junit", junit, "--gradebook", out / "gradebook.db",
                      env={"GITHUB_STEP_SUMMARY": str(summary)})
    return proc, out


@pytest.fixture(scope="session")
def validation(tmp_path_factory):
    """`course validate` over every assignment, once, keeping its grades (the environment carries a secret
    it must not leak). Returns the process and the folder of its results."""
    out = tmp_path_factory.mktemp("validated")
    proc = run_course("validate", "--jobs", "2", "--out", out, env={"SECRET_TOKEN": "hunter2", "GITHUB_TOKEN": "ghp_x"})
    return proc, out
