"""The files the exports carry, as files: the Gradescope results helper imported and run here, the two
shell scripts parsed by bash."""

import importlib.util
import json
import subprocess

import pytest

from autograder import export

HELPER = export.TEMPLATES / "gradescope_results.py"


@pytest.fixture(scope="module")
def helper():
    spec = importlib.util.spec_from_file_location("gradescope_results", HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_helper_needs_nothing_but_the_standard_library():
    imports = [line for line in HELPER.read_text("utf-8").splitlines() if line.startswith(("import ", "from "))]
    assert imports and all(line.split()[1] in {"json", "os", "sys", "tempfile", "pathlib"} for line in imports), imports


def test_a_failure_is_a_zero_that_says_why(helper, tmp_path):
    err = tmp_path / "engine.err"
    err.write_text("Traceback (most recent call last):\n  grader source line\ncourse: no course.toml here\n", "utf-8")
    helper.fail(tmp_path / "results.json", "50", "the engine exited with status 2", str(err))
    data = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert data["score"] == 0.0 and data["tests"][0]["max_score"] == 50.0
    assert "course: no course.toml here" in data["output"] and "grader source line" not in data["output"]


def test_a_renamed_notebook_is_graded_with_a_note(helper, tmp_path):
    engine = tmp_path / "engine.json"
    engine.write_text(json.dumps({"score": 3.0, "output": "total 3 / 5", "tests": [{"score": 3, "max_score": 5}]}))
    helper.finish(str(engine), str(tmp_path / "results.json"), "char-rnn.ipynb", "renamed", "/sub/作業 1.ipynb")
    data = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert data["output"].splitlines()[1].startswith("評分的是 作業 1.ipynb（請命名為 char-rnn.ipynb）")
    assert data["extra_data"]["submitted"] == ["作業 1.ipynb"]


@pytest.mark.parametrize("name", ["setup.sh", "run_autograder"])
def test_the_scripts_are_bash(name, tmp_path):
    script = tmp_path / name
    script.write_text(export.template(name), "utf-8")
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
