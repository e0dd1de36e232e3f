"""`course release`: nbgrader-generated student notebooks and executed solutions, byte-stable."""

import json
import re
import shutil

import nbformat
import pytest

from autograder import release
from autograder.notebook import SOLUTIONS_ONLY, grade_id
from autograder.release import ANSWER

from conftest import AID, ROOT, run_course


@pytest.mark.slow
def test_release_and_solutions_are_up_to_date():
    proc = run_course("release", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_release_notebook_is_what_students_should_get():
    nb = nbformat.read(str(ROOT / "release" / AID / "char-rnn.ipynb"), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in code and "optimizer.zero_grad" not in code and "nn.RNN(" not in code
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert {grade_id(c) for c in solutions} == {"getdummies", "model", "train", "predict", "sample",
                                                  "sample_next", "generate", "perplexity", "why_prefix"}
    answer = next(c for c in solutions if grade_id(c) == "why_prefix")          # the TA's text is not given
    assert (answer.cell_type, answer.source, answer.metadata.nbgrader["points"]) == ("markdown", ANSWER, 6)
    text = "\n".join(c.source for c in nb.cells)
    assert "評分標準" not in text and "參考答案" not in text
    source = nbformat.read(str(ROOT / "source" / AID / "char-rnn.ipynb"), as_version=4)
    kept = [c.source for c in source.cells if SOLUTIONS_ONLY in c.metadata.get("tags", [])]
    assert kept and not any(k in text for k in kept)                      # the summary waits for the solutions
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


def test_a_notebook_is_compared_on_what_a_source_change_would_change(tmp_path):
    """Another CPU moves a float's last bits and a figure's bytes: not stale. Any other change is."""
    from autograder.release import same

    nb = json.loads((ROOT / "solutions" / "03-lstm" / "lstm.ipynb").read_text("utf-8"))

    def write(name, edit):
        data = json.loads(json.dumps(nb))
        edit(data)
        path = tmp_path / f"{name}.ipynb"
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        return path

    original = write("original", lambda d: None)
    printed = next(c for c in nb["cells"] if any("最大誤差" in "".join(o.get("text", "")) for o in c.get("outputs", [])))
    index = nb["cells"].index(printed)

    def other_cpu(d):
        for cell in d["cells"]:
            for out in cell.get("outputs", []):
                for mime in list(out.get("data", {})):
                    if mime.startswith("image/"):
                        out["data"][mime] = out["data"][mime][::-1]            # other bytes, same figure
        out = d["cells"][index]["outputs"][0]
        out["text"] = [re.sub(r"\d\.\d\de-0[78]", "5.96e-08", line) for line in out["text"]]

    def edited_source(d):
        d["cells"][index]["source"] = "".join(d["cells"][index]["source"]) + "\n# edited"

    def other_text(d):
        d["cells"][index]["outputs"][0]["text"][0] = d["cells"][index]["outputs"][0]["text"][0].replace("(3, 20)", "(20, 3)")

    def other_value(d):
        d["cells"][index]["outputs"][0]["text"] = [re.sub(r"\d\.\d\de-0[78]", "0.0123", line)
                                                   for line in d["cells"][index]["outputs"][0]["text"]]

    def no_figure(d):
        for cell in d["cells"]:
            for out in cell.get("outputs", []):
                out.get("data", {}).pop("image/png", None)

    assert same(write("cpu", other_cpu), original)
    for name, edit in [("source", edited_source), ("text", other_text), ("value", other_value), ("figure", no_figure)]:
        assert not same(write(name, edit), original), name
