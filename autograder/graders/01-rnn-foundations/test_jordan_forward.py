"""jordan_forward(x, y0, params) → (hs (T, N, H), ys (T, N, O)); the recurrence runs through y_{t-1}."""

import pytest
import torch

from autograder.graders import rnn_foundations as ref
from autograder.toolkit import fail

BLANK = "jordan_forward"
SIZES = [(5, 3, 4, 6, 2), (1, 2, 3, 4, 5), (6, 4, 2, 3, 1), (3, 2, 5, 4, 4)]   # (T, N, D, H, O)


def case(g, T, N, D, H, O):
    return ref.random_params(g, D, H, O, jordan=True), ref.randn(g, T, N, D), torch.rand(N, O, generator=g)


@pytest.mark.points(3, blank=BLANK)
def test_values(nb):
    """形狀 (T, N, H)、(T, N, O) 與數值和參考一致（多種大小）/ shapes and values equal the reference, several sizes"""
    g = ref.generator(41)
    for T, N, D, H, O in SIZES:
        p, x, y0 = case(g, T, N, D, H, O)
        ref.judge_forward(nb, "jordan", x, y0, p, f"jordan_forward(x {T}×{N}×{D}, y0 {N}×{O}, params)")


@pytest.mark.points(2, blank=BLANK)
def test_recurrence_through_output(nb):
    """循環經過上一步的輸出 y_{t-1}，並從 y0 開始 / the recurrence runs through the previous output, from y0"""
    g = ref.generator(42)
    T, N, D, H, O = 5, 3, 4, 4, 4          # H == O: feeding h_{t-1} back instead of y_{t-1} runs, and differs
    p, x, y0 = case(g, T, N, D, H, O)
    what = "jordan_forward"
    hs, ys = ref.student_jordan_forward(nb, x, y0, p, what)
    y0b = torch.rand(N, O, generator=g)
    hs2, ys2 = ref.student_jordan_forward(nb, x, y0b, p, what)
    x3 = x.clone()
    x3[0] += 1.0 + ref.randn(g, N, D)
    hs3, ys3 = ref.student_jordan_forward(nb, x3, y0, p, what)
    runs = [(x, y0, p, hs, ys), (x, y0b, p, hs2, ys2), (x3, y0, p, hs3, ys3)]
    if float((hs2[0] - hs[0]).abs().max()) <= 1e-6 and not ref.agrees_with_own_cell(nb, "jordan", runs):
        fail("rf_start_ignored", what=what, start="y0")
    if float((hs3[2] - hs[2]).abs().max()) <= 1e-6 and not ref.agrees_with_own_cell(nb, "jordan", runs):
        fail("rf_not_recurrent", what=what, t=2)
    ref.judge_forward(nb, "jordan", x, y0, p, what)
