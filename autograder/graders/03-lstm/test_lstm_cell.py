"""lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh) → (h, c): nn.LSTMCell, chunks [i, f, g, o]."""

import functools

import pytest
import torch

from autograder.graders.lstm import (
    LSTM_GATES, SEPARATION, cell_cases, cell_inputs, cell_label, cell_result, cell_weights, expect_cell, hint,
    lstm_cell_reference, lstm_formula,
)
from autograder.toolkit import error_of, fail, tolerance_of

BLANK = "lstm_cell"
SIZES = [(3, 10, 20), (1, 5, 4), (4, 7, 7), (2, 3, 6)]        # (N, D, H): D ≠ H, N = 1, D = H
REFERENCE = "nn.LSTMCell"
LSTM_MISTAKES = ("if_swapped", "o_tanh", "g_sigmoid", "no_c_prev", "no_b_hh", "no_b_ih", "no_tanh_c")


def run_cell(nb, x, h, c, weights, what):
    return cell_result(nb, BLANK, (x, h, c, *weights), what, h, c)


def mistakes(x, h, c, weights):
    return {m: (lambda m=m: lstm_formula(x, h, c, *weights, mistake=m)) for m in LSTM_MISTAKES}


def judge(nb, x, h, c, weights, what):
    got = run_cell(nb, x, h, c, weights, what)
    formula = functools.partial(lstm_formula, x, h, c, *weights)
    expect_cell(got, lstm_cell_reference(x, h, c, *weights), what, REFERENCE, formula, LSTM_MISTAKES)
    return got


label = functools.partial(cell_label, BLANK)


@pytest.mark.points(2, blank=BLANK)
def test_returns_pair(nb):
    """回傳 (h, c)，兩者形狀皆為 (N, H)、float32 / returns (h, c), both (N, H) and float32"""
    for x, h_prev, c_prev, weights, what in cell_cases(BLANK, SIZES, 4):
        run_cell(nb, x, h_prev, c_prev, weights, what)


@pytest.mark.points(4, blank=BLANK)
def test_matches_lstmcell(nb):
    """與相同權重的 nn.LSTMCell 一致（多種大小，D ≠ H、N = 1）/ equals nn.LSTMCell with the same weights"""
    for x, h_prev, c_prev, weights, what in cell_cases(BLANK, SIZES, 4):
        judge(nb, x, h_prev, c_prev, weights, what)


@pytest.mark.points(3, blank=BLANK)
def test_each_gate(nb):
    """每個閘都有作用：只改變 i、f、g、o 其中一塊的權重，結果的變化與 nn.LSTMCell 相同 / each of the four chunks matters"""
    n, d, h = 4, 6, 5
    x, h_prev, c_prev = cell_inputs(n, d, h)
    base = cell_weights(d, h, 4)
    what = label(n, d, h)
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
                fail("lstm_chunk", index=index, gate=gate, what=f"{what}: {part}", reference=REFERENCE,
                     error=error, tolerance=tolerance, order="[i, f, g, o]",
                     hint=hint(got, mistakes(x, h_prev, c_prev, changed)))


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
    n, d, h = 3, 4, 6
    x, h_prev, c_prev = cell_inputs(n, d, h)
    w_ih, w_hh, b_ih, b_hh = cell_weights(d, h, 4)
    weights = (w_ih, w_hh, b_ih, b_hh)
    what = label(n, d, h)
    expect_used(nb, x, h_prev, c_prev, weights, (x, h_prev, c_prev * 3, weights), "c_prev",
                "c = f ⊙ c_prev + i ⊙ g", what)
    expect_used(nb, x, h_prev, c_prev, weights, (x, -h_prev, c_prev, weights), "h_prev",
                "gates = x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh", what)
    expect_used(nb, x, h_prev, c_prev, weights, (x, h_prev, c_prev, (w_ih, w_hh, b_ih, b_hh + 1.0)), "b_hh",
                "gates = x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh", what)
    only_hidden = (torch.zeros_like(w_ih), w_hh, torch.zeros_like(b_ih), b_hh * 2)
    judge(nb, torch.zeros_like(x), h_prev, c_prev, only_hidden,
          f"{label(n, d, h)}, x = 0, W_ih = 0, b_ih = 0")
    judge(nb, x, h_prev, c_prev * 3, (w_ih, w_hh, b_ih, b_hh), f"{label(n, d, h)}, c_prev × 3")
    judge(nb, x, -h_prev, c_prev, (w_ih, w_hh, b_ih, b_hh), f"{label(n, d, h)}, -h_prev")
