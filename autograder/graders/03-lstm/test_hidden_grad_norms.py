"""hidden_grad_norms(model, x, y) → (T,) float32: ‖∂L/∂h_k‖ for k = 1 … T, L = mean((model(x) − y)²), for
the notebook's TaskNet (one nn.RNN, nn.LSTM or nn.GRU layer, batch_first=True, and a linear head on h_T).
The reference unrolls the layer's *Cell in float64 and takes autograd.grad at every step's state."""

import functools

import pytest
import torch

from autograder.graders.lstm import (
    GRADS_LEFT, KINDS, grad_norms_reference, hints, task_state, worker_task_net,
)
from autograder.messages import msg
from autograder.toolkit import Fail, calling, check, differs, first_match, mismatch, tensor

BLANK = "hidden_grad_norms"
SIZES = [(4, 7, 5), (1, 4, 3), (3, 1, 6), (5, 12, 4)]          # (N, T, H): one sequence, one step, a longer one
MISTAKES = ("norms_output_only", "norms_reversed", "norms_sum_loss", "norms_per_sample", "norms_cell_state",
            "norms_input_grad")
# a plain RNN's W_hh at nn's own scale shrinks the gradient ~3× a step: at ±1.5/√H every step's norm still counts
SCALE = {"RNN": 1.5, "LSTM": None, "GRU": None}


def case(kind: str, n: int, T: int, hidden: int):
    """Weights, inputs in the adding problem's range (numbers in [0, 1), markers 0/1), targets."""
    state = task_state(kind, hidden, SCALE[kind])
    x = torch.rand(n, T, 2)
    x[..., 1] = (torch.rand(n, T) < 0.3).float()
    return state, x, torch.rand(n) * 2


def label(kind: str, n: int, T: int, hidden: int) -> str:
    return f"hidden_grad_norms(TaskNet(nn.{kind}, {hidden}), x {n}×{T}×2, y)"


def norms_of(nb, kind, state, x, y, what):
    model = worker_task_net(nb, kind, state)
    with calling(BLANK):
        got = nb.hidden_grad_norms(model, x, y)
    return model, tensor(got, what, (x.shape[1],))


def judge(nb, kind, n, T, hidden):
    state, x, y = case(kind, n, T, hidden)
    what = label(kind, n, T, hidden)
    _, got = norms_of(nb, kind, state, x, y, what)
    formula = functools.partial(grad_norms_reference, kind, state, x, y)
    m = mismatch(got, formula())
    if m is not None:
        mistakes = [k for k in MISTAKES if k != "norms_cell_state" or kind == "LSTM"]
        raise Fail(differs(what, m, msg("lstm_norms_reference"), first_match(got, hints(formula, mistakes))))


@pytest.mark.points(1, blank=BLANK)
def test_returns_norms(nb):
    """回傳形狀 (T,) 的 float32 張量（三種循環層，T = 1 也可以）/ returns a float32 tensor of shape (T,) (each kind, T = 1 too)"""
    for kind in KINDS:
        for n, T, hidden in ((3, 5, 4), (2, 1, 3)):
            state, x, y = case(kind, n, T, hidden)
            norms_of(nb, kind, state, x, y, label(kind, n, T, hidden))


@pytest.mark.points(6, blank=BLANK)
@pytest.mark.parametrize("kind", KINDS)
def test_matches_reference(nb, kind):
    """與逐步展開後對每一步的 h_k 取梯度的結果一致（多種 N、T、H）/ equals ∂L/∂h_k of the unrolled network, several sizes"""
    for n, T, hidden in SIZES:
        judge(nb, kind, n, T, hidden)


@pytest.mark.points(1, blank=BLANK)
def test_leaves_no_trace(nb):
    """不改變模型、不留下參數的 .grad，呼叫兩次結果相同 / leaves the model as it was, no .grad behind; the same result twice"""
    grads_left = nb.define("parameters_with_grad", GRADS_LEFT)
    for kind in KINDS:
        state, x, y = case(kind, 3, 6, 4)
        what = label(kind, 3, 6, 4)
        # a call that changes the model's weights or x, y is refused by the worker, naming what it changed
        model, first = norms_of(nb, kind, state, x, y, what)
        left = grads_left(model)
        check(not left, "lstm_grads_left", what=what, names=", ".join(left))
        with calling(BLANK):
            second = tensor(nb.hidden_grad_norms(model, x, y), what, (6,))
        m = mismatch(second, first)
        if m is not None:
            raise Fail(differs(f"{what} (called twice)", m, msg("lstm_first_call")))
