"""lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh) → (h, c): nn.LSTMCell, chunks [i, f, g, o]."""

import functools

import pytest
import torch

from autograder.graders.lstm import (
    LSTM_GATES, SEPARATION, cell_case, cell_result, expect_cell, hints, lstm_cell_reference, lstm_formula,
   
)
from autograder.messages import msg
from autograder.toolkit import Fail, error_of, fail, first_match, size_ids, tolerance_of

BLANK = "lstm_cell"
SIZES = [(3, 10, 20), (1, 5, 4), (4, 7, 7), (2, 3, 6)]        # (N, D, H): D ≠ H, N = 1, D = H
REFERENCE = "nn.LSTMCell"
LSTM_MISTAKES = ("if_swapped", "o_tanh", "g_sigmoid", "no_c_prev", "no_b_hh", "no_b_ih", "no_tanh_c")


def run_cell(nb, x, h, c, weights, what):
    return cell_result(nb, BLANK, (x, h, c, *weights), what, h, c)


def judge(nb, x, h, c, weights, what):
    got = run_cell(nb, x, h, c, weights, what)
    formula = functools.partial(lstm_formula, x, h, c, *weights)
    expect_cell(got, lstm_cell_reference(x, h, c, *weights), what, REFERENCE, formula, LSTM_MISTAKES)
    return got


@pytest.mark.points(4, blank=BLANK)
@pytest.mark.parametrize("size", SIZES, ids=size_ids("NDH"))
def test_matches_lstmcell(nb, size):
    """與相同權重的 nn.LSTMCell 一致 / equals nn.LSTMCell with the same weights"""
    judge(nb, *cell_case(BLANK, size, 4))


@pytest.mark.points(3, blank=BLANK)
def test_each_gate(nb):
    """每個門都有作用：只改變 i、f、g、o 其中一塊的權重，結果的變化與 nn.LSTMCell 相同 / each of the four chunks matters"""
    x, h_prev, c_prev, base, what = cell_case(BLANK, (4, 6, 5), 4)
    d, h = x.shape[1], h_prev.shape[1]
    got_base = judge(nb, x, h_prev, c_prev, base, what)
    expected_base = lstm_cell_reference(x, h_prev, c_prev, *base)
    for index, gate in enumerate(LSTM_GATES):
        rows = slice(index * h, (index + 1) * h)
        w_ih, w_hh, b_ih, b_hh = (w.clone() for w in base)
        w_ih[rows] += torch.rand(h, d) * 1.2 - 0.6
        w_hh[rows] += torch.rand(h, h) * 1.2 - 0.6
        b_ih[rows] += 1.0
        changed = (w_ih, w_hh, b_ih, b_hh)
        expected = lstm_cell_reference(x, h_prev, c_prev, *changed)
        moved = max(error_of(e, b) for e, b in zip(expected, expected_base))
        if moved < SEPARATION:                   # the grader's own inputs would prove nothing
            raise RuntimeError(f"changing chunk {index} moved the reference by only {moved:.3g}")
        got = run_cell(nb, x, h_prev, c_prev, changed, what)
        for part, g, e, gb, eb in zip("hc", got, expected, got_base, expected_base):
            error = error_of(g - gb, e - eb)
            tolerance = tolerance_of(e) + tolerance_of(eb)
            if error > tolerance:
                formula = functools.partial(lstm_formula, x, h_prev, c_prev, *changed)
                hint = first_match(got, hints(formula, LSTM_MISTAKES))
                message = msg("lstm_chunk", index=index, gate=gate, what=f"{what}: {part}", reference=REFERENCE,
                              error=error, tolerance=tolerance, order="[i, f, g, o]")
                raise Fail(message + hint if hint else message)


def expect_used(nb, x, h_prev, c_prev, weights, changed, name, formula, what):
    """Changing one input alone (``changed``: the same call with it changed) must change (h, c) as it does
    nn.LSTMCell's; a result that does not move at all means the input is not used."""
    before = run_cell(nb, x, h_prev, c_prev, weights, what)
    after = run_cell(nb, *changed, what)
    moved = max(error_of(e, b) for e, b in zip(lstm_cell_reference(*changed[:3], *changed[3]),
                                               lstm_cell_reference(x, h_prev, c_prev, *weights)))
    if moved < SEPARATION:
        raise RuntimeError(f"changing {name} moved the reference by only {moved:.3g}")
    if all(error_of(a, b) <= tolerance_of(b) * 1e-2 for a, b in zip(after, before)):
        fail("lstm_ignores", changed=name, what=f"{what}: (h, c)", reference=REFERENCE, moved=moved,
             formula=formula)


@pytest.mark.points(3, blank=BLANK)
def test_recurrent_terms(nb):
    """h_prev、c_prev 與 b_hh 都要用上：只改變其中一個，結果就跟著變 / h_prev, c_prev and b_hh all enter the step"""
    x, h_prev, c_prev, weights, what = cell_case(BLANK, (3, 4, 6), 4)
    w_ih, w_hh, b_ih, b_hh = weights
    expect_used(nb, x, h_prev, c_prev, weights, (x, h_prev, c_prev * 3, weights), "c_prev",
                "c = f ⊙ c_prev + i ⊙ g", what)
    expect_used(nb, x, h_prev, c_prev, weights, (x, -h_prev, c_prev, weights), "h_prev",
                "gates = x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh", what)
    expect_used(nb, x, h_prev, c_prev, weights, (x, h_prev, c_prev, (w_ih, w_hh, b_ih, b_hh + 1.0)), "b_hh",
                "gates = x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh", what)
    only_hidden = (torch.zeros_like(w_ih), w_hh, torch.zeros_like(b_ih), b_hh * 2)
    judge(nb, torch.zeros_like(x), h_prev, c_prev, only_hidden, f"{what}, x = 0, W_ih = 0, b_ih = 0")
    judge(nb, x, h_prev, c_prev * 3, weights, f"{what}, c_prev × 3")
    judge(nb, x, -h_prev, c_prev, weights, f"{what}, -h_prev")
