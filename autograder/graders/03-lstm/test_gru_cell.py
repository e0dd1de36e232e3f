"""gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh) → h: nn.GRUCell, chunks [r, z, n], reset after the matmul."""

import functools

import pytest
import torch

from autograder.graders.lstm import (
    cell_cases, cell_inputs, cell_label, cell_result, cell_weights, expect_cell, gru_candidate, gru_cell_reference, gru_formula,
)
from autograder.toolkit import check, error_of, tolerance_of

BLANK = "gru_cell"
REFERENCE = "nn.GRUCell"
MISTAKES = ("gru_reset_before", "gru_z_swapped", "gru_b_hn_outside")
SIZES = [(3, 10, 20), (1, 5, 4), (4, 7, 7), (2, 3, 6)]        # (N, D, H): D ≠ H, N = 1, D = H
SATURATE = 40.0


def run_cell(nb, x, h, weights, what):
    return cell_result(nb, BLANK, (x, h, *weights), what, h)[0]


def judge(nb, x, h, weights, what):
    got = run_cell(nb, x, h, weights, what)
    formula = functools.partial(gru_formula, x, h, *weights)
    expect_cell([got], [gru_cell_reference(x, h, *weights)], what, REFERENCE, lambda mistake: [formula(mistake=mistake)],
                MISTAKES)
    return got


def with_bias(weights, h, chunk, bias):
    w_ih, w_hh, b_ih, b_hh = (w.clone() for w in weights)
    b_ih[chunk * h:(chunk + 1) * h] += bias
    return w_ih, w_hh, b_ih, b_hh


label = functools.partial(cell_label, BLANK)


@pytest.mark.points(1, blank=BLANK)
def test_returns_tensor(nb):
    """回傳 h'，形狀 (N, H)、float32 / returns h' of shape (N, H), float32"""
    for x, h_prev, _, weights, what in cell_cases(BLANK, SIZES, 3):
        run_cell(nb, x, h_prev, weights, what)


@pytest.mark.points(4, blank=BLANK)
def test_matches_grucell(nb):
    """與相同權重的 nn.GRUCell 一致（多種大小）/ equals nn.GRUCell with the same weights (several sizes)"""
    for x, h_prev, _, weights, what in cell_cases(BLANK, SIZES, 3):
        judge(nb, x, h_prev, weights, what)


@pytest.mark.points(2, blank=BLANK)
def test_reset_after_matmul(nb):
    """重設閘乘在 (W_hn h + b_hn) 上，在矩陣乘法之後 / the reset gate multiplies (W_hn h + b_hn), after the matmul"""
    n, d, h = 4, 5, 6
    x, h_prev, _ = cell_inputs(n, d, h)
    w_ih, w_hh, b_ih, b_hh = cell_weights(d, h, 3)
    b_hh[2 * h:] = torch.rand(h) * 2 + 1.0            # a large b_hn ...
    weights = with_bias((w_ih, w_hh * 1.5, b_ih, b_hh), h, 0, -1.0)   # ... and r well below 1
    judge(nb, x, h_prev, weights, f"{label(n, d, h)}, large b_hn, r < 1")


@pytest.mark.points(2, blank=BLANK)
def test_update_gate(nb):
    """更新閘：z ≈ 1 時 h' ≈ h_prev，z ≈ 0 時 h' ≈ n / update gate: z ≈ 1 keeps h_prev, z ≈ 0 takes n"""
    n, d, h = 4, 5, 6
    x, h_prev, _ = cell_inputs(n, d, h)
    weights = cell_weights(d, h, 3)
    keep = with_bias(weights, h, 1, SATURATE)
    got = run_cell(nb, x, h_prev, keep, f"{label(n, d, h)}, b_z = +{SATURATE:g}")
    error, tolerance = error_of(got, h_prev), tolerance_of(h_prev)
    check(error <= tolerance, "lstm_gru_keep", error=error, tolerance=tolerance)
    new = with_bias(weights, h, 1, -SATURATE)
    got = run_cell(nb, x, h_prev, new, f"{label(n, d, h)}, b_z = -{SATURATE:g}")
    expected = gru_candidate(x, h_prev, *new)
    error, tolerance = error_of(got, expected), tolerance_of(expected)
    check(error <= tolerance, "lstm_gru_new", error=error, tolerance=tolerance)
