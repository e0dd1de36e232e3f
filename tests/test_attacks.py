"""The whole attack corpus graded twice: once by `course validate`, once as a class by `course grade`.

The two gradings, in different processes with different hash seeds for the callers, must give identical
gradebook rows and identical results.json files (messages included); and no attack may leave a file
anywhere outside the results.
"""

import csv
import io
import json
import re

import nbformat

from autograder import validate

from conftest import AID, ROOT, run_course


def rows(gradebook, prefix="attack-"):
    """The attacks' rows, each grader's score by name (validate's gradebook has other assignments' columns)."""
    return {r["student"]: {k: v for k, v in r.items() if v != ""}
            for r in csv.DictReader(io.StringIO(gradebook.read_text("utf-8"))) if r["student"].startswith(prefix)}


def comparable(folder):
    """A results.json without what may differ between two gradings: time, memory, how many paths were hidden."""
    data = json.loads((folder / "results.json").read_text("utf-8"))
    data.pop("execution_time")
    for key in ("peak_memory_kib", "isolation"):
        data["extra_data"].pop(key)
    return data


def test_the_corpus_graded_twice_gives_identical_gradebooks(validation, course, tmp_path):
    _, validated = validation
    # a course of its own with validate's short limits, on this course's source and release
    text = (ROOT / "course.toml").read_text("utf-8")
    for key, value in validate.ATTACK_LIMITS.items():
        text, count = re.subn(rf"(?m)^{key} = \d+", f"{key} = {value}", text)
        assert count == 1, key
    home = tmp_path / "course"
    home.mkdir()
    (home / "course.toml").write_text(text, "utf-8")
    for area in ("source", "release"):
        (home / area).symlink_to(ROOT / area)
    bases = {"solution": nbformat.read(str(ROOT / "source" / AID / "char-rnn.ipynb"), as_version=4),
             "blank": nbformat.read(str(ROOT / "release" / AID / "char-rnn.ipynb"), as_version=4)}
    klass = tmp_path / "submitted"
    corpus = validate.attacks(course, AID)
    for attack in corpus:
        folder = klass / f"attack-{attack.name}" / AID
        folder.mkdir(parents=True)
        nbformat.write(validate.apply(bases[attack.base], attack.edits), str(folder / "char-rnn.ipynb"))
    before = sorted(p.name for p in ROOT.iterdir())

    proc = run_course("--course", home, "grade", klass, "--out", tmp_path / "graded", "--jobs", "2", "--quiet",
                      env={"PYTHONHASHSEED": "4242"})             # whatever the shell's hash seed: same grades
    assert proc.returncode == 0, proc.stderr

    first, second = rows(validated / "gradebook.csv"), rows(tmp_path / "graded" / "gradebook.csv")
    assert len(first) == len(second) == len(corpus) >= 25
    assert first == second
    for student in first:
        assert comparable(validated / student / AID) == comparable(tmp_path / "graded" / student / AID), student
    assert sorted(p.name for p in ROOT.iterdir()) == before            # nothing written into the course
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course", "graded", "submitted"]   # nor beside it
