"""`course grade` on the embedded example class: scores, files in the formats people read, exit codes."""

import csv
import io
import json
import shutil
from xml.etree import ElementTree as ET

import pytest

from autograder import results, store

from conftest import AID, ROOT, load_results, run_course

EXPECTED = {"alice": 79, "bob": 59, "carol": 0, "dave": 55, "erin": 79, "frank": 0}       # 02-char-rnn
CLASS = {  # (student, assignment) -> score, for the whole embedded class
    **{(s, AID): v for s, v in EXPECTED.items()},
    **{(s, "01-rnn-foundations"): v for s, v in
       {"alice": 67, "bob": 54.5, "carol": 0, "dave": 56, "erin": 67, "frank": 0}.items()},
    **{(s, "03-lstm"): v for s, v in {"alice": 80, "bob": 64, "carol": 0, "dave": 62, "erin": 80, "frank": 0}.items()},
}

GRADESCOPE_TEST_KEYS = {"name": str, "number": str, "score": float, "max_score": float, "status": str,
                        "output": str, "visibility": str}


@pytest.mark.slow
def test_the_example_class_gets_the_expected_grades(example_grades):
    proc, out = example_grades
    assert proc.returncode == 0, proc.stderr
    for (student, aid), score in CLASS.items():
        assert load_results(out, student, aid)["score"] == score, (student, aid)
    for student in EXPECTED:                      # the table names every student
        assert student in proc.stdout


@pytest.mark.slow
def test_results_json_follows_the_gradescope_schema(example_grades, course):
    _, out = example_grades
    for student, aid in CLASS:
        data = load_results(out, student, aid)
        assert isinstance(data["score"], (int, float)) and isinstance(data["execution_time"], float)
        assert data["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        a = course.assignment(aid)
        # the total is rounded to a millionth (model.total); the tests' own points are split evenly
        assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(a.points + a.written_points)
        assert sum(t.get("score", 0) for t in data["tests"]) == pytest.approx(data["score"])
        assert data["score"] == round(data["score"], 6)
        graders, answers = data["tests"][:-len(a.written)], data["tests"][-len(a.written):]
        for test in answers:          # written answers: no score until a TA's, or zero where left blank
            assert test["tags"] in ([q] for q, _ in a.written) and ("score" in test) == ("status" in test)
        for test in graders + [t for t in answers if "score" in t]:
            for key, kind in GRADESCOPE_TEST_KEYS.items():
                assert isinstance(test[key], kind), (student, key)
            assert test["status"] in ("passed", "failed")
            assert (test["status"] == "passed") == (test["score"] == test["max_score"])
            if test["status"] == "failed":
                assert " / " in test["output"], "failures say what went wrong in Chinese and English"


@pytest.mark.slow
def test_messages_name_what_was_expected_and_what_came_back(example_grades):
    _, out = example_grades
    dave = {t["name"]: t["output"] for t in load_results(out, "dave")["tests"]}
    shapes = next(v for k, v in dave.items() if k.startswith("詩句批次的輸出形狀"))
    assert "(1, 8, 12)" in shapes and "(1, 3, 12)" in shapes
    notes = load_results(out, "dave")["output"]
    assert "locked cells were edited and have been restored: data" in notes
    bob = {t["name"]: t["output"] for t in load_results(out, "bob")["tests"]}
    losses = next(v for k, v in bob.items() if "Adam" in k)
    assert "should be" in losses and "got" in losses


@pytest.mark.slow
def test_the_blank_and_the_broken_notebook_score_zero_with_reasons(example_grades, course):
    _, out = example_grades
    for assignment in course.assignments:
        carol = load_results(out, "carol", assignment.id)
        graders = len(carol["extra_data"]["nodeids"])
        assert all("not implemented" in t["output"] for t in carol["tests"][:graders]), assignment.id
        # her written answers are the release's prompt: zero at once, saying so
        assert all(t["score"] == 0 and "not answered" in t["output"] for t in carol["tests"][graders:])
        assert len(carol["tests"]) - graders == len(assignment.written)
        frank = load_results(out, "frank", assignment.id)
        assert "not valid JSON" in frank["output"] and all(t["score"] == 0 for t in frank["tests"])


@pytest.mark.slow
def test_results_are_files_with_the_mode_an_ordinary_write_gives(example_grades, tmp_path):
    """Written atomically through a temporary file, yet not left 0600: a TA's account or a web server reads them."""
    _, out = example_grades
    (tmp_path / "ordinary").write_text("")
    ordinary = (tmp_path / "ordinary").stat().st_mode & 0o777
    for path in (out / "alice" / AID / "results.json", out / "alice" / AID / "executed.ipynb", out / "gradebook.csv"):
        assert path.stat().st_mode & 0o777 == ordinary, (path, oct(path.stat().st_mode))


@pytest.mark.slow
def test_gradebook_csv_has_one_row_per_submission(example_grades):
    _, out = example_grades
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text("utf-8"))))
    assert {(r["student"], r["assignment"]): float(r["score"]) for r in rows} == CLASS
    assert all(r["max_score"] == "85" for r in rows if r["assignment"] == AID)     # 79 of graders, 6 written
    # written answers wait for a TA (frank's notebook could not be read: nothing to grade, a zero)
    assert {r["student"]: (r["status"], r["written.why_prefix"]) for r in rows if r["assignment"] == AID} == {
        "alice": ("pending", "pending"), "bob": ("pending", "pending"), "carol": ("graded", "0"),
        "dave": ("pending", "pending"), "erin": ("pending", "pending"), "frank": ("error", "0")}
    assert [r["status"] for r in rows if r["student"] == "frank"] == ["error"] * 3
    assert "model.recurrent" in rows[0] and "train.follows_reference" in rows[0]


@pytest.mark.slow
def test_github_step_summary_gets_a_markdown_table_appended(example_grades):
    _, out = example_grades
    lines = (out / "summary.md").read_text("utf-8").splitlines()
    assert lines[0] == "earlier step" and lines[1].startswith("### ")
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| student")]
    assert len(rows) == len(CLASS)
    assert "| bob | 02-char-rnn | 59/85 | 75 |" in "\n".join(rows)      # 74% of what is graded so far


@pytest.mark.slow
def test_junit_xml_has_a_case_per_grader_with_points(example_grades):
    _, out = example_grades
    suites = ET.parse(out / "junit.xml").getroot()
    assert len(suites.findall("testsuite")) == len(CLASS)
    alice = next(s for s in suites if s.get("name") == f"alice/{AID}")
    # the 33 graders and the written answer, skipped while a TA has yet to grade it
    assert alice.get("failures") == "0" and len(alice.findall("testcase")) == 39 + 1
    assert alice.get("skipped") == "1" and alice.findall("testcase")[-1].find("skipped") is not None
    props = {p.get("name"): p.get("value") for p in alice.find("testcase/properties")}
    assert set(props) == {"score", "max_score"}


@pytest.mark.slow
def test_a_single_notebook_and_fail_under(tmp_path):
    nb = ROOT / "examples" / "submitted" / "dave" / AID / "char-rnn.ipynb"
    proc = run_course("grade", nb, "--out", tmp_path, "--fail-under", "70")        # 55/79 graded so far: 69.6%
    assert proc.returncode == 1 and "under 70%" in proc.stderr
    assert load_results(tmp_path, "dave")["score"] == 55


@pytest.mark.slow
def test_unusual_file_names_and_missing_notebooks(tmp_path):
    klass = tmp_path / "submitted"
    good = ROOT / "examples" / "submitted" / "carol" / AID / "char-rnn.ipynb"
    (klass / "王 小明" / AID).mkdir(parents=True)
    shutil.copy(good, klass / "王 小明" / AID / "char-rnn.ipynb")
    (klass / "nobody" / AID).mkdir(parents=True)              # handed in nothing
    proc = run_course("grade", klass, "--out", tmp_path / "out", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    assert load_results(tmp_path / "out", "王 小明")["score"] == 0
    assert "was not submitted" in load_results(tmp_path / "out", "nobody")["output"]


@pytest.mark.parametrize("args, code", [
    (["grade", "/no/such/folder"], 2),
    (["grade", "--jobs", "0"], 2),
    (["validate", "no-such-assignment"], 2),
])
def test_usage_and_course_errors_exit_2(args, code, tmp_path):
    proc = run_course(*args, "--out", tmp_path) if args[0] == "grade" and "--jobs" not in args else run_course(*args)
    assert proc.returncode == code, proc.stderr


@pytest.mark.slow
def test_resume_regrades_only_what_has_no_complete_result(example_grades, tmp_path):
    _, out = example_grades
    again = tmp_path / "again"
    shutil.copytree(out, again)
    (again / "bob" / AID / "results.json").unlink()                               # never written
    half = again / "dave" / AID / "results.json"
    half.write_text(half.read_text("utf-8")[:200], "utf-8")                        # cut off mid-write
    (again / "gradebook.csv").unlink()
    kept = (again / "alice" / AID / "results.json").stat().st_mtime_ns
    proc = run_course("grade", "--out", again, "--jobs", "1", "--resume")        # sequential: no judge pool
    assert proc.returncode == 0, proc.stderr
    assert (again / "alice" / AID / "results.json").stat().st_mtime_ns == kept
    assert proc.stderr.count("[") == 2                                             # two progress lines
    for student in ("bob", "dave"):            # graded in one process here, by a pool of judges before
        assert load_results(again, student)["score"] == EXPECTED[student]
        assert load_results(again, student)["tests"] == load_results(out, student)["tests"]
    rows = list(csv.DictReader(io.StringIO((again / "gradebook.csv").read_text("utf-8"))))
    assert {(r["student"], r["assignment"]): float(r["score"]) for r in rows} == CLASS


@pytest.mark.slow
def test_shards_merge_into_the_gradebook_of_a_single_run(example_grades, tmp_path):
    _, out = example_grades
    klass = [ROOT / "examples" / "submitted" / s for s in ("carol", "frank")]     # 6 quick submissions
    shards = []
    for k in (1, 2):
        folder = tmp_path / f"shard{k}"
        proc = run_course("grade", *klass, "--shard", f"{k}/2", "--out", folder, "--jobs", "1", "--quiet")
        assert proc.returncode == 0, proc.stderr
        shards.append(folder)
    graded = [sorted(str(p.parent.relative_to(s)) for p in s.glob("*/*/results.json")) for s in shards]
    assert sorted(sum(graded, [])) == sorted(f"{st}/{aid}" for st, aid in CLASS if st in ("carol", "frank"))
    assert all(len(g) == 3 for g in graded)
    merged = tmp_path / "merged"
    proc = run_course("merge", *shards, shards[0], "--out", merged)          # a shard twice: idempotent
    assert proc.returncode == 0, proc.stderr
    single = [line for line in (out / "gradebook.csv").read_text("utf-8").splitlines()
              if line.startswith(("student,", "carol,", "frank,"))]
    assert (merged / "gradebook.csv").read_text("utf-8").splitlines() == single


@pytest.mark.slow
def test_merge_refuses_conflicting_results(example_grades, tmp_path):
    _, out = example_grades
    other = tmp_path / "other"
    shutil.copytree(out, other)
    path = other / "bob" / AID / "results.json"
    data = json.loads(path.read_text("utf-8"))
    data["tests"][0]["score"], data["tests"][0]["status"] = 0.0, "failed"
    data["score"] -= 2
    path.write_text(results.dumps(store.sign(data, store.key(other))), "utf-8")     # a genuine regrade
    proc = run_course("merge", out, other, "--out", tmp_path / "merged")
    assert proc.returncode == 2 and "conflicting" in proc.stderr and "bob" in proc.stderr
    assert not (tmp_path / "merged" / "gradebook.csv").exists()
    proc = run_course("grade", "--shard", "4/3")
    assert proc.returncode == 2 and "--shard" in proc.stderr


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere():
    from autograder.progress import Progress
    from autograder.model import Result

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    graded = [Result("alice", AID, "a.ipynb", seconds=1.0), Result("frank", AID, "f.ipynb", error="broken / broken")]
    for stream in (Terminal(), io.StringIO()):
        progress = Progress(stream)
        for done, result in enumerate(graded, start=1):
            progress(done, len(graded), result)
        text = stream.getvalue()
        if stream.isatty():
            frames = text.split("\r")[1:]
            assert len(frames) == 2 and frames[0].startswith("[" + "#" * 15 + " " * 15 + "] 1/2  failures 0")
            assert frames[1].startswith("[" + "#" * 30 + "] 2/2  failures 1") and text.endswith("\n")
        else:
            lines = text.splitlines()
            assert lines[0].startswith("[1/2] alice/02-char-rnn: 0/0 (1.0s") and lines[1].startswith("[2/2] frank/")
