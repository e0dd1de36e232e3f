"""adding_problem(n, T, generator) → (x (n, T, 2) float32, y (n,) float32): x[:, :, 0] uniform in [0, 1),
x[:, :, 1] one marker in positions 0 … T//2 − 1 and one in T//2 … T − 1, y the sum of the two marked
numbers; every random number from the generator. Judged on these properties: the draws are the student's."""

import pytest
import torch

from autograder.graders.lstm import MISTAKES, adding_target
from autograder.messages import msg, text
from autograder.submission import keep
from autograder.toolkit import Fail, calling, check, differs, fail, mismatch, tensor, unpack

BLANK = "adding_problem"
SIZES = [(6, 10), (1, 2), (5, 7), (3, 31), (4, 3)]          # (n, T): T = 2 the shortest, odd T
HINTS = ("adding_product", "adding_all", "adding_first")


def generator(nb, seed: int):
    """A CPU torch.Generator in the worker, seeded."""
    made = keep(nb.torch.Generator)
    made.manual_seed(seed)
    return made


def label(n: int, T: int, seed: int) -> str:
    return f"adding_problem({n}, {T}, generator seeded {seed})"


def batch(nb, n: int, T: int, seed: int):
    """The student's (x, y) for a generator seeded ``seed``, shapes and dtypes checked."""
    what = label(n, T, seed)
    with calling(BLANK):
        result = nb.adding_problem(n, T, generator(nb, seed))
    x, y = unpack(result, what, ("x", "y"))
    return tensor(x, f"{what}: x", (n, T, 2)), tensor(y, f"{what}: y", (n,))


def expect_markers(x: torch.Tensor, what: str) -> None:
    n, T, _ = x.shape
    half = T // 2
    markers = x[..., 1]
    for row in range(n):
        m = markers[row]
        binary = bool(((m == 0) | (m == 1)).all())
        if not (binary and int(m[:half].sum()) == 1 and int(m[half:].sum()) == 1):
            fail("lstm_adding_markers", what=what, row=row, last_first=half - 1, half=half, last=T - 1,
                 got=[round(v, 4) for v in m.tolist()][:40])


def expect_values(x: torch.Tensor, what: str) -> None:
    values = x[..., 0]
    low, high = float(values.min()), float(values.max())
    check(0.0 <= low and high < 1.0, "lstm_adding_values", what=what, low=low, high=high)


@pytest.mark.points(1, blank=BLANK)
def test_shapes(nb):
    """回傳 (x, y)：x 為 (n, T, 2)、y 為 (n,)，都是 float32（多種 n 與 T）/ returns x (n, T, 2) and y (n,), float32, for several n and T"""
    for n, T in SIZES:
        batch(nb, n, T, 3)


@pytest.mark.points(1, blank=BLANK)
def test_markers_and_values(nb):
    """每個序列恰好兩個標記：前半段一個、後半段一個；數值在 [0, 1) / exactly two markers, one in each half; numbers in [0, 1)"""
    for n, T in SIZES:
        x, _ = batch(nb, n, T, 4)
        expect_markers(x, label(n, T, 4))
        expect_values(x, label(n, T, 4))


@pytest.mark.points(1, blank=BLANK)
def test_target(nb):
    """y 是兩個被標記的數的和 / y is the sum of the two marked numbers"""
    for n, T in SIZES:
        what = label(n, T, 5)
        x, y = batch(nb, n, T, 5)
        m = mismatch(y, adding_target(x))
        if m is not None:
            hint = next((msg("lstm_hint", mistake=text(*MISTAKES[k])) for k in HINTS
                         if mismatch(y, adding_target(x, k)) is None), None)
            raise Fail(differs(f"{what}: y", m, msg("lstm_adding_rule"), hint))


@pytest.mark.points(1, blank=BLANK)
def test_generator_only(nb):
    """所有亂數都從傳入的 generator 取：同一個種子得到同一個批次，不同種子不同，全域亂數不受影響 / every random number from the generator: same seed, same batch; another seed, another; the global RNG untouched"""
    n, T = 8, 12
    state = nb.torch.get_rng_state()
    g = generator(nb, 21)
    before = g.get_state()
    with calling(BLANK):
        nb.adding_problem(n, T, g)
    check(torch.equal(nb.torch.get_rng_state(), state), "lstm_global_rng", what=label(n, T, 21))
    check(not torch.equal(g.get_state(), before), "lstm_generator_unused", what=label(n, T, 21))
    x1, y1 = batch(nb, n, T, 21)
    x2, y2 = batch(nb, n, T, 21)
    check(torch.equal(x1, x2) and torch.equal(y1, y2), "lstm_same_seed", seed=21, what="(x, y)")
    x3, _ = batch(nb, n, T, 22)
    check(not torch.equal(x1, x3), "lstm_seed_ignored", first=21, second=22, what="x")
    check(torch.equal(nb.torch.get_rng_state(), state), "lstm_global_rng", what=label(n, T, 22))


@pytest.mark.points(1, blank=BLANK)
def test_spread(nb):
    """標記的位置在各自那一半裡均勻隨機，數值是 [0, 1) 上的均勻亂數 / each marker uniform over its half, the numbers uniform on [0, 1)"""
    n, T = 600, 9
    what = label(n, T, 6)
    x, _ = batch(nb, n, T, 6)
    expect_markers(x, what)
    half = T // 2
    first = x[:, :half, 1].argmax(dim=1)
    second = x[:, half:, 1].argmax(dim=1) + half
    for which, found, span in (("lstm_adding_first", first, range(half)), ("lstm_adding_second", second, range(half, T))):
        missing = [p for p in span if not bool((found == p).any())]
        if missing:
            fail("lstm_adding_positions", what=what, n=n, which=msg(which), missing=missing)
    # n · T = 5400 uniform numbers: the mean within 0.5 ± 0.02 (5 standard errors), both ends reached
    values = x[..., 0]
    mean, low, high = float(values.mean()), float(values.min()), float(values.max())
    check(abs(mean - 0.5) < 0.02 and low < 0.01 and high > 0.99 and 0.0 <= low and high < 1.0,
          "lstm_adding_uniform", what=what, n=values.numel(), mean=mean, low=low, high=high)
