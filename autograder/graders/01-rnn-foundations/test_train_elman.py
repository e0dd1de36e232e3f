"""train_elman(x, h0, params, targets, lr, steps) → (trained, losses): ``steps`` updates θ ← θ − lr ∂L/∂θ of the
five parameters (h0 is not trained), the gradients from bptt_grads; losses[k] is L before update k; params is not
changed.

The student's function runs with autograd off and with the references of elman_forward and bptt_grads in their
place (:data:`autograder.references.TRAIN_CALLS`: autograd's gradients, computed in the judge), so a wrong blank 2
or 7 costs its own points, not these. The judge runs the same SGD itself, in float64, with autograd's gradients,
and compares.
"""

import functools

import pytest
import torch

from autograder.graders import rnn_foundations as ref
from autograder.messages import msg
from autograder.submission import StudentError
from autograder.toolkit import Fail, differs, fail, kind_of, mismatch, tensor

BLANK = "train_elman"
# ((T, N, D, H, O), h0 = 0, lr, steps)
CASES = [((4, 3, 2, 5, 2), False, 0.05, 12), ((3, 2, 3, 4, 1), True, 0.1, 8)]
LOSS_RTOL = 1e-4          # float32 against the judge's float64 over a few updates
PARAM_RTOL, PARAM_ATOL = 1e-4, 1e-5


def case(index):
    (T, N, D, H, O), h0_zero, lr, steps = CASES[index]
    g = ref.generator(1200 + index)
    p = ref.random_params(g, D, H, O)
    x, targets = ref.randn(g, T, N, D), ref.randn(g, T, N, O)
    h0 = ref.randn(g, N, H) * (0.0 if h0_zero else 1.0)
    return x, h0, p, targets, lr, steps


def loss_of(x, h0, p, targets) -> float:
    h, total = h0.double(), 0.0
    for t in range(x.shape[0]):
        h = torch.tanh(x[t].double() @ p["W_h"].T + h @ p["U_h"].T + p["b_h"])
        total += 0.5 * float(((h @ p["W_y"].T + p["b_y"] - targets[t].double()) ** 2).sum())
    return total


@functools.lru_cache(maxsize=None)
def reference(index):
    """The judge's own run: SGD in float64 with autograd's gradients; (params, losses, losses after each update)."""
    x, h0, p, targets, lr, steps = case(index)
    p = {k: v.double() for k, v in p.items()}
    losses = []
    for _ in range(steps):
        losses.append(loss_of(x, h0, p, targets))
        grads = ref.grads_autograd(x, h0, p, targets)
        p = {k: p[k] - lr * grads[k] for k in ref.ELMAN_KEYS}
    after = losses[1:] + [loss_of(x, h0, p, targets)]
    if not after[-1] < losses[0]:                        # the case's own check: its loss falls
        raise RuntimeError(f"grader case {index}: the reference run's loss does not fall")
    return p, losses, after


def what_of(index):
    (T, N, D, H, O), h0_zero, lr, steps = CASES[index]
    return f"train_elman(x {T}×{N}×{D}, h0 {N}×{H}{' = 0' if h0_zero else ''}, params, targets, lr={lr}, steps={steps})"


@pytest.fixture(scope="module")
def answers(nb):
    """``answers(i)``: (trained, losses) the student's train_elman returned for case i, its contract checked
    (asked once; what it raised, raised again)."""
    def run(index):
        x, h0, p, targets, lr, steps = case(index)
        what = what_of(index)
        with nb.without_autograd(), nb.overriding(**ref.references_for(BLANK, nb)):
            try:
                result = ref.call(nb, BLANK, x, h0, p, targets, lr, steps)
            except StudentError as exc:
                if exc.type == "AutogradOff" or "does not require grad" in exc.message:
                    fail("rf_grads_autograd", type=exc.type, message=(exc.message.splitlines() or [""])[0][:300])
                raise
        ok = (type(result) is tuple and len(result) == 2 and type(result[0]) is dict
              and sorted(map(repr, result[0])) == sorted(map(repr, ref.ELMAN_KEYS))
              and type(result[1]) is list and len(result[1]) == steps
              and all(type(v) is float for v in result[1]))
        if not ok:
            fail("rf_train_type", what=what, steps=steps, got=kind_of(result)[:200])
        trained = {k: tensor(result[0][k], f"{what}[0][{k!r}]", tuple(p[k].shape)) for k in ref.ELMAN_KEYS}
        return trained, result[1]

    return ref.answered_once(run)


@pytest.mark.points(2, blank=BLANK)
def test_losses(answers):
    """losses[k] 是第 k 次更新之前的 L，與同樣起點、用 autograd 的梯度做 SGD 的結果相同，而且下降 / losses[k] is L before update k, as SGD with autograd's gradients from the same start gives, and it falls"""
    for index in range(len(CASES)):
        _, losses = answers(index)
        _, expected, after = reference(index)
        for k, (got, want) in enumerate(zip(losses, expected)):
            if abs(got - want) > LOSS_RTOL * max(abs(want), 1.0):
                message = msg("rf_train_losses", what=what_of(index), k=k, expected=want, got=got)
                if all(abs(g - a) <= LOSS_RTOL * max(abs(a), 1.0) for g, a in zip(losses, after)):
                    message += msg("rf_hint_train_after")
                elif losses[-1] > losses[0]:
                    message += msg("rf_hint_train_rises")
                raise Fail(message)


@pytest.mark.points(2, blank=BLANK)
@pytest.mark.parametrize("key", ref.ELMAN_KEYS)
def test_trained(answers, key):
    """更新 steps 次之後的這個參數，與同樣起點、用 autograd 的梯度做 SGD 的結果相同 / this parameter after steps updates equals SGD's with autograd's gradients from the same start"""
    for index in range(len(CASES)):
        trained, _ = answers(index)
        expected = reference(index)[0][key]
        m = mismatch(trained[key], expected, PARAM_RTOL, PARAM_ATOL)
        if m is not None:
            raise Fail(differs(f"{what_of(index)}[0][{key!r}]", m))


@pytest.mark.points(1, blank=BLANK)
def test_contract(answers):
    """回傳 (trained, losses)：五個鍵的 float32 參數字典與長度 steps 的 float 串列；關閉 autograd 也能算 / returns (trained, losses): a dict of the five float32 parameters and a list of steps floats, with autograd off"""
    for index in range(len(CASES)):
        answers(index)
