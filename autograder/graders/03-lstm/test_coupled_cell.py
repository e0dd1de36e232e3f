"""coupled_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh) → (h, c): chunks [f, g, o], input gate = 1 − f."""

import functools

import pytest
import torch

from autograder.graders.lstm import (
    cell_case, cell_result, coupled_formula, expect_cell, with_bias,
)
from autograder.toolkit import expect_near, size_ids

BLANK = "coupled_cell"
REFERENCE = ("耦合門 LSTM 的公式（c = f ⊙ c_prev + (1 − f) ⊙ g）", "the coupled LSTM (c = f ⊙ c_prev + (1 − f) ⊙ g)")
MISTAKES = ("coupled_f_g", "coupled_gfo")
SIZES = [(3, 10, 20), (1, 5, 4), (4, 6, 6)]           # (N, D, H)
SATURATE = 40.0                                       # σ(±40) is 1 or 0 to float32 round-off


def run_cell(nb, x, h, c, weights, what):
    return cell_result(nb, BLANK, (x, h, c, *weights), what, h, c)


def candidate(x, h_prev, weights):
    """g = tanh(x W_igᵀ + b_ig + h_prev W_hgᵀ + b_hg) in float64: chunk 1 of [f, g, o]."""
    w_ih, w_hh, b_ih, b_hh = (w.double() for w in weights)
    rows = slice(h_prev.shape[1], 2 * h_prev.shape[1])
    return torch.tanh(x.double() @ w_ih[rows].T + b_ih[rows] + h_prev.double() @ w_hh[rows].T + b_hh[rows])


def judge(nb, x, h, c, weights, what):
    got = run_cell(nb, x, h, c, weights, what)
    formula = functools.partial(coupled_formula, x, h, c, *weights)
    expect_cell(got, formula(), what, REFERENCE, formula, MISTAKES)
    return got


@pytest.mark.points(2, blank=BLANK)
def test_forget_open(nb):
    """遺忘門全開 (f ≈ 1)：c ≈ c_prev，記憶原封不動 / forget gate open (f ≈ 1): c ≈ c_prev, the memory is kept"""
    x, h_prev, c_prev, weights, what = cell_case(BLANK, (4, 5, 6), 3)
    weights = with_bias(weights, h_prev.shape[1], 0, SATURATE)      # chunk 0 is the forget gate f
    what = f"{what}, b_f = +{SATURATE:g}"
    expect_near(run_cell(nb, x, h_prev, c_prev, weights, what)[1], c_prev, "lstm_coupled_open")
    judge(nb, x, h_prev, c_prev, weights, what)


@pytest.mark.points(2, blank=BLANK)
def test_forget_closed(nb):
    """遺忘門全關 (f ≈ 0)：c ≈ g，全部換成新的候選記憶 / forget gate closed (f ≈ 0): c ≈ g, all new memory"""
    x, h_prev, c_prev, weights, what = cell_case(BLANK, (4, 5, 6), 3)
    weights = with_bias(weights, h_prev.shape[1], 0, -SATURATE)
    what = f"{what}, b_f = -{SATURATE:g}"
    expect_near(run_cell(nb, x, h_prev, c_prev, weights, what)[1], candidate(x, h_prev, weights),
                "lstm_coupled_closed")
    judge(nb, x, h_prev, c_prev, weights, what)


@pytest.mark.points(3, blank=BLANK)
@pytest.mark.parametrize("size", SIZES, ids=size_ids("NDH"))
def test_matches_reference(nb, size):
    """與耦合門 LSTM 的公式一致 / equals the coupled input/forget gate LSTM's formulas"""
    judge(nb, *cell_case(BLANK, size, 3))
