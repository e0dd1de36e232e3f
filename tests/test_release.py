"""`course release`: nbgrader-generated student notebooks and executed solutions, byte-stable."""

import json
import shutil

import nbformat

from autograder import release
from autograder.notebook import grade_id

from conftest import AID, ROOT, run_course


def test_release_and_solutions_are_up_to_date():
    proc = run_course("release", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_release_notebook_is_what_students_should_get():
    nb = nbformat.read(str(ROOT / "release" / AID / "char-rnn.ipynb"), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in code and "optimizer.zero_grad" not in code and "nn.RNN(" not in code
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert {grade_id(c) for c in solutions} == {"getdummies", "model", "train", "predict", "sample"}
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        assert "checksum" in meta or meta.get("solution"), grade_id(cell)
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if not meta.get("solution"):
            assert meta["locked"], grade_id(cell)
    model = next(c for c in solutions if grade_id(c) == "model").source
    for name in ("Model.__init__", "Model.init_hidden", "Model.forward"):
        assert f'NotImplementedError("{name}' in model


def test_solutions_are_executed_with_the_loss_curve():
    nb = nbformat.read(str(ROOT / "solutions" / AID / "char-rnn.ipynb"), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert "對酒當歌" in json.dumps(nb, ensure_ascii=False)


def test_stubs_name_their_function():
    source = "class M:\n    def f(self):\n        raise NotImplementedError()\n\ndef g():\n    raise NotImplementedError()"
    named = release.name_stubs(source)
    assert 'NotImplementedError("M.f' in named and 'NotImplementedError("g' in named


def test_check_reports_a_stale_or_missing_file(course, tmp_path):
    generated = tmp_path / "generated"
    for area in ("release", "solutions"):
        shutil.copytree(ROOT / area / AID, generated / area / AID)
    assert release.stale(course, [course.assignment(AID)], generated) == []
    path = generated / "release" / AID / "char-rnn.ipynb"
    path.write_text(path.read_text("utf-8").replace("對酒當歌", "對酒當哥", 1), "utf-8")
    (generated / "solutions" / AID / "char-rnn.ipynb").unlink()
    problems = release.stale(course, [course.assignment(AID)], generated)
    assert f"stale: release/{AID}/char-rnn.ipynb" in problems
    assert f"not generated from source: solutions/{AID}/char-rnn.ipynb" in problems
