"""The embedded example class is generated from the source and the mutant catalogue; it must not drift."""

import json
import subprocess
import sys

from autograder import written
from conftest import ROOT


def test_example_class_is_not_stale():
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "make_class.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_example_students_write_their_own_answers_not_the_rubric(course):
    """A written answer in the example class is a student's words, or the release's prompt: never the
    master's text, which is the TA's model answer and rubric."""
    for a in course.assignments:
        answers = {}
        for path in sorted((ROOT / "examples" / "submitted").glob(f"*/{a.id}/{a.notebook}")):
            try:
                nb = json.loads(path.read_text("utf-8"))
            except ValueError:
                continue                                  # frank's notebook, cut off in the middle
            for qid, text in written.answers(nb).items():
                assert "評分標準" not in text and "參考答案" not in text, (path, qid)
                answers.setdefault(qid, set()).add(text)
        assert set(answers) == a.written_ids and all(len(texts) > 2 for texts in answers.values()), a.id
