"""01-rnn-foundations as a student reads it: blanks counted right, no answer given away, terms, and a visible
BPTT check that runs the student's function with autograd off, as the hidden grader does; the gradient check
(bptt_grads, numerical_grad, find_wrong_grads), its planted bug and its written question."""

import contextlib
import importlib.util
import io
import json
import re

import pytest

from conftest import ROOT

AID, NOTEBOOK = "01-rnn-foundations", "rnn-foundations.ipynb"


def cells(area):
    nb = json.loads((ROOT / area / AID / NOTEBOOK).read_text("utf-8"))
    return [dict(c, source="".join(c["source"])) for c in nb["cells"]]


def by_id(area):
    return {c["id"]: c for c in cells(area)}


def test_intro_headings_and_solution_cells_agree_on_twelve_blanks():
    source = cells("source")
    solutions = [c for c in source if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")]
    headings = [int(n) for c in source for n in re.findall(r"^## 第 (\d+) 題：", c["source"], re.M)]
    intro = by_id("source")["intro"]["source"]
    assert len(solutions) == 12 and headings == list(range(1, 13))          # numbered in the notebook's order
    assert "共有 12 個程式題" in intro and "# 你的程式碼 (YOUR CODE HERE)" in intro
    assert not any("`# YOUR CODE HERE`" in c["source"] for c in source)


def test_the_release_gives_no_answer_away():
    release = cells("release")
    text = "\n".join(c["source"] for c in release)
    assert "summary" not in {c["id"] for c in release}            # solutions-only
    assert "summary" in by_id("solutions")
    for answer in ("6614", "344", "與 $T$ 無關", "任何長度"):        # the counts, and what the written question asks
        assert answer not in text, answer
    assert by_id("release")["why_shared"]["source"].strip() == "請在這裡寫下你的答案 (YOUR ANSWER HERE)"


def test_terms_are_taiwanese():
    text = "\n".join(c["source"] for c in cells("source"))
    for wrong in ("基于", "批量", "前激活值", "拷貝", "列表", "逐位比對", "可訓練的數字", "激活函數"):
        assert wrong not in text, wrong


def test_the_erratum_and_the_notation_table_are_there():
    notation = by_id("release")["notation"]["source"]
    # the section lists no error of the book: it is named for what it lists, the differences from PyTorch
    assert "## 與 PyTorch 的差異 (differences from PyTorch)" in notation and "## 記號對照 (notation)" in notation
    assert "勘誤" not in notation and "errata" not in notation
    assert "$h_t = \\sigma_h(W_h x_t + U_h h_{t-1})$" in notation
    # the book's own words, quoted (tests/book_quotes holds them): W_h, and only W_h, contains the constant term
    assert "W_h 為 x_t 的權重矩陣(這里包含了常數項)" in notation
    assert "書中的說法大意" not in notation and "同樣併在權重裡" not in notation
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "nonlinearity", "U_h y_{t-1}"):
        assert name in notation, name


AUTOGRAD = '''def bptt_grad_U(x, h0, params, targets):
    with torch.enable_grad():
        U = params["U_h"].clone().requires_grad_(True)
        hs, ys = elman_forward(x, h0, dict(params, U_h=U))
        loss = 0.5 * ((ys - targets) ** 2).sum()
        loss.backward()
    return U.grad
'''


@pytest.mark.parametrize("answer", ["solution", "autograd"])
def test_the_visible_bptt_check_runs_the_function_with_autograd_off(answer):
    torch = pytest.importorskip("torch")
    source = {gid: c["source"] for gid, c in by_id("source").items()}
    namespace: dict = {}
    for gid in ("imports", "helpers", "elman_cell", "elman_forward", "bptt_grad_u"):
        exec(source[gid], namespace)
    if answer == "autograd":
        exec(AUTOGRAD, namespace)
    saved = torch.Tensor.backward, torch.autograd.grad, torch.is_grad_enabled()
    try:
        if answer == "autograd":
            with pytest.raises(namespace["AutogradOff"], match="autograd is switched off here"):
                exec(source["check-bptt_grad_U"], namespace)
        else:
            exec(source["check-bptt_grad_U"], namespace)
    finally:
        assert (torch.Tensor.backward, torch.autograd.grad, torch.is_grad_enabled()) == saved   # all put back


def test_the_intro_says_where_the_checks_are_and_the_taiwanese_name():
    intro = by_id("source")["intro"]["source"]
    assert "每一題之後都有可見檢查 (visible checks)（第 10、11 題共用一個）" in intro
    first = intro.index("循環神經網路")
    assert intro[first:].startswith("循環神經網路（臺灣也常稱遞迴神經網路；書中稱為「遞歸神經網絡」）")


WRITTEN_COUNTS = re.compile(r"(?<![\d.])(80|344|6614)(?![\d.])")     # the counts at D, H, O = 4, 6, 2 that why_shared asks for

COUNT_ANSWERS = {
    "solution": None,
    "unshared as shared": "def n_params_unshared(D, H, O, T):\n    return H * D + H * H + H + O * H + O\n",
    "no biases": "def n_params_shared(D, H, O, T):\n    return H * D + H * H + O * H\n",
}


@pytest.mark.parametrize("answer", list(COUNT_ANSWERS))
def test_the_visible_counts_check_tells_nothing_the_written_question_asks(answer):
    """It runs at other sizes than 4, 6, 2, still fails wrong counts, and prints none of 80 / 344 / 6614."""
    pytest.importorskip("torch")
    source = {gid: c["source"] for gid, c in by_id("source").items()}
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for gid in ("imports", "helpers", "n_params_shared", "n_params_unshared"):
            exec(source[gid], namespace)
        if COUNT_ANSWERS[answer]:
            exec(COUNT_ANSWERS[answer], namespace)
            with pytest.raises(AssertionError):
                exec(source["check-counts"], namespace)
        else:
            exec(source["check-counts"], namespace)
    assert not WRITTEN_COUNTS.search(out.getvalue()), out.getvalue()
    assert "4, 6, 2" not in source["check-counts"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")   # the checks' own `points` mark
def test_the_public_counts_checks_tell_nothing_the_written_question_asks():
    pytest.importorskip("torch")
    from autograder.toolkit import Fail

    spec = importlib.util.spec_from_file_location("public_01", ROOT / "autograder/checks" / AID / "test_public.py")
    public = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(public)

    class Wrong:                                     # a submission whose counts are all wrong
        @staticmethod
        def n_params_shared(D, H, O, T):
            assert (D, H, O) != (4, 6, 2)
            return -1

        n_params_unshared = n_params_shared

    for check in (public.test_n_params_shared, public.test_n_params_unshared):
        with pytest.raises(Fail) as failed:
            check(Wrong())
        assert not WRITTEN_COUNTS.search(str(failed.value)), str(failed.value)


# ------------------------------------------------------------------------------ the gradient check (issue #16)
NEW_BLANKS = {"bptt_grads": (7, 10), "numerical_grad": (8, 5), "find_wrong_grads": (9, 7), "train_elman": (12, 5)}   # name: (number, points)


def grade_cell(cell):
    return cell["metadata"].get("nbgrader", {})


@pytest.mark.parametrize("name", list(NEW_BLANKS))
def test_each_new_blank_has_its_box_stub_and_check_in_the_release(name, course):
    number, points = NEW_BLANKS[name]
    release = cells("release")
    at = next(i for i, c in enumerate(release) if c["id"] == name)
    box, stub, check = release[at - 1], release[at], release[at + 1]
    assert box["cell_type"] == "markdown" and grade_cell(box)["locked"]
    assert f"## 第 {number} 題：`{name}`" in box["source"]
    assert f"{name}(" in box["source"] and "autograd" in box["source"]          # the contract, and "by hand"
    assert "# 你的程式碼 (YOUR CODE HERE)" in stub["source"] and f'NotImplementedError("{name}：' in stub["source"]
    assert "### BEGIN SOLUTION" not in stub["source"]
    assert check["id"] == f"check-{name}" and grade_cell(check)["grade"] and grade_cell(check)["points"] == points
    assert f"| {number} | `{name}` | {points} |" in by_id("source")["intro"]["source"]
    import sys

    from autograder import judge

    # collecting the graders in this process forgets the tests' own ``conftest`` module (judge forgets
    # same-named modules of other folders): put it back for the tests that import from it later
    ours = sys.modules.get("conftest")
    try:
        catalogue = judge.catalogue(course.assignment(AID).graders)
    finally:
        sys.modules["conftest"] = ours
    assert sum(t.max_score for t in catalogue if t.blank == name) == points


def test_the_intro_counts_sixty_points_and_two_written_questions(course):
    intro = by_id("source")["intro"]["source"]
    table = [int(p) for p in re.findall(r"^\| \d+ \| `\w+` \| (\d+) \|$", intro, re.M)]
    assignment = course.assignment(AID)
    assert len(table) == 12 and sum(table) == assignment.points == 67
    assert dict(assignment.written) == {"grad_h0": 5, "why_shared": 6}
    assert "另有兩題書面題" in intro and f"全部共 {67 + 11} 分" in intro and "「$\\partial L / \\partial h_0$ 與序列長度」5 分" in intro


def test_the_new_content_gives_no_answer_away():
    source, release = by_id("source"), by_id("release")
    text = "\n".join(c["source"] for c in release.values())
    for name in NEW_BLANKS:                          # no line of a solution reaches the release
        body = source[name]["source"].split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
        for line in body.splitlines():
            code = line.split("#")[0].strip()
            # (the visible checks call elman_forward the same way: that line is blank 2's contract, not an answer)
            if len(code) > 12 and code != "hs, ys = elman_forward(x, h0, params)":
                assert code not in text, (name, code)
    assert release["grad_h0"]["source"].strip() == "請在這裡寫下你的答案 (YOUR ANSWER HERE)"
    for answer in ("U_h^\\top D_1", "D_T W_y^\\top e_T", "**評分標準 (rubric)**", "**參考答案 (model answer)**", "奇異值"):
        assert answer not in text, answer
    # the planted bug is found by the student's own tool: the cells that show it give no line of find_wrong_grads
    demo = release["planted-demo"]["source"] + release["planted"]["source"]
    for code in ("numerical_grad(", ".norm() / (", "copy=True", "sorted("):
        assert code not in demo, code


def test_the_costly_demos_are_tagged_and_define_nothing_graded():
    source = by_id("source")
    for gid in ("planted-demo", "h0-demo"):
        cell = source[gid]
        assert "demo" in cell["metadata"]["tags"] and grade_cell(cell)["locked"] and not grade_cell(cell)["grade"]
        assert not re.search(r"^(def|class) ", cell["source"], re.M)
    # what the graders and later checks use is not in a demo cell
    assert "demo" not in source["planted"]["metadata"].get("tags", [])
    later = "\n".join(c["source"] for c in cells("source")[[c["id"] for c in cells("source")].index("h0-demo") + 1:]
                      if c["cell_type"] == "code")
    assert "bptt_grads_planted" not in later and "Q" not in re.findall(r"\b\w+\b", later)


def namespace_with(*gids, extra: str = ""):
    """The source's cells ``gids`` run in one namespace (and ``extra`` after them), their output swallowed."""
    source = {gid: c["source"] for gid, c in by_id("source").items()}
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for gid in ("imports", "helpers", *gids):
            exec(source[gid], namespace)
        if extra:
            exec(extra, namespace)
    return namespace, source


WRONG_ANSWERS = {
    "check-bptt_grads": ("bptt_grads", '''def bptt_grads(x, h0, params, targets):
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    start = h0.clone().requires_grad_(True)
    with torch.enable_grad():
        hs, ys = elman_forward(x, start, leaves)
        (0.5 * ((ys - targets) ** 2).sum()).backward()
    return {**{k: v.grad for k, v in leaves.items()}, "h0": start.grad}
''', "AutogradOff"),
    "check-numerical_grad": ("numerical_grad", '''def numerical_grad(f, theta, eps=1e-6):
    grad = torch.zeros_like(theta)
    for index in np.ndindex(*theta.shape):
        base = float(f())
        theta[index] += eps
        grad[index] = (float(f()) - base) / eps
        theta[index] -= eps
    return grad
''', "AssertionError"),
    "check-find_wrong_grads": ("find_wrong_grads", '''def find_wrong_grads(grads_fn, x, h0, params, targets, tol=1e-6):
    wrong = []
    for key, analytic in grads_fn(x, h0, params, targets).items():
        if key != "h0" and not torch.allclose(analytic.float(), analytic.float()):
            wrong.append(key)
    return wrong
''', "AssertionError"),
    "check-train_elman": ("train_elman", '''def train_elman(x, h0, params, targets, lr, steps):
    losses = []
    for _ in range(steps):
        grads = bptt_grads(x, h0, params, targets)
        params = {k: params[k] - lr * grads[k] for k in params}
        losses.append(float(0.5 * ((elman_forward(x, h0, params)[1] - targets) ** 2).sum()))
    return params, losses
''', "AssertionError"),
}


@pytest.mark.parametrize("check", list(WRONG_ANSWERS))
def test_the_new_visible_checks_pass_the_solution_and_fail_a_wrong_answer(check):
    torch = pytest.importorskip("torch")
    blank, wrong, error = WRONG_ANSWERS[check]
    blanks = ("elman_cell", "elman_forward", "bptt_grads", "numerical_grad", "find_wrong_grads", "train_elman")
    namespace, source = namespace_with(*blanks)
    saved = torch.Tensor.backward, torch.autograd.grad, torch.is_grad_enabled()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(source[check], namespace)                           # the solution passes
            exec(wrong, namespace)
            with pytest.raises(Exception) as raised:
                exec(source[check], namespace)
        assert type(raised.value).__name__ == error, raised.value
    finally:
        assert (torch.Tensor.backward, torch.autograd.grad, torch.is_grad_enabled()) == saved   # all put back


def test_the_planted_bug_is_found_by_the_students_own_tool():
    pytest.importorskip("torch")
    namespace, source = namespace_with("elman_cell", "elman_forward", "bptt_grads", "numerical_grad",
                                       "find_wrong_grads", "planted")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source["planted-demo"], namespace)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("→ ['W_y']") and lines[1].endswith("→ []"), lines[:2]
    assert "W_y" in by_id("source")["planted-explained"]["source"]


def test_the_written_question_on_dl_dh0_has_its_prompt_model_answer_and_rubric():
    source = by_id("source")
    prompt, answer = source["grad_h0-prose"]["source"], source["grad_h0"]["source"]
    assert prompt.startswith("## 書面題：$\\partial L / \\partial h_0$ 與序列長度（5 分）")
    assert grade_cell(source["grad_h0"])["points"] == 5 and grade_cell(source["grad_h0-prose"])["locked"]
    assert "**參考答案 (model answer)**" in answer and "**評分標準 (rubric)**" in answer
    rubric = answer.partition("**評分標準 (rubric)**")[2]
    assert sum(int(n) for n in re.findall(r"^- (\d+) 分", rubric, re.M)) == 5
    ids = [c["id"] for c in cells("source")]
    assert ids.index("h0-demo") < ids.index("grad_h0-prose") < ids.index("grad_h0") < ids.index("why_shared-prose")


def test_the_planted_bug_is_not_named_where_the_student_looks_for_it():
    """The locked cell does not say what it does wrong, and the explanation is for the solutions only."""
    release, solutions = by_id("release"), by_id("solutions")
    planted = release["planted"]["source"]
    for name in ("權重衰減", "weight decay", "weight_decay", "衰減", "decay"):
        assert name not in planted and name not in release["planted-prose"]["source"], name
    assert "planted-explained" not in release and "權重衰減" in solutions["planted-explained"]["source"]
    assert "weight_decay" not in "\n".join(c["source"] for c in release.values())


def test_the_counts_check_holds_its_expected_numbers_and_computes_none():
    """Expected numbers counted beforehand; no parameter tensors counted in the check (that is blanks 10, 11)."""
    check = by_id("source")["check-counts"]["source"]
    assert "EXPECTED = {1: (57, 57), 3: (57, 147), 50: (57, 2262)}" in check
    for computing in ("random_params", "count_numbers", "for _ in range(T)", '"W_h", "U_h", "b_h"'):
        assert computing not in check, computing


# what blank prose once gave as the line to type (blanks 1, 2, 7, 9)
DICTATED = ("`x_t @ W_h.T`", "`h_prev @ U_h.T`", "`h @ W_y.T + b_y`", "`u.T @ v`", "`u.sum(dim=0)`", "`v @ A`",
            "value.to(torch.float64, copy=True)", "`x.double()`", "`sorted(...)`")


def test_blank_prose_states_what_and_why_not_the_line():
    text = "\n".join(c["source"] for c in cells("release") if c["cell_type"] == "markdown")
    for line in DICTATED:
        assert line not in text, line
    fw = by_id("release")["find_wrong_grads"]
    box = cells("release")[[c["id"] for c in cells("release")].index("find_wrong_grads") - 1]["source"]
    assert "float64" in box and "形狀不對的鍵一定是錯的" in box and "為什麼要 float64" in box
    assert fw["cell_type"] == "code"


def test_terms_glossary_and_time_estimates():
    text = "\n".join(c["source"] for c in cells("release"))
    for wrong in ("空格", "介面 (contract)", "勘誤", "門控循環單元", "行向量", "開度", "記憶細胞"):
        assert wrong not in text, wrong
    for right in ("第 1 題", "約定 (contract)", "閘控循環單元 (gated recurrent unit, GRU)", "「門」與「閘」都是 gate",
                  "遞歸神經網絡", "欄向量 (column vector"):
        assert right in text, right
    intro = by_id("release")["intro"]["source"]
    assert "## 詞彙表 (glossary)" in intro and "| 中文 | English |" in intro
    glossary = intro.split("## 詞彙表 (glossary)")[1].split("\n## ")[0]
    assert len(re.findall(r"^\| [^|]+ \| [^|]+ \|$", glossary, re.M)) >= 10
    estimates = intro.split("## 時間估計 (time estimates)")[1].split("\n## ")[0]
    assert "6.5–9.5 小時" in estimates and len(re.findall(r"小時 \|$", estimates, re.M)) == 5
