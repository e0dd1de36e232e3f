"""The result model's one serialisation: results.json read back is the Result that was written."""

import csv
import dataclasses
import io
import json
import subprocess
import sys

from autograder import results
from autograder.model import Outcome, Result


def full_result() -> Result:
    """A Result with every field away from its default."""
    return Result(
        student="alice", assignment="02-char-rnn", path="/class/alice/02-char-rnn/char-rnn.ipynb",
        tests=[Outcome("test_sample.py::test_dui_jiu", "對酒當歌 / completes 對", "sample", 10.0, 10.0, "passed", ""),
               Outcome("test_train.py::test_loss", "損失下降 / the loss decreases", "train", 8.0, 0.0, "failed",
                       "損失沒有下降 / the loss did not decrease\n第二行 / second line", grader_error=True),
               Outcome("test_model.py::test_shape", "name / with / slashes", "", 2.5, 1.25, "failed", "half")],
        notes=["鎖定的儲存格被修改 / locked cells were edited"], seconds=12.345, output="epoch 1 loss 3.2\n",
        error="", isolation=["mountns", "uid", "landlock"], isolated=False, peak_memory_kib=123456,
        curves=[{"name": "loss", "title": "t", "x_label": "x", "y_label": "y",
                 "series": [{"label": "yours", "values": [3.0, 2.5]}]}],
        written=[Outcome("written::why_prefix", "書面題：為什麼餵整段前綴", "why_prefix", 6.0, 4.5, "graded",
                         "助教：少了第三點"),
                 Outcome("written::extra", "書面題 extra", "extra", 3.0, 0.0, "pending", "待批改")])


def test_results_json_reads_back_as_the_result_written(tmp_path):
    written = full_result()
    path = tmp_path / "results.json"
    path.write_text(results.results_json(written, secret=b"k" * 32, executed="{}"), "utf-8")
    data = json.loads(path.read_text("utf-8"))
    read = results.parse(data, path)
    assert read is not None
    assert dataclasses.replace(read, path=written.path) == written
    assert [t.grader_error for t in read.tests] == [False, True, False] and read.grader_errors == [written.tests[1]]
    assert (read.score, read.auto_score, read.max_score, read.graded_max) == (15.75, 11.25, 29.5, 26.5)


def test_a_pending_written_answer_has_no_score_anywhere_but_says_so(tmp_path):
    result = full_result()
    data = json.loads(results.results_json(result))
    graded, pending = data["tests"][-2:]
    assert (graded["score"], graded["status"], graded["max_score"]) == (4.5, "failed", 6.0)
    assert "score" not in pending and "status" not in pending and pending["max_score"] == 3.0  # Gradescope: to come
    assert data["score"] == 15.75 and data["extra_data"]["pending_points"] == 3.0
    assert "3" in data["output"].splitlines()[1]                       # "3 more points … pending"
    rows = list(csv.DictReader(io.StringIO(results.gradebook_csv([result]))))
    assert (rows[0]["status"], rows[0]["written.why_prefix"], rows[0]["written.extra"]) == ("pending", "4.5", "pending")
    assert (rows[0]["score"], rows[0]["auto_score"], rows[0]["written_score"]) == ("15.75", "11.25", "4.5")
    junit = results.junit_xml([result])
    assert junit.count("<skipped") == 1 and 'skipped="1"' in junit
    # a pending answer that claims a score, or a graded one without, is not a result the engine wrote
    for broken in ({**pending, "score": 0.0}, {k: v for k, v in graded.items() if k != "score"}):
        tests = data["tests"][:-2] + ([graded, broken] if broken.get("max_score") == 3.0 else [broken, pending])
        assert results.parse(dict(data, tests=tests), tmp_path / "results.json") is None


def test_an_incomplete_results_json_is_not_a_result(tmp_path):
    data = json.loads(results.results_json(full_result()))
    for broken in (dict(data, score=1.0), dict(data, tests=data["tests"][:-1]), {"tests": data["tests"]}):
        assert results.parse(broken, tmp_path / "results.json") is None


def test_reading_results_needs_no_pytest_and_no_torch():
    code = ("import sys, autograder.merge, autograder.results, autograder.model; "
            "print(sorted(m for m in ('pytest', 'torch', 'autograder.judge') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_points_split_across_cases_add_up_to_the_graders_points():
    # 7 points over 3 cases are 2.333…, not exact in binary: 80 must read 80 in every total, not 79.99999999999997
    cases = [Outcome(f"t.py::test_x[{i}]", "x", "x", 7 / 3, 7 / 3, "passed") for i in range(3)]
    rest = Outcome("t.py::test_y", "y", "y", 73.0, 73.0, "passed")
    written = Outcome("w", "w", "w", 10.0, 0.0, "pending")
    result = Result(student="s", assignment="a", path="p", tests=[rest, *cases], written=[written])
    assert sum(t.score for t in result.tests) != 80               # what a plain sum gives
    assert (result.auto_score, result.score, result.max_score, result.graded_max) == (80, 80, 90, 80)
    assert json.loads(json.dumps(results.gradescope(result, "en")))["score"] == 80
