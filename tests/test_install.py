"""The Python floor, and the two environments the project installs.

- The grading environment: constraints.txt's exact pins, which must have a distribution for every
  Python that Gradescope's setup.sh may choose, from the floor's first release (3.11.0) on, and must
  install with Debian 12's own python3.11 (3.11.2).
- A student's environment: pyproject.toml's lower bounds, into a Python that already has its own
  torch 2.x, which the install keeps.
- A Python below the floor gets a clear error, from pip and from the engine itself.

The pip runs reach the package index (the CI machines reach it), so they all start at once in the
module fixture ``installs`` and the tests read their outcomes.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

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


@pytest.fixture(scope="module")
def installs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    bundle = tmp / "bundle"
    with zipfile.ZipFile(export.student(courses.load(ROOT), AID, tmp)) as zf:
        zf.extractall(bundle)
    debian = Path(f"/usr/bin/python{FLOOR_TEXT}")           # Debian 12's: 3.11.2
    debian = debian if reports(debian, FLOOR_TEXT) else None
    below = interpreter(BELOW)
    students = [p for p in (debian or interpreter(FLOOR_TEXT), *map(interpreter, export.SETUP_PYTHONS[1:])) if p]
    torch = export.torch_pin((ROOT / "constraints.txt").read_text("utf-8"))
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for version in export.SETUP_PYTHONS:
            exact = f"{version}.0" if version == FLOOR_TEXT else version
            jobs[("pins", version)] = pool.submit(pins_for, exact, tmp)
        # the control: numpy's pin alone, which needs the floor, has no distribution below it
        numpy = [pin for pin in pip_pins(ROOT / "constraints.txt") if pin.startswith("numpy==")]
        jobs[("pins", BELOW)] = pool.submit(pins_for, BELOW, tmp, numpy)
        if debian:
            jobs["debian"] = pool.submit(debian_grading, debian, tmp)
        if below:
            jobs["below"] = pool.submit(below_floor, below, tmp)
        for python in students:
            jobs[("student", python)] = pool.submit(student_resolution, python, bundle, tmp)
        jobs["lowest"] = pool.submit(student_lowest, debian or Path(sys.executable), bundle, tmp, torch)
        done = {name: job.result() for name, job in jobs.items()}
    return {"done": done, "debian": debian, "below": below, "students": students, "torch": torch}


def outcome(installs, name):
    if name not in installs["done"]:
        pytest.skip(f"no interpreter on this machine for {name}")
    return installs["done"][name]


# ---------------------------------------------------------------------------------------------- the floor
def test_one_floor_stated_everywhere():
    assert FLOOR == (3, 11)
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"Python {FLOOR_TEXT} or newer" in readme
    setup = export.setup_sh("0", FLOOR)
    assert f"sys.version_info < {FLOOR}" in setup and f"apt-get install -y -q python{FLOOR_TEXT} " in setup
    assert re.search(rf"for candidate in python{FLOOR_TEXT} ", setup)       # the Python the pins were frozen with first
    assert f"sys.version_info < {FLOOR}" in (ROOT / "autograder" / "__init__.py").read_text("utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("version", export.SETUP_PYTHONS)
def test_every_pin_has_a_distribution_for_each_python_setup_sh_looks_for(installs, version):
    proc = installs["done"][("pins", version)]
    assert proc.returncode == 0, f"Python {version}: {proc.stderr[-3000:]}"


@pytest.mark.slow
def test_the_pin_check_fails_below_the_floor(installs):
    """The check above can fail: below the floor, a pin that needs the floor (numpy's) has no distribution."""
    proc = installs["done"][("pins", BELOW)]
    assert proc.returncode != 0 and "No matching distribution" in proc.stderr, proc.stderr[-2000:]


@pytest.mark.slow
def test_the_grading_environment_resolves_on_debian_python(installs):
    proc = outcome(installs, "debian")
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_below_the_floor_pip_and_the_engine_refuse_clearly(installs):
    found = outcome(installs, "below")
    pip, engine = found["pip"], found["engine"]
    assert pip.returncode != 0
    assert re.search(rf"requires a different Python: {re.escape(BELOW)}\.\d+ not in '>={FLOOR_TEXT}'", pip.stderr), \
        pip.stderr[-2000:]
    assert engine.returncode == 1 and "Traceback" not in engine.stderr, engine.stderr
    assert f"course: needs Python {FLOOR_TEXT} or newer; this is Python {BELOW}." in engine.stderr, engine.stderr


# ---------------------------------------------------------------------------------------------- setup.sh
def which_python(tmp: Path, links: dict[str, Path | str]) -> subprocess.CompletedProcess:
    """``setup.sh --which-python`` with a PATH holding only ``links`` (name → interpreter, or a script)."""
    folder = tmp / "bin"
    folder.mkdir()
    for name, target in links.items():
        if isinstance(target, Path):
            (folder / name).symlink_to(target)
        else:
            (folder / name).write_text(target)
            (folder / name).chmod(0o755)
    (folder / "dirname").symlink_to(shutil.which("dirname"))
    script = tmp / "setup.sh"
    script.write_text(export.setup_sh("2.13.0", FLOOR))
    return subprocess.run(["/bin/bash", str(script), "--which-python"], capture_output=True, text=True,
                          env={"PATH": str(folder)}, timeout=60)


OLD_PYTHON = "#!/bin/sh\nexit 1\n"        # a python3 that fails the version test, as Ubuntu 22.04's 3.10 does


@pytest.mark.parametrize("links, chosen", [
    ({"python3": OLD_PYTHON, "python3.11": "floor"}, "python3.11"),
    ({"python3": "floor"}, "python3"),
    ({"python3.12": "newer", "python3.11": "floor", "python3": OLD_PYTHON}, "python3.11"),
    ({"python3.12": "newer", "python3": OLD_PYTHON}, "python3.12"),
    ({"python3": OLD_PYTHON}, None),
])
def test_setup_sh_chooses_a_python_at_or_above_the_floor(tmp_path, links, chosen):
    real = {"floor": interpreter(FLOOR_TEXT) or Path(sys.executable), "newer": interpreter("3.12")}
    if "newer" in links.values() and real["newer"] is None:
        pytest.skip("no python3.12 on this machine")
    links = {name: real.get(target, target) for name, target in links.items()}
    proc = which_python(tmp_path, links)
    if chosen is None:
        assert proc.returncode == 3 and f"would install python{FLOOR_TEXT}" in proc.stderr, proc
    else:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == str(tmp_path / "bin" / chosen)


# ---------------------------------------------------------------------------------------------- students
@pytest.mark.slow
def test_a_student_install_keeps_the_torch_that_is_there(installs):
    """Into Python 3.11 to 3.13 (those this machine has), each with torch 2.5.1 already installed: the
    bundle's install resolves, leaves torch alone and brings no grading package."""
    assert installs["students"]
    for python in installs["students"]:
        proc = installs["done"][("student", python)]
        assert proc.returncode == 0, f"{python}: {proc.stderr[-3000:]}"
        names = {item["metadata"]["name"].lower() for item in json.loads(proc.stdout)["install"]}
        assert "torch" not in names and not {"nvidia-cublas-cu12", "triton"} & names, (python, sorted(names))
        assert not {"nbgrader", "nbconvert", "pyseccomp"} & names, (python, sorted(names))
        assert {"rnn-course", "numpy", "pytest", "nbformat", "matplotlib"} <= names, (python, sorted(names))


@pytest.mark.slow
def test_a_student_install_at_the_lower_bounds_checks_a_notebook(installs):
    steps = installs["done"]["lowest"]
    for name, proc in steps.items():
        if name not in ("check blank", "release"):
            assert proc.returncode == 0, f"{name}: {proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    versions = {item["name"].lower(): item["version"] for item in json.loads(steps["list"].stdout)}
    for name, bound in lower_bounds().items():
        if name != "torch":
            assert Version(versions[name]) == Version(bound), (name, versions[name])
    assert versions["torch"].split("+")[0] == installs["torch"]                  # not replaced
    assert not {"nbgrader", "nbconvert", "pyseccomp"} & set(versions)
    assert "12/12" in steps["check alice"].stdout, steps["check alice"].stdout[-2000:]
    assert steps["check blank"].returncode == 1, steps["check blank"].stdout[-2000:]
    # an instructor's command in a student's environment says what is missing
    release = steps["release"]
    assert release.returncode == 2 and "-e '.[grading]'" in release.stderr and "Traceback" not in release.stderr, \
        release.stderr[-2000:]
