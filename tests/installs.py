"""The pip runs of tests/test_install.py: each is one environment's story, run in a thread of its own.

They take about 4½ minutes of CPU, so they do not wait for their tests: conftest.py starts them
(:class:`Started`) once the attack corpus and `course validate` are graded, and moves test_install.py's
tests to the end of the run, so that they overlap the tests in between, which leave a core idle much
of the time. They reach
the package index (the CI machines reach it).
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from autograder import course as courses
from autograder import export

from conftest import ROOT

AID = "02-char-rnn"
NOTEBOOK = "char-rnn.ipynb"
PYENV = Path.home() / ".pyenv" / "versions"
FLOOR = export.python_floor((ROOT / "pyproject.toml").read_text("utf-8"))
FLOOR_TEXT = f"{FLOOR[0]}.{FLOOR[1]}"
BELOW = f"{FLOOR[0]}.{FLOOR[1] - 1}"
SDIST_ONLY = ["zhconv"]             # pins published without wheels (zhconv is pure Python)
TORCH_ELSEWHERE = "2.5.1"           # the torch "already there" in a student's environment


def interpreter(version: str) -> Path | None:
    """A ``python<version>`` of this machine (pyenv's, the system's, or on PATH) that really runs."""
    candidates = [*sorted(PYENV.glob(f"{version}.*/bin/python{version}")), Path(f"/usr/bin/python{version}"),
                  Path(f"/usr/local/bin/python{version}")]
    found = shutil.which(f"python{version}")
    candidates += [Path(found)] if found else []
    return next((path for path in candidates if reports(path, version)), None)


def reports(path: Path, version: str) -> bool:
    """Whether ``path`` runs, as Python ``version`` (a pyenv shim of an absent version does not)."""
    if not path.is_file():
        return False
    proc = subprocess.run([str(path), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True)
    return proc.returncode == 0 and proc.stdout.strip() == version


def pip_pins(constraints: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in constraints.read_text("utf-8").splitlines()
            if line.split("#")[0].strip()]


def lower_bounds() -> dict[str, str]:
    """pyproject.toml's dependencies as name → lower bound (``numpy>=1.24`` → ``numpy: 1.24``)."""
    bounds = {}
    for spec in tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", spec)
        assert match, f"a student's dependency is a lower bound only, not {spec!r}"
        bounds[match.group(1).lower()] = match.group(2)
    return bounds


# All at once: they are done within the next few minutes of tests, which they slow down less than they
# would take on their own. (Niced, two at a time, they slowed the validation that came after them more:
# 836 s against 795 s for the whole suite.)
AT_ONCE = 8


def run(args: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, **kwargs)


def venv(python: Path, where: Path) -> Path:
    made = run([python, "-m", "venv", where])
    assert made.returncode == 0, f"{python} -m venv: {made.stderr[-500:]}"
    return where / "bin" / "python"


def site_packages(python: Path) -> Path:
    return Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())


def fake_torch(python: Path, version: str) -> None:
    """A distribution named torch at ``version``, as pip sees an installed one (its metadata only)."""
    info = site_packages(python) / f"torch-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text("")


# ---------------------------------------------------------------------------------------------- recipes
# Each is one environment's story, run in a thread of its own; each returns what the tests read.
def pins_for(version: str, tmp: Path, pins: list[str] | None = None) -> subprocess.CompletedProcess:
    """Whether every pin (or ``pins``) has a distribution for Python ``version`` (wheels, but for SDIST_ONLY)."""
    return run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", "-q",
                "--only-binary=:all:", *(f"--no-binary={name}" for name in SDIST_ONLY), "--python-version", version,
                "--target", tmp / f"target-{version}", *(pins or pip_pins(ROOT / "constraints.txt"))])


def debian_grading(python: Path, tmp: Path) -> subprocess.CompletedProcess:
    """The README's install, with Debian's python3.11, resolved (a dry run)."""
    py = venv(python, tmp / "debian")
    return run([py, "-m", "pip", "install", "--dry-run", "-q", "-c", ROOT / "constraints.txt", f"{ROOT}[grading]"])


def below_floor(python: Path, tmp: Path) -> dict:
    py = venv(python, tmp / "below")
    pip = run([py, "-m", "pip", "install", "--dry-run", "-q", "-e", ROOT])
    engine = run([python, "-m", "autograder.cli", "--help"], env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return {"pip": pip, "engine": engine}


def student_resolution(python: Path, bundle: Path, tmp: Path) -> subprocess.CompletedProcess:
    """The student README's install into an environment that has torch 2.5.1, resolved (a dry run)."""
    py = venv(python, tmp / f"student-{python.name}")
    fake_torch(py, TORCH_ELSEWHERE)
    return run([py, "-m", "pip", "install", "--dry-run", "-q", "--report", "-", "-e", bundle])


def student_lowest(python: Path, bundle: Path, tmp: Path, torch: str) -> dict:
    """A student's environment with every dependency at its lower bound (torch at the grading pin, the
    only build on disk): installed for real, then ``course check`` and ``course release`` run in it."""
    py = venv(python, tmp / "lowest")
    steps = {"torch": run([py, "-m", "pip", "install", "-q", f"torch=={torch}"])}
    if steps["torch"].returncode:
        return steps
    lowest = tmp / "lowest.txt"
    lowest.write_text("".join(f"{name}=={bound}\n" for name, bound in lower_bounds().items() if name != "torch"))
    steps["install"] = run([py, "-m", "pip", "install", "-q", "-c", lowest, "-e", bundle])
    if steps["install"].returncode:
        return steps
    steps["list"] = run([py, "-m", "pip", "list", "--format", "json"])
    course = py.parent / "course"
    work = tmp / "alice"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "submitted" / "alice" / AID / NOTEBOOK, work / NOTEBOOK)
    steps["check alice"] = run([course, "check", work / NOTEBOOK], cwd=bundle)
    steps["check blank"] = run([course, "check", bundle / "release" / AID / NOTEBOOK], cwd=bundle)
    steps["release"] = run([course, "release", AID, "--check"], cwd=bundle)
    return steps


class Started:
    """The pip runs, started in the background; :meth:`outcomes` waits for them."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="course-installs-"))
        bundle = self.tmp / "bundle"
        with zipfile.ZipFile(export.student(courses.load(ROOT), AID, self.tmp)) as zf:
            zf.extractall(bundle)
        debian = Path(f"/usr/bin/python{FLOOR_TEXT}")           # Debian 12's: 3.11.2
        self.debian = debian if reports(debian, FLOOR_TEXT) else None
        self.below = interpreter(BELOW)
        self.students = [p for p in (self.debian or interpreter(FLOOR_TEXT),
                                     *map(interpreter, export.SETUP_PYTHONS[1:])) if p]
        self.torch = export.torch_pin((ROOT / "constraints.txt").read_text("utf-8"))
        tmp, jobs = self.tmp, {}
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=AT_ONCE)
        # the longest chain first: a real install, then `course check` and `course release` in it
        jobs["lowest"] = self.pool.submit(student_lowest, self.debian or Path(sys.executable), bundle, tmp, self.torch)
        for version in export.SETUP_PYTHONS:
            exact = f"{version}.0" if version == FLOOR_TEXT else version
            jobs[("pins", version)] = self.pool.submit(pins_for, exact, tmp)
        # the control: numpy's pin alone, which needs the floor, has no distribution below it
        numpy = [pin for pin in pip_pins(ROOT / "constraints.txt") if pin.startswith("numpy==")]
        jobs[("pins", BELOW)] = self.pool.submit(pins_for, BELOW, tmp, numpy)
        if self.debian:
            jobs["debian"] = self.pool.submit(debian_grading, self.debian, tmp)
        if self.below:
            jobs["below"] = self.pool.submit(below_floor, self.below, tmp)
        for python in self.students:
            jobs[("student", python)] = self.pool.submit(student_resolution, python, bundle, tmp)
        self.jobs = jobs

    def outcomes(self) -> dict:
        """Each run's outcome, by name (a run that raised raises here)."""
        return {name: job.result() for name, job in self.jobs.items()}

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


class NotStarted:
    """What starting the pip runs raised, raised again where their outcomes are read."""

    def __init__(self, error: Exception):
        self.error = error

    def outcomes(self) -> dict:
        raise self.error

    def close(self) -> None:
        pass
