"""The Python floor, and the two environments the project installs.

- The grading environment: constraints.txt's exact pins, which must have a distribution for every
  Python that Gradescope's setup.sh may choose, from the floor's first release (3.11.0) on, and must
  install with Debian 12's own python3.11 (3.11.2).
- A student's environment: pyproject.toml's lower bounds, into a Python that already has its own
  torch 2.x, which the install keeps.
- A Python below the floor gets a clear error, from pip and from the engine itself.

The pip runs (tests/installs.py) reach the package index (the CI machines reach it). They all start at
once, in the background, before these tests (see conftest.py), and the tests read their outcomes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from autograder import export

from conftest import ROOT

from installs import BELOW, FLOOR, FLOOR_TEXT, interpreter, lower_bounds


@pytest.fixture(scope="module")
def installs(pip_runs):
    """The pip runs' outcomes (conftest.py started them in the background: tests/installs.py)."""
    done = pip_runs.outcomes()
    return {"done": done, "debian": pip_runs.debian, "below": pip_runs.below,
            "students": pip_runs.students, "torch": pip_runs.torch}


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
