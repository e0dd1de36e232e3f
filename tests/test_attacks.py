"""The attack corpus graded as a class, twice: identical gradebooks, and no file outside the results touched."""

import nbformat

from autograder import validate

from conftest import AID, ROOT, run_course

# the quick ones (those that loop are in the validation run, with its short limits)
QUICK = ["kill-parent", "segfault", "write-judge-socket"]


def test_the_corpus_graded_twice_gives_identical_gradebooks(course, tmp_path):
    source = nbformat.read(str(ROOT / "source" / AID / "char-rnn.ipynb"), as_version=4)
    release = nbformat.read(str(ROOT / "release" / AID / "char-rnn.ipynb"), as_version=4)
    attacks = {a.name: a for a in validate.attacks(course, AID)}
    klass = tmp_path / "submitted"
    for name in QUICK:
        attack = attacks[name]
        folder = klass / name / AID
        folder.mkdir(parents=True)
        base = source if attack.base == "solution" else release
        nbformat.write(validate.apply(base, attack.edits), str(folder / "char-rnn.ipynb"))
    before = sorted(p.name for p in ROOT.iterdir())
    books = []
    for run in ("first", "second"):
        proc = run_course("grade", klass, "--out", tmp_path / run, "--jobs", "2", "--quiet")
        assert proc.returncode == 0, proc.stderr
        books.append((tmp_path / run / "gradebook.csv").read_text("utf-8"))
    assert books[0] == books[1]
    assert sorted(p.name for p in ROOT.iterdir()) == before          # nothing written into the course
    for name in QUICK:                                                # and the fakes did not land anywhere
        assert not (tmp_path / name).exists()
