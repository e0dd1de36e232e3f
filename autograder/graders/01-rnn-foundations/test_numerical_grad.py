"""numerical_grad(f, theta, eps=1e-6) → the central differences (f(θ + ε e_i) − f(θ − ε e_i)) / (2ε), in float64.

The graders' f (:data:`rnn_foundations.NUMERIC_RUN`, in the worker) is f(θ) = Σ c θ³ + (Σ a θ)² + Σ b θ read from
theta's current values, and records what theta held at each of its calls; its central difference is known in
closed form, so values are compared exactly to round-off. Every call runs with autograd off.
"""

import pytest
import torch

from autograder.graders import rnn_foundations as ref
from autograder.messages import msg
from autograder.submission import StudentError
from autograder.toolkit import Fail, calling, close, differs, fail, first_match, kind_of, mismatch

BLANK = "numerical_grad"


def run(nb, problem, eps, returns="tensor"):
    """What the student's numerical_grad did on the problem: {"grad", "shares", "theta" (after), "log"}."""
    runner = nb.define("rf_numeric_run", ref.NUMERIC_RUN)
    with nb.without_autograd(), calling(BLANK, [b for b in ref.BLANKS if b != BLANK]):
        try:
            return runner(problem["theta"], problem["c"], problem["a"], problem["b"], eps, returns)
        except StudentError as exc:
            if exc.type == "AutogradOff" or "does not require grad" in exc.message:
                fail("rf_numeric_autograd", type=exc.type, message=(exc.message.splitlines() or [""])[0][:300])
            raise


def what_of(shape, eps):
    return f"numerical_grad(f, theta {'×'.join(map(str, shape))}{'' if eps is None else f', eps={eps:g}'})"


def float_tensor(value, what, shape):
    """A floating-point tensor of ``shape`` (its dtype is test_returns' to judge), with finite values."""
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        fail("wrong_type", what=what, expected="torch.Tensor (float64)", got=kind_of(value))
    if tuple(value.shape) != tuple(shape):
        fail("wrong_shape", what=what, expected=tuple(shape), got=tuple(value.shape))
    if not bool(torch.isfinite(value).all()):
        fail("not_finite", what=what)
    return value


def mistakes(problem, eps):
    return [("rf_hint_numeric_forward", lambda: ref.central_difference(problem, eps, "forward")),
            ("rf_hint_numeric_backward", lambda: ref.central_difference(problem, eps, "backward")),
            ("rf_hint_numeric_twice", lambda: 2 * ref.central_difference(problem, eps)),
            ("rf_hint_numeric_sign", lambda: -ref.central_difference(problem, eps)),
            (msg("rf_hint_numeric_eps", used=ref.DEFAULT_EPS, eps=eps),
             lambda: ref.central_difference(problem, ref.DEFAULT_EPS))]


def expect_central(got, problem, eps, what, rtol, atol):
    expected = ref.central_difference(problem, ref.DEFAULT_EPS if eps is None else eps)
    m = mismatch(got, expected, rtol, atol)
    if m is None:
        return
    # only the mistakes that these eps and θ tell apart from the right answer (at eps = 1e-4 a step of 1e-6 does not)
    hints = [(key, compute) for key, compute in ([] if eps is None else mistakes(problem, eps))
             if not close(compute(), expected, ref.METHOD_RTOL, ref.NUMERIC_ATOL)]
    hint = first_match(got, hints, rtol=ref.METHOD_RTOL, atol=ref.NUMERIC_ATOL)
    if hint is None and m.error <= 1e-6 * (1 + float(expected.abs().max())):
        hint = "rf_hint_numeric_float32"               # right to ~1e-7 only: a float32 step somewhere
    raise Fail(differs(what, m, hint=hint))


@pytest.mark.points(1, blank=BLANK)
def test_returns(nb):
    """回傳形狀同 theta 的新 float64 張量（1、2、3 維），之後 theta 的值完全恢復 / returns a new float64 tensor of theta's shape (1-d, 2-d, 3-d); theta is put back exactly"""
    g = ref.generator(81)
    for shape in [(5,), (3, 4), (2, 3, 2)]:
        problem = ref.cubic_problem(g, shape)
        out = run(nb, problem, 1e-3)
        what = what_of(shape, 1e-3)
        grad = float_tensor(out["grad"], what, shape)
        if grad.dtype != torch.float64:
            raise Fail(msg("wrong_dtype", what=what, expected="torch.float64", got=str(grad.dtype).removeprefix("torch."))
                       + msg("rf_hint_numeric_float32"))
        if out["shares"]:
            fail("rf_numeric_same", what=what)
        error = float((out["theta"] - problem["theta"]).abs().max())
        if not torch.equal(out["theta"], problem["theta"]):
            fail("rf_numeric_not_restored", what=what, error=error)


@pytest.mark.points(2, blank=BLANK)
def test_central_difference(nb):
    """中央差分 (f(θ+ε) − f(θ−ε)) / (2ε)，用傳入的 eps；f 回傳 float 或 0 維張量 / the central difference with the eps given; f returns a float or a 0-d tensor"""
    g = ref.generator(82)
    for shape, eps, returns in [((5,), 1e-2, "float"), ((3, 4), 1e-3, "tensor"), ((2, 3, 2), 1e-2, "tensor"),
                                ((6,), 0.25, "float")]:
        problem = ref.cubic_problem(g, shape)
        what = what_of(shape, eps)
        grad = float_tensor(run(nb, problem, eps, returns)["grad"], what, shape)
        expect_central(grad, problem, eps, what, ref.METHOD_RTOL, ref.NUMERIC_ATOL)


@pytest.mark.points(1, blank=BLANK)
def test_float64(nb):
    """全程 float64：與中央差分一致到 1e-9（float32 只有約 1e-7）/ float64 throughout: equal to the central difference within 1e-9 (float32 gives ~1e-7)"""
    g = ref.generator(83)
    for shape, returns in [((4, 3), "float"), ((2, 2, 3), "tensor")]:
        problem = ref.cubic_problem(g, shape)
        what = what_of(shape, 1e-4)
        grad = float_tensor(run(nb, problem, 1e-4, returns)["grad"], what, shape)
        expect_central(grad, problem, 1e-4, what, ref.NUMERIC_RTOL, ref.NUMERIC_ATOL)


@pytest.mark.points(1, blank=BLANK)
def test_calls(nb):
    """預設 eps = 1e-6；呼叫 f 2 × numel 次，每次只有一個元素差 +ε 或 −ε / default eps = 1e-6; f called 2 × numel times, each time one entry off by +ε or −ε"""
    g = ref.generator(84)
    for shape in [(7,), (2, 3)]:
        problem = ref.cubic_problem(g, shape)
        out = run(nb, problem, None)
        what = what_of(shape, None)
        n, eps = problem["theta"].numel(), ref.DEFAULT_EPS
        log = out["log"]
        if not 2 * n <= len(log) <= 2 * n + 2:
            fail("rf_numeric_calls", what=what, expected=2 * n, got=len(log))
        seen = set()
        for number, (moved, changes, count) in enumerate(log, 1):
            if count == 0:
                continue
            step = abs(changes[0])
            if count > 1 or abs(step - eps) > 1e-3 * eps:
                detail = msg("rf_numeric_step_entries", count=count) if count > 1 else \
                    msg("rf_numeric_step_size", size=changes[0])
                fail("rf_numeric_step", what=what, call=number, detail=detail, eps=eps)
            seen.add((tuple(moved[0]), changes[0] > 0))
        for index in [tuple(i) for i in torch.ones(shape).nonzero().tolist()]:
            for sign in (True, False):
                if (index, sign) not in seen:
                    fail("rf_numeric_missing", what=what, where=list(index), sign="+" if sign else "−")
        grad = float_tensor(out["grad"], what, shape)
        expect_central(grad, problem, None, what, ref.METHOD_RTOL, ref.NUMERIC_ATOL)
