"""The embedded example class is generated from the source and the mutant catalogue; it must not drift."""

import subprocess
import sys

from conftest import ROOT


def test_example_class_is_not_stale():
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "make_class.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
