"""01-rnn-foundations as a student reads it: blanks counted right, no answer given away, terms, and a visible
BPTT check that runs the student's function with autograd off, as the hidden grader does."""

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


def test_intro_headings_and_solution_cells_agree_on_eight_blanks():
    source = cells("source")
    solutions = [c for c in source if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")]
    headings = sorted({int(n) for c in source for n in re.findall(r"^## 空格 (\d+)：", c["source"], re.M)})
    intro = by_id("source")["intro"]["source"]
    assert len(solutions) == 8 and headings == list(range(1, 9))
    assert "共有 8 個程式空格" in intro and "# 你的程式碼 (YOUR CODE HERE)" in intro
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
    assert "## 勘誤 (errata)" in notation and "## 記號對照 (notation)" in notation
    assert "$h_t = \\sigma_h(W_h x_t + U_h h_{t-1})$" in notation
    # we have the book's "the weights include the constant term" only as a paraphrase: never in quotation marks
    assert "書中的說法大意是權重包含常數項" in notation
    assert not any("「權重包含常數項」" in c["source"] for c in cells("source"))
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
    assert "每個空格之後都有可見檢查 (visible checks)（空格 7、8 共用一個）" in intro
    first = intro.index("循環神經網路")
    assert intro[first:].startswith("循環神經網路（臺灣也常稱遞迴神經網路）")


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
