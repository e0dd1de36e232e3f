"""Every cell blank keeps its interface: its new state ((h, c), or h' for the GRU), each (N, H), float32,
and finite for every legal input, saturated gates included."""

import pytest

from autograder.graders.lstm import cell_cases, cell_result, uniform

SIZES = [(3, 10, 20), (1, 5, 4), (4, 7, 7), (2, 3, 6)]        # (N, D, H): D ≠ H, N = 1, D = H
# weights and a memory this large put pre-activations and c in the hundreds: σ and tanh saturate (legal,
# and exactly ±1, 0 or 1 in float32), where e^a overflows to inf and inf/inf is NaN
LARGE = 200.0


def cell(blank: str, points: float, chunks: int, peepholes: int = 0, memory: bool = True):
    """One blank's case: ``chunks`` gates stacked in its weights, ``peepholes`` vectors after them, and
    whether it carries a cell state c."""
    return pytest.param(blank, chunks, peepholes, memory, marks=pytest.mark.points(points, blank=blank), id=blank)


@pytest.mark.parametrize("blank, chunks, peepholes, memory", [
    cell("lstm_cell", 2, 4),
    cell("peephole_cell", 1, 4, peepholes=3),
    cell("coupled_cell", 1, 3),
    cell("gru_cell", 1, 3, memory=False),
])
def test_returns_state(nb, blank, chunks, peepholes, memory):
    """回傳新的狀態：LSTM 為 (h, c)，GRU 為 h'，形狀 (N, H)、float32，門飽和時也是有限值 / returns the new state ((h, c), or h' for the GRU), each (N, H), float32, finite when the gates saturate"""
    cases = cell_cases(blank, SIZES, chunks)
    x, h_prev, c_prev, weights, what = cases[0]
    cases.append((x, h_prev, c_prev * LARGE, tuple(w * LARGE for w in weights), f"{what}, weights × {LARGE:g}"))
    for x, h_prev, c_prev, weights, what in cases:
        extra = tuple(uniform(h_prev.shape[1], scale=1.2) for _ in range(peepholes))
        if memory:
            cell_result(nb, blank, (x, h_prev, c_prev, *weights, *extra), what, h_prev, c_prev)
        else:
            cell_result(nb, blank, (x, h_prev, *weights), what, h_prev)
