"""Machine-made mutants (`autograder.mutate`) and `course validate --mutate`."""

import json
import os
import subprocess
import sys
import textwrap

import nbformat
import pytest

from autograder import mutate, mutation
from autograder.model import Outcome, Result

from conftest import ROOT, run_course

# a solution cell whose code outside the markers (the signature, the docstring, a line before the region and
# a line after the function) would be mutated too, were the markers not respected
PREFIX = '''def f(x, h, W, b):
    """Doc: torch.sigmoid(x + h)[0] stays."""
    pre = torch.sigmoid(x + h)[0].clone()
    ### BEGIN SOLUTION
'''
SUFFIX = '''    ### END SOLUTION


z = torch.tanh(x[0] @ W + h.clone())
'''


def solution_cell(body: str, blank: str = "f", kind: str = "code"):
    source = PREFIX + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ") + SUFFIX
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": blank, "locked": False, "schema_version": 3,
                                 "solution": True, "task": False}
    return cell


def regions_made(body: str, operator: str) -> set[str]:
    """The mutated solution regions (dedented) that ``operator`` makes of ``body``; every mutant must
    leave the code outside the markers as it was."""
    nb = nbformat.v4.new_notebook(cells=[solution_cell(body)])
    made = set()
    for mutant in mutate.mutants(nb, [operator]):
        assert mutant.operator == operator and mutant.id.startswith(f"f:{operator}:")
        assert mutant.source.startswith(PREFIX) and mutant.source.endswith(SUFFIX), mutant.source
        made.add(textwrap.dedent(mutant.source[len(PREFIX):-len(SUFFIX)]).strip())
    return made


@pytest.mark.parametrize("operator, body, expected", [
    ("activation", "return torch.sigmoid(x) + h.tanh() + nn.Sigmoid()(b)", {
        "return torch.tanh(x) + h.tanh() + nn.Sigmoid()(b)",
        "return torch.sigmoid(x) + h.sigmoid() + nn.Sigmoid()(b)",
        "return torch.sigmoid(x) + h.tanh() + nn.Tanh()(b)"}),
    ("drop-term", "y = a + b - c  # (N, H)", {
        "y = a + b  # (N, H)", "y = c  # (N, H)", "y = a - c  # (N, H)", "y = b - c  # (N, H)"}),
    ("transpose", "y = x @ W.T + h @ U", {
        "y = x @ W + h @ U", "y = x @ W.T + h @ U.T"}),
    ("index", "y = x[0] + h[-1] + W[:, 1:2] + x[t] * 2", {
        "y = x[1] + h[-1] + W[:, 1:2] + x[t] * 2",
        "y = x[0] + h[0] + W[:, 1:2] + x[t] * 2", "y = x[0] + h[-2] + W[:, 1:2] + x[t] * 2",
        "y = x[0] + h[-1] + W[:, 0:2] + x[t] * 2", "y = x[0] + h[-1] + W[:, 2:2] + x[t] * 2",
        "y = x[0] + h[-1] + W[:, 1:1] + x[t] * 2", "y = x[0] + h[-1] + W[:, 1:3] + x[t] * 2"}),
    ("swap-args", "y = torch.cat(x, h, 0) + g(a, a) + k(a)", {
        "y = torch.cat(h, x, 0) + g(a, a) + k(a)"}),
    ("operator", "y = a * b / c if a < b else a == b\nz += 1\nq = x[2 * H:3 * H]", {
        "y = a / b / c if a < b else a == b\nz += 1\nq = x[2 * H:3 * H]",
        "y = a * b * c if a < b else a == b\nz += 1\nq = x[2 * H:3 * H]",
        "y = a * b / c if a <= b else a == b\nz += 1\nq = x[2 * H:3 * H]",
        "y = a * b / c if a < b else a != b\nz += 1\nq = x[2 * H:3 * H]",
        "y = a * b / c if a < b else a == b\nz -= 1\nq = x[2 * H:3 * H]"}),
    ("no-clone", "y = x.clone() + (a + b).detach().clone() + h.clone(memory_format=m)", {
        "y = x + (a + b).detach().clone() + h.clone(memory_format=m)",
        "y = x.clone() + (a + b).detach() + h.clone(memory_format=m)",
        "y = x.clone() + (a + b).clone() + h.clone(memory_format=m)"}),
    ("in-place", "h = h + x\nW = W * 2\nc = x\nc = c + 1\nb = b.float()\nb = b - 1", {
        "h += x\nW = W * 2\nc = x\nc = c + 1\nb = b.float()\nb = b - 1",
        "h = h + x\nW *= 2\nc = x\nc = c + 1\nb = b.float()\nb = b - 1"}),
])
def test_each_operator_makes_exactly_its_changes_inside_the_markers(operator, body, expected):
    assert regions_made(body, operator) == expected


def test_a_parameter_reassigned_before_the_region_is_not_the_callers_any_more():
    cell = solution_cell("x = x + 1")
    cell.source = cell.source.replace("    ### BEGIN SOLUTION", "    x = x.float()\n    ### BEGIN SOLUTION")
    assert mutate.mutants(nbformat.v4.new_notebook(cells=[cell]), ["in-place"]) == []
    assert regions_made("x = x + 1", "in-place") == {"x += 1"}


def test_markdown_answers_and_cells_that_are_no_solution_are_never_mutated():
    answer = solution_cell("y = torch.sigmoid(a + b)", kind="markdown")
    locked = solution_cell("y = torch.sigmoid(a + b)")
    locked.metadata["nbgrader"]["solution"] = False
    plain = nbformat.v4.new_code_cell("### BEGIN SOLUTION\ny = torch.sigmoid(a + b)\n### END SOLUTION\n")
    assert mutate.mutants(nbformat.v4.new_notebook(cells=[answer, locked, plain])) == []


def test_every_region_of_a_cell_is_mutated_and_its_ids_name_the_region():
    cell = solution_cell("a = torch.tanh(x)")
    cell.source += "\n\ndef g(x):\n    ### BEGIN SOLUTION\n    return torch.tanh(x)\n    ### END SOLUTION\n"
    ids = [m.id for m in mutate.mutants(nbformat.v4.new_notebook(cells=[cell]), ["activation"])]
    assert ids == ["f:activation:1.1:10:tanh->sigmoid", "f:activation:2.1:13:tanh->sigmoid"]


def source(aid: str):
    from autograder import course as courses

    course = courses.load(ROOT)
    return nbformat.read(str(course.assignment(aid).path(course.root, "source")), as_version=4)


IDS = ("import nbformat; from autograder import mutate; nb = nbformat.read({path!r}, as_version=4); "
       "print('\\n'.join(m.id for m in mutate.mutants(nb)))")


def test_ids_are_unique_and_the_same_on_every_run():
    from autograder import course as courses

    course = courses.load(ROOT)
    path = str(course.assignment("03-lstm").path(course.root, "source"))
    runs = [subprocess.run([sys.executable, "-c", IDS.format(path=path)], cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, PYTHONHASHSEED=seed), check=True).stdout.splitlines()
            for seed in ("1", "2")]
    ids = [m.id for m in mutate.mutants(source("03-lstm"))]
    assert len(ids) > 50 and len(set(ids)) == len(ids)
    assert runs[0] == runs[1] == ids


@pytest.mark.parametrize("aid", ["01-rnn-foundations", "02-char-rnn", "03-lstm"])
def test_a_mutant_notebook_differs_from_the_source_in_one_solution_cell_only(aid):
    nb = source(aid)
    made = mutate.mutants(nb)
    assert made
    for mutant in made:
        changed = [(a, b) for a, b in zip(nb.cells, mutation.notebook(nb, mutant).cells) if a != b]
        assert len(changed) == 1, mutant.id
        before, after = changed[0]
        assert before.metadata == after.metadata and before.metadata["nbgrader"]["solution"], mutant.id
        assert before.metadata["nbgrader"]["grade_id"] == mutant.blank
        # what lies outside the markers is the stub's, and stays
        assert [line for line in before.source.splitlines() if "SOLUTION" in line] == \
               [line for line in after.source.splitlines() if "SOLUTION" in line]
        first, last = before.source.index(mutate.BEGIN), before.source.rindex(mutate.END)
        assert after.source[:first] == before.source[:first], mutant.id
        assert after.source.endswith(before.source[last:]), mutant.id


def test_a_limit_takes_the_same_mutants_every_time_from_several_blanks():
    made = mutate.mutants(source("03-lstm"))
    chosen = mutation.sample(made, 10)
    assert chosen == mutation.sample(list(reversed(made)), 10)[::-1] == mutation.sample(made, 10)
    assert len(chosen) == 10 and len({m.blank for m in chosen}) > 1
    assert [m.id for m in chosen] == [m.id for m in made if m in chosen]


def fake_plan(tmp_path, survivors: set[str]):
    """A mutation plan of 03-lstm's activation mutants with made-up grades: the ``survivors`` keep full
    marks, the others lose them."""
    from autograder import course as courses

    course = courses.load(ROOT)
    work = mutation.plan(course, course.assignment("03-lstm"), tmp_path, ["activation"])

    def result(score, blank="lstm_cell"):
        return Result("s", "03-lstm", "p", tests=[Outcome("t.py::t", "t", blank, 2, score,
                                                          "passed" if score == 2 else "failed")])
    graded = {"solution": result(2)}
    # a kill is a loss on the mutant's own blank (grade ids are the blanks' names in lower case)
    graded.update({name: result(2 if m.id in survivors else 0, m.blank) for name, m in work.machine.items()})
    return work, graded


def test_a_mutant_caught_only_by_another_blanks_graders_survives(tmp_path):
    from autograder import course as courses

    course = courses.load(ROOT)
    work = mutation.plan(course, course.assignment("03-lstm"), tmp_path, ["activation"])
    name, mutant = next((n, m) for n, m in work.machine.items() if m.blank == "gru_cell")
    graded = {"solution": Result("s", "03-lstm", "p", tests=[Outcome("t.py::t", "t", "gru_cell", 2, 2, "passed")])}
    graded.update({n: Result("s", "03-lstm", "p", tests=[Outcome("t.py::t", "t", m.blank, 2, 0, "failed")])
                   for n, m in work.machine.items()})
    graded[name] = Result("s", "03-lstm", "p", tests=[Outcome("t.py::t", "t", "gru_cell", 1, 1, "passed"),
                                                      Outcome("u.py::u", "u", "lstm_cell", 1, 0, "failed")])
    report = mutation.verdicts(work, graded, {})
    assert [sid for sid, _ in report.survivors] == [mutant.id]


def test_survivors_fail_unless_listed_and_listed_ids_that_match_nothing_are_stale(tmp_path):
    ids = [m.id for m in mutate.mutants(source("03-lstm"), ["activation"])]
    survivor, other = ids[0], ids[1]
    work, graded = fake_plan(tmp_path, {survivor})
    report = mutation.verdicts(work, graded, {})
    assert not report.ok and [i for i, _ in report.survivors] == [survivor]
    assert report.generated == len(ids) and report.killed == len(ids) - 1 and report.score == (len(ids) - 1) / len(ids)

    work, graded = fake_plan(tmp_path, {survivor})
    report = mutation.verdicts(work, graded, {survivor: "computes the same"})
    assert report.ok and report.survivors == [] and report.equivalent == [(survivor, "computes the same")]
    assert report.score == 1.0

    work, graded = fake_plan(tmp_path, {survivor})
    stale = "lstm_cell:activation:99:1:sigmoid->tanh"
    report = mutation.verdicts(work, graded, {survivor: "computes the same", stale: "it was once"})
    assert not report.ok and report.stale == [stale]
    assert any(c.what == f"stale equivalent {stale}" and not c.ok for c in report.checks)

    # listed, but killed: the entry is wrong
    work, graded = fake_plan(tmp_path, {survivor})
    report = mutation.verdicts(work, graded, {survivor: "computes the same", other: "so does this"})
    assert not report.ok and any(c.what == f"equivalent {other}" and not c.ok for c in report.checks)


def test_a_subset_run_does_not_call_the_other_operators_equivalents_stale(tmp_path):
    drop_term = next(m.id for m in mutate.mutants(source("03-lstm"), ["drop-term"]))
    work, graded = fake_plan(tmp_path, set())
    report = mutation.verdicts(work, graded, {drop_term: "a listed mutant of another operator"})
    assert report.ok and report.stale == [] and report.equivalent == []


def test_every_listed_equivalent_matches_a_mutant_of_its_assignment():
    for aid, listed in mutation.equivalents().items():
        ids = {m.id for m in mutate.mutants(source(aid))}
        assert set(listed) <= ids, (aid, sorted(set(listed) - ids))


@pytest.mark.parametrize("args", [["--mutate", "--operators", "activation,nope"], ["--limit", "3"],
                                  ["--operators", "activation"]])
def test_the_command_refuses_unknown_operators_and_mutate_options_without_mutate(args):
    proc = run_course("validate", "01-rnn-foundations", *args, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "nope" in proc.stderr or "only go with --mutate" in proc.stderr


@pytest.mark.slow
def test_validate_mutate_grades_the_mutants_and_writes_its_summary(tmp_path):
    out, summary_file = tmp_path / "out", tmp_path / "mutation.json"
    proc = run_course("validate", "--mutate", "01-rnn-foundations", "--operators", "activation,no-clone",
                      "--jobs", "2", "--out", out, "--report", summary_file)
    summary = json.loads(summary_file.read_text("utf-8"))
    counts = summary["assignments"]["01-rnn-foundations"]
    expected = mutate.mutants(source("01-rnn-foundations"), ["activation", "no-clone"])
    assert counts["generated"] == len(expected) > 0
    assert counts["killed"] > 0
    assert counts["killed"] + counts["survived"] + counts["equivalent"] == counts["generated"]
    assert counts["survived"] == len(counts["survivors"]) and counts["stale"] == []
    assert counts["score"] == counts["killed"] / (counts["generated"] - counts["equivalent"])
    assert proc.returncode == (0 if summary["ok"] else 1), proc.stdout + proc.stderr
    assert "== 01-rnn-foundations" in proc.stdout and "solution" in proc.stdout
    for survivor in counts["survivors"]:
        assert f"survivor {survivor['id']}" in proc.stdout and "->" in survivor["diff"]
    # each mutant's results kept as validate's --out keeps them, and the solution's
    assert len(list(out.glob("machine-*/01-rnn-foundations/results.json"))) == counts["generated"]
    assert (out / "solution" / "01-rnn-foundations" / "results.json").is_file()
