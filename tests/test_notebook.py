"""Reading submissions in whatever state they come, and restoring the locked cells."""

import json

import nbformat
import pytest

from autograder import notebook
from autograder.notebook import NotebookError

from conftest import AID, ROOT

SOURCE = ROOT / "source" / AID / "char-rnn.ipynb"
RELEASE = ROOT / "release" / AID / "char-rnn.ipynb"


def source():
    return nbformat.read(str(SOURCE), as_version=4)


def release():
    return nbformat.read(str(RELEASE), as_version=4)


def cell(nb, gid):
    return next(c for c in nb.cells if notebook.grade_id(c) == gid)


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2, 3]", "not a Jupyter notebook"),
    (b'{"hello": "world"}', "not a Jupyter notebook"),
    ("對酒當歌".encode("big5"), "not UTF-8"),
    (b'{"cells": [{"cell_type": "code", "source": 5}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "malformed"),
    (b'{"cells": [{"cell_type": "nonsense"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "malformed"),
])
def test_unreadable_files_get_a_clear_reason(tmp_path, content, words):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    with pytest.raises(NotebookError, match=words):
        notebook.read(path)


def test_missing_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(NotebookError, match="cannot read"):
        notebook.read(tmp_path / "absent.ipynb")
    path = tmp_path / "big.ipynb"
    path.write_bytes(b" " * 2048)
    monkeypatch.setattr(notebook, "MAX_BYTES", 1024)
    with pytest.raises(NotebookError, match="too large"):
        notebook.read(path)


def test_nbformat_3_is_refused_with_what_to_do(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "outputs": [], "metadata": {}}]}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3))
    with pytest.raises(NotebookError, match="nbformat 3: open it in Jupyter, save it"):
        notebook.read(path)


def test_restore_puts_back_edited_locked_cells_and_keeps_answers():
    sub = release()
    cell(sub, "data").source = "Text = ['假的']"
    cell(sub, "getdummies").source = "def GetDummies(*a):\n    return 42"
    restored, report = notebook.restore(sub, source(), release())
    assert report.tampered == ["data"] and not report.missing
    assert cell(restored, "data").source == cell(source(), "data").source
    assert cell(restored, "getdummies").source == "def GetDummies(*a):\n    return 42"


def test_restore_inserts_missing_cells_and_drops_duplicates():
    sub = release()
    sub.cells = [c for c in sub.cells if notebook.grade_id(c) not in ("shift", "train")]
    sub.cells.append(nbformat.from_dict(dict(cell(sub, "data"))))
    restored, report = notebook.restore(sub, source(), release())
    assert set(report.missing) == {"shift", "train"} and report.duplicated == ["data"]
    # the source's cells in its order, but the summary kept for the solutions (as the release leaves it out)
    released = [c for c in source().cells if notebook.SOLUTIONS_ONLY not in c.metadata.get("tags", [])]
    assert len(released) < len(source().cells)
    assert [notebook.grade_id(c) for c in restored.cells] == [notebook.grade_id(c) for c in released]
    # a missing answer cell becomes the release's stub, so its blank reads "not implemented"
    assert "NotImplementedError" in cell(restored, "train").source


def test_student_cells_stay_where_they_were():
    sub = release()
    index = next(i for i, c in enumerate(sub.cells) if notebook.grade_id(c) == "getdummies")
    sub.cells.insert(index + 1, nbformat.v4.new_code_cell("scratch = 1"))
    restored, report = notebook.restore(sub, source(), release())
    ids = [notebook.grade_id(c) or c.source for c in restored.cells]
    assert ids[ids.index("getdummies") + 1] == "scratch = 1" and report.clean


def test_magics_and_shell_escapes_are_transformed():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%matplotlib inline\n!pip install x\nx = 1")])
    (code,) = notebook.code_cells(nb)
    assert "run_line_magic('matplotlib', 'inline')" in code and "system('pip install x')" in code


def test_untouched_blanks_are_recognised():
    # the written answer too: still the release's 請在這裡寫下你的答案
    assert notebook.untouched(release(), release()) == {"getdummies", "model", "train", "predict", "sample",
                                                        "sample_next", "generate", "perplexity", "why_prefix"}
    sub = release()
    cell(sub, "train").source = "def train(*a):\n    return []"
    assert "train" not in notebook.untouched(sub, release())


def test_cells_missing_keys_are_repaired_as_jupyter_would(tmp_path):
    data = {"cells": [{"cell_type": "code", "source": ["x = ", "1"]}, {"cell_type": "markdown", "source": "hi"}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "sloppy.ipynb"
    path.write_text(json.dumps(data))
    assert notebook.code_cells(notebook.read(path)) == ["x = 1\n"]


def test_locked_demo_cells_are_not_run_when_grading_and_a_student_cannot_make_one():
    src = source()
    demo = cell(src, "train-run")                 # stands in for a costly locked cell that only shows
    demo.metadata["tags"] = [notebook.DEMO]
    sub = release()
    cell(sub, "train-run").metadata.pop("tags", None)                  # the student removed the tag: the source's counts
    cell(sub, "getdummies").metadata["tags"] = [notebook.DEMO]         # and tagged an answer: ignored
    sub.cells.append(nbformat.v4.new_code_cell("scratch = 1", metadata={"tags": [notebook.DEMO]}))
    restored, _ = notebook.restore(sub, src, release())
    code = notebook.code_cells(restored)
    codes = [c for c in restored.cells if c.cell_type == "code"]
    assert len(code) == len(codes)                 # one entry per code cell: outputs stay aligned
    assert code[codes.index(cell(restored, "train-run"))] == ""
    assert code[codes.index(cell(restored, "getdummies"))].startswith("def GetDummies")
    assert "scratch = 1\n" in code                # a cell the student added runs, whatever its tags
