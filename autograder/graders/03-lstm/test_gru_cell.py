"""gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh) → h: nn.GRUCell, chunks [r, z, n], reset after the matmul."""

import functools

import pytest
import torch

from autograder.graders.lstm import (
    cell_case, cell_result, expect_cell, gru_candidate, gru_cell_reference, gru_formula,
    with_bias,
)
from autograder.toolkit import expect_near, size_ids

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


@pytest.mark.points(4, blank=BLANK)
@pytest.mark.parametrize("size", SIZES, ids=size_ids("NDH"))
def test_matches_grucell(nb, size):
    """與相同權重的 nn.GRUCell 一致 / equals nn.GRUCell with the same weights"""
    x, h_prev, _, weights, what = cell_case(BLANK, size, 3)
    judge(nb, x, h_prev, weights, what)


@pytest.mark.points(2, blank=BLANK)
def test_reset_after_matmul(nb):
    """重設門乘在 (W_hn h + b_hn) 上，在矩陣乘法之後 / the reset gate multiplies (W_hn h + b_hn), after the matmul"""
    x, h_prev, _, (w_ih, w_hh, b_ih, b_hh), what = cell_case(BLANK, (4, 5, 6), 3)
    h = h_prev.shape[1]
    b_hh[2 * h:] = torch.rand(h) * 2 + 1.0            # a large b_hn ...
    weights = with_bias((w_ih, w_hh * 1.5, b_ih, b_hh), h, 0, -1.0)   # ... and r well below 1
    judge(nb, x, h_prev, weights, f"{what}, large b_hn, r < 1")


@pytest.mark.points(2, blank=BLANK)
def test_update_gate(nb):
    """更新門：z ≈ 1 時 h' ≈ h_prev，z ≈ 0 時 h' ≈ n / update gate: z ≈ 1 keeps h_prev, z ≈ 0 takes n"""
    x, h_prev, _, weights, what = cell_case(BLANK, (4, 5, 6), 3)
    keep = with_bias(weights, h_prev.shape[1], 1, SATURATE)
    expect_near(run_cell(nb, x, h_prev, keep, f"{what}, b_z = +{SATURATE:g}"), h_prev, "lstm_gru_keep")
    new = with_bias(weights, h_prev.shape[1], 1, -SATURATE)
    expect_near(run_cell(nb, x, h_prev, new, f"{what}, b_z = -{SATURATE:g}"), gru_candidate(x, h_prev, *new),
                "lstm_gru_new")
