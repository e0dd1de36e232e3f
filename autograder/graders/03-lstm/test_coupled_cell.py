"""coupled_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh) → (h, c): chunks [f, g, o], input gate = 1 − f."""

import functools

import pytest
import torch

from autograder.graders.lstm import (
    cell_cases, cell_inputs, cell_label, cell_result, cell_weights, coupled_formula, expect_cell,
)
from autograder.toolkit import check, error_of, tolerance_of

BLANK = "coupled_cell"
REFERENCE = ("耦合門 LSTM 的公式（c = f ⊙ c_prev + (1 − f) ⊙ g）", "the coupled LSTM (c = f ⊙ c_prev + (1 − f) ⊙ g)")
MISTAKES = ("coupled_f_g", "coupled_gfo")
SIZES = [(3, 10, 20), (1, 5, 4), (4, 6, 6)]           # (N, D, H)
SATURATE = 40.0                                       # σ(±40) is 1 or 0 to float32 round-off


def run_cell(nb, x, h, c, weights, what):
    return cell_result(nb, BLANK, (x, h, c, *weights), what, h, c)


def judge(nb, x, h, c, weights, what):
    got = run_cell(nb, x, h, c, weights, what)
    formula = functools.partial(coupled_formula, x, h, c, *weights)
    expect_cell(got, formula(), what, REFERENCE, formula, MISTAKES)
    return got


def with_forget_bias(weights, h, bias):
    w_ih, w_hh, b_ih, b_hh = (w.clone() for w in weights)
    b_ih[:h] += bias                                  # chunk 0 is the forget gate f
    return w_ih, w_hh, b_ih, b_hh


label = functools.partial(cell_label, BLANK)


@pytest.mark.points(1, blank=BLANK)
def test_returns_pair(nb):
    """回傳 (h, c)，兩者形狀皆為 (N, H)、float32（權重為 (3H, ·)）/ returns (h, c), both (N, H), float32"""
    for x, h_prev, c_prev, weights, what in cell_cases(BLANK, SIZES, 3):
        run_cell(nb, x, h_prev, c_prev, weights, what)


@pytest.mark.points(3, blank=BLANK)
def test_matches_reference(nb):
    """與耦合門 LSTM 的公式一致（多種大小）/ equals the coupled input/forget gate LSTM's formulas"""
    for x, h_prev, c_prev, weights, what in cell_cases(BLANK, SIZES, 3):
        judge(nb, x, h_prev, c_prev, weights, what)


@pytest.mark.points(2, blank=BLANK)
def test_forget_open(nb):
    """遺忘閘全開 (f ≈ 1)：c ≈ c_prev，記憶原封不動 / forget gate open (f ≈ 1): c ≈ c_prev, the memory is kept"""
    n, d, h = 4, 5, 6
    x, h_prev, c_prev = cell_inputs(n, d, h)
    weights = with_forget_bias(cell_weights(d, h, 3), h, SATURATE)
    what = f"{label(n, d, h)}, b_f = +{SATURATE:g}"
    _, got_c = run_cell(nb, x, h_prev, c_prev, weights, what)
    error, tolerance = error_of(got_c, c_prev), tolerance_of(c_prev)
    check(error <= tolerance, "lstm_coupled_open", error=error, tolerance=tolerance)
    judge(nb, x, h_prev, c_prev, weights, what)


@pytest.mark.points(2, blank=BLANK)
def test_forget_closed(nb):
    """遺忘閘全關 (f ≈ 0)：c ≈ g，全部換成新的候選記憶 / forget gate closed (f ≈ 0): c ≈ g, all new memory"""
    n, d, h = 4, 5, 6
    x, h_prev, c_prev = cell_inputs(n, d, h)
    weights = with_forget_bias(cell_weights(d, h, 3), h, -SATURATE)
    what = f"{label(n, d, h)}, b_f = -{SATURATE:g}"
    _, got_c = run_cell(nb, x, h_prev, c_prev, weights, what)
    w_ih, w_hh, b_ih, b_hh = (w.double() for w in weights)
    g = torch.tanh(x.double() @ w_ih[h:2 * h].T + b_ih[h:2 * h] + h_prev.double() @ w_hh[h:2 * h].T + b_hh[h:2 * h])
    error, tolerance = error_of(got_c, g), tolerance_of(g)
    check(error <= tolerance, "lstm_coupled_closed", error=error, tolerance=tolerance)
    judge(nb, x, h_prev, c_prev, weights, what)
