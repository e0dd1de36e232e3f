"""The pinned grading environment installs on the oldest Python the README names (3.11), not only on the
one that froze it: Debian 12's own python3.11 is 3.11.2, and every pin must accept it."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

DEBIAN_PYTHON = Path("/usr/bin/python3.11")


def test_requires_python_is_the_floor_the_readme_states():
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    assert re.search(r'^requires-python = ">=3\.11"$', text, re.M)
    assert "Python 3.11 and pip" in (ROOT / "README.md").read_text("utf-8")


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_PYTHON.exists(), reason="needs Debian's python3.11 (3.11.2 on Debian 12)")
def test_the_constraints_resolve_on_debian_python(tmp_path):
    version = subprocess.run([str(DEBIAN_PYTHON), "-c", "import sys; print(sys.version_info[:3])"],
                             capture_output=True, text=True).stdout
    venv = tmp_path / "venv"
    made = subprocess.run([str(DEBIAN_PYTHON), "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"no venv module for {DEBIAN_PYTHON} (Debian's python3-venv): {made.stderr[-200:]}")
    proc = subprocess.run([str(venv / "bin" / "pip"), "install", "--dry-run", "-q", "-c", str(ROOT / "constraints.txt"),
                           "-e", str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{version}: {proc.stderr[-3000:]}"
    shutil.rmtree(venv, ignore_errors=True)
