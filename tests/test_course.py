"""course.toml is read strictly: a typo or a wrong type is an error that names the key and the known ones,
never a setting silently ignored."""

import pytest

from autograder import course as courses
from autograder.course import CourseError
from autograder.limits import Limits

from conftest import ROOT


def load_with(tmp_path, old: str, new: str):
    text = (ROOT / "course.toml").read_text("utf-8")
    assert old in text
    (tmp_path / "course.toml").write_text(text.replace(old, new, 1), "utf-8")
    return courses.load(tmp_path)


def test_the_course_loads_as_written():
    course = courses.load(ROOT)
    assert course.limits == Limits(restarts=12) and course.retry_seeds == (0, 1, 2) and course.seed == 0
    assert [a.id for a in course.assignments] == ["01-rnn-foundations", "02-char-rnn", "03-lstm"]
    assert sum(a.points for a in course.assignments) == 226 and course.trust_submissions is False


@pytest.mark.parametrize("old, new, says", [
    ("cell_seconds = 60", "cell_secnds = 60", "unknown key 'cell_secnds' (did you mean 'cell_seconds'?) in [grading]"),
    ("restarts = 12", "restarts = 12\ncore_dumps = true", "unknown key 'core_dumps' in [grading]; known: cell_seconds"),
    ('language = "zh-Hant"', 'language = "zh-Hant"\nlanguge = "en"', "unknown key 'languge'"),
    ('notebook = "lstm.ipynb"', 'notebok = "lstm.ipynb"', "unknown key 'notebok' (did you mean 'notebook'?)"),
    ("[grading]", "[grading]\n[gradng]", "unknown key 'gradng' (did you mean 'grading'?) in the top level"),
    ("cell_seconds = 60", 'cell_seconds = "60"', "[grading] cell_seconds must be a positive number, not '60'"),
    ("restarts = 12", "restarts = 1.5", "[grading] restarts must be a positive whole number, not 1.5"),
    ("restarts = 12", "restarts = 0", "[grading] restarts must be a positive whole number, not 0"),
    ("restarts = 12", "restarts = 12\ntrust_submissions = \"yes\"", "trust_submissions must be true or false"),
    ("retry_seeds = [0, 1, 2]", "retry_seeds = []", "retry_seeds must be a list of whole numbers"),
    ("points = 67", "points = -67", "[[assignments]] points must be a positive number, not -67"),
    ('id = "02-char-rnn"', 'id = "01-rnn-foundations"', "two [[assignments]] share an id: ['01-rnn-foundations']"),
])
def test_a_wrong_key_or_value_is_refused_by_name(tmp_path, old, new, says):
    with pytest.raises(CourseError) as refused:
        load_with(tmp_path, old, new)
    assert says in str(refused.value) and "course.toml" in str(refused.value)


def test_what_the_table_sets_is_what_grading_gets(tmp_path):
    course = load_with(tmp_path, "restarts = 12", "restarts = 3\nmemory_bytes = 1073741824\ntrust_submissions = true")
    assert course.limits.restarts == 3 and course.limits.memory_bytes == 1 << 30 and course.trust_submissions
