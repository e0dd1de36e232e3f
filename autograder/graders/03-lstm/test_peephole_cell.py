"""peephole_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, p_i, p_f, p_o) → (h, c): Gers & Schmidhuber."""

import functools

import pytest
import torch

from autograder.graders.lstm import (
    cell_case, cell_cases, cell_result, expect_cell, lstm_cell_reference, lstm_formula, uniform,
)
from autograder.toolkit import size_ids

BLANK = "peephole_cell"
REFERENCE = ("窺視孔 LSTM 的公式（i、f 看 c_prev，o 看新的 c）", "the peephole LSTM (i, f peek at c_prev; o peeks at the new c)")
MISTAKES = ("o_peeks_c_prev", "p_if_swapped", "no_peepholes", "if_swapped", "o_tanh", "g_sigmoid", "no_c_prev",
            "no_b_hh", "no_b_ih", "no_tanh_c")
SIZES = [(3, 10, 20), (1, 5, 4), (4, 6, 6)]           # (N, D, H)
PEEPHOLES = ("p_i", "p_f", "p_o")


def run_cell(nb, x, h, c, weights, peepholes, what):
    return cell_result(nb, BLANK, (x, h, c, *weights, *peepholes), what, h, c)


def judge(nb, x, h, c, weights, peepholes, what, expected=None, reference=REFERENCE):
    got = run_cell(nb, x, h, c, weights, peepholes, what)
    formula = functools.partial(lstm_formula, x, h, c, *weights, *peepholes)
    expect_cell(got, formula() if expected is None else expected, what, reference, formula, MISTAKES)


def peepholes(h, scale=1.2):
    return tuple(uniform(h, scale=scale) for _ in PEEPHOLES)


@pytest.mark.points(2, blank=BLANK)
def test_zero_peepholes(nb):
    """p_i = p_f = p_o = 0 時就是 lstm_cell（nn.LSTMCell）/ with zero peepholes it is lstm_cell (nn.LSTMCell)"""
    for x, h_prev, c_prev, weights, what in cell_cases(BLANK, SIZES, 4):
        zero = tuple(torch.zeros(h_prev.shape[1]) for _ in PEEPHOLES)
        judge(nb, x, h_prev, c_prev, weights, zero, f"{what}, p_i = p_f = p_o = 0",
              expected=lstm_cell_reference(x, h_prev, c_prev, *weights), reference="nn.LSTMCell")


@pytest.mark.points(3, blank=BLANK)
@pytest.mark.parametrize("size", SIZES, ids=size_ids("NDH"))
def test_matches_reference(nb, size):
    """與窺視孔 LSTM 的公式一致（隨機的 p_i、p_f、p_o）/ equals the peephole LSTM's formulas (random peepholes)"""
    x, h_prev, c_prev, weights, what = cell_case(BLANK, size, 4)
    judge(nb, x, h_prev, c_prev, weights, peepholes(h_prev.shape[1]), what)


@pytest.mark.points(3, blank=BLANK)
@pytest.mark.parametrize("only", PEEPHOLES)
def test_each_peephole(nb, only):
    """每個窺視孔各自正確（輸出門看新的 c）：只有這一個不為 0 / each peephole on its own (o sees the new c)"""
    x, h_prev, c_prev, weights, what = cell_case(BLANK, (4, 5, 6), 4)
    h = h_prev.shape[1]
    values = tuple(uniform(h, scale=1.5) if name == only else torch.zeros(h) for name in PEEPHOLES)
    judge(nb, x, h_prev, c_prev * 2, weights, values, f"{what}, only {only} ≠ 0")
