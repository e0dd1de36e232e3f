"""sample_next(logits, temperature, generator=None) → int: the argmax at temperature 0 (no draw), else one
draw from softmax(logits / temperature), every random number taken from ``generator`` when one is given.

Graded by behaviour, not by route: the draws are judged by their distribution (a goodness-of-fit test over
many draws made in one request that loops in the worker), and the generator by what it must do (the same
seed gives the same draws, the global random generator stays untouched, generator None draws from the
global one). torch.multinomial, an inverse CDF over torch.rand(generator=...) and a Gumbel-max draw all pass.

False failures: the goodness-of-fit test compares the empirical distribution function of N = DRAWS draws with the
exact one (categories in index order) and fails when the largest gap exceeds EPSILON. By the
Dvoretzky–Kiefer–Wolfowitz inequality with Massart's constant, P(gap > ε) ≤ 2·exp(−2Nε²) for any
distribution (discrete ones included: the bound is then conservative), so a correct sampler fails one
case with probability at most 2·exp(−2Nε²), and the submission (all CASES together, the only statistical
test of this assignment) at most len(CASES) · 2·exp(−2Nε²) ≤ FALSE_FAILURE = 1e-6 — the draws taken as
independent, as a correct sampler's are under PyTorch's generator.
"""

import math

import pytest
import torch

from autograder.graders.char_rnn import SAMPLE_NEXT_COUNTS, SAMPLE_NEXT_DRAWS, SAMPLE_NEXT_GLOBAL_DRAWS
from autograder.messages import msg
from autograder.submission import keep
from autograder.toolkit import Fail, calling, check, fail, kind_of

BLANK = "sample_next"
HINTS = {"probability tensor contains": "sample_next_hint_nan",       # nan from exp overflowing, or 0 / 0
         "invalid multinomial distribution": "sample_next_hint_nan"}

SIX = torch.tensor([2.0, -1.0, 0.5, 1.5, -0.5, 0.0])
TWENTY_EIGHT = torch.randn(28, generator=torch.Generator().manual_seed(20261208)) * 2
# (logits, temperature): the model's own distribution, a sharper and a flatter one, and nearly uniform
CASES = ((TWENTY_EIGHT, 1.0), (SIX, 0.5), (SIX, 2.0), (TWENTY_EIGHT, 100.0))
DRAWS = 3000         # EPSILON = 0.0515; the known mistakes are 0.15 to 0.69 off in some case
FALSE_FAILURE = 1e-6
# the smallest ε with len(CASES) · 2·exp(−2·DRAWS·ε²) ≤ FALSE_FAILURE
EPSILON = math.sqrt(math.log(2 * len(CASES) / FALSE_FAILURE) / (2 * DRAWS))


def generator(nb, seed: int):
    """A CPU torch.Generator in the worker, seeded."""
    made = keep(nb.torch.Generator)
    made.manual_seed(seed)
    return made


def index_of(value, what: str) -> int:
    check(type(value) is int, "wrong_type", what=what, expected="int", got=kind_of(value))
    return value


def logits_cases():
    """Scores without ties: the poem's dictionary size, a small one, and large magnitudes."""
    return [torch.randn(28) * 2, torch.randn(6), torch.randn(28) * 40]


@pytest.mark.points(1, blank=BLANK)
def test_greedy_at_zero(nb):
    """溫度 0 是貪婪解碼：回傳分數最高的編號 / temperature 0 is greedy decoding: the index of the highest score"""
    for logits in logits_cases():
        expected = int(torch.argmax(logits))
        for temperature in (0, 0.0):
            with calling(BLANK, hints=HINTS):
                got = index_of(nb.sample_next(logits, temperature, generator(nb, 7)),
                               f"sample_next(logits, {temperature!r}, generator)")
            check(got == expected, "sample_next_greedy", temperature=temperature, expected=expected, got=got)


@pytest.mark.points(1, blank=BLANK)
def test_no_draw_at_zero(nb):
    """溫度 0 不抽樣：generator 與全域亂數產生器的狀態都不變 / no draw at temperature 0: the generator and the global RNG left as they were"""
    for logits in logits_cases():
        g = generator(nb, 7)
        before, state = g.get_state(), nb.torch.get_rng_state()
        with calling(BLANK, hints=HINTS):
            index_of(nb.sample_next(logits, 0.0, g), "sample_next(logits, 0.0, generator)")
        check(torch.equal(g.get_state(), before), "sample_next_generator_used")
        check(torch.equal(nb.torch.get_rng_state(), state), "sample_next_global_used_at_zero")
        state = nb.torch.get_rng_state()
        with calling(BLANK, hints=HINTS):
            index_of(nb.sample_next(logits, 0.0, None), "sample_next(logits, 0.0, None)")
        check(torch.equal(nb.torch.get_rng_state(), state), "sample_next_global_used_at_zero")


@pytest.mark.points(1, blank=BLANK)
def test_tiny_temperature(nb):
    """溫度 1e-8、1e-6：沒有 nan，抽到的就是分數最高的編號 / temperature 1e-8 and 1e-6: no nan, the draw is the highest score"""
    for logits in logits_cases():
        expected = int(torch.argmax(logits))
        for temperature in (1e-8, 1e-6):
            with calling(BLANK, hints=HINTS):
                got = index_of(nb.sample_next(logits, temperature, generator(nb, 8)),
                               f"sample_next(logits, {temperature!r}, generator)")
            check(got == expected, "sample_next_greedy", temperature=temperature, expected=expected, got=got)


def largest_gap(counts: list[int], expected: torch.Tensor) -> tuple[float, int]:
    """The largest gap between the empirical and the exact distribution function, and where it is."""
    empirical = torch.tensor(counts, dtype=torch.float64).cumsum(0) / sum(counts)
    gaps = (empirical - expected.cumsum(0)).abs()
    return float(gaps.max()), int(gaps.argmax())


def known_mistakes(logits: torch.Tensor, temperature: float) -> list:
    """(hint, the distribution a known mistake draws from)."""
    greedy = torch.zeros(len(logits), dtype=torch.float64)
    greedy[int(torch.argmax(logits))] = 1
    return [("sample_next_hint_greedy", greedy),
            ("sample_next_hint_times", torch.softmax(logits.double() * temperature, dim=-1))]


@pytest.mark.points(3, blank=BLANK)
def test_distribution(nb):
    """溫度 0.5、1、2、100：多次抽樣的分布是 softmax(logits / temperature)（適合度檢定）/ T = 0.5, 1, 2, 100: the draws follow softmax(logits / T) (a goodness-of-fit test)"""
    counts = nb.define("sample_next_counts", SAMPLE_NEXT_COUNTS)
    with calling(BLANK, hints=HINTS):
        got = counts([logits for logits, _ in CASES], [t for _, t in CASES], DRAWS, 31)
    if isinstance(got, dict):           # a value that is no index, as the worker saw it
        fail("wrong_type", what="sample_next(logits, temperature, generator)", expected="int", got=got.get("got"))
    check(isinstance(got, list) and len(got) == len(CASES), "expected_got", what="sample_next_counts",
          expected=f"{len(CASES)} × counts", got=kind_of(got))
    for (logits, temperature), case in zip(CASES, got):
        expected = torch.softmax(logits.double() / temperature, dim=-1)
        gap, where = largest_gap(case, expected)
        if gap > EPSILON:
            frequencies = [round(c / DRAWS, 3) for c in case]
            message = msg("sample_next_distribution", temperature=temperature, size=len(logits), draws=DRAWS,
                          gap=gap, index=where, tolerance=EPSILON,
                          expected=[round(p, 3) for p in expected.tolist()], got=frequencies)
            hint = next((key for key, wrong in known_mistakes(logits, temperature)
                         if largest_gap(case, wrong)[0] <= EPSILON), None)
            raise Fail(message + msg(hint) if hint else message)


@pytest.mark.points(1, blank=BLANK)
@pytest.mark.parametrize("seed", [11, 12], ids=lambda seed: f"seed={seed}")
def test_generator_only_source(nb, seed):
    """給了 generator：同一個種子抽到相同的結果，全域亂數產生器不變 / given a generator: the same seed gives the same draws, the global RNG untouched"""
    logits = torch.randn(28 if seed == 11 else 6) * 2
    temperatures, rounds = [0.5, 1.0, 2.0], 20
    draws = nb.define("sample_next_draws", SAMPLE_NEXT_DRAWS)
    state = nb.torch.get_rng_state()
    with calling(BLANK, hints=HINTS):
        first = draws(logits, temperatures, rounds, seed)
    check(torch.equal(nb.torch.get_rng_state(), state), "global_rng_used", what="sample_next(logits, T, generator)")
    for value in first:
        index_of(value, "sample_next(logits, temperature, generator)")
    with calling(BLANK, hints=HINTS):
        second = draws(logits, temperatures, rounds, seed)
    check(first == second, "sample_next_same_seed", seed=seed, first=first[:12], second=second[:12])
    # and the generator's state is what decides: another seed gives other draws (a sampler that ignores
    # its generator and seeds its own would draw the same)
    with calling(BLANK, hints=HINTS):
        other = draws(logits, temperatures, rounds, seed + 100)
    check(other != first, "sample_next_generator_ignored", seed=seed, other=seed + 100)


@pytest.mark.points(1, blank=BLANK)
def test_global_when_no_generator(nb):
    """generator 為 None：從全域亂數產生器抽（torch.manual_seed 固定它，結果就固定）/ generator None: draws from the global RNG (torch.manual_seed fixes them)"""
    logits = torch.randn(28) * 2
    draws = nb.define("sample_next_global_draws", SAMPLE_NEXT_GLOBAL_DRAWS)
    with calling(BLANK, hints=HINTS):
        first, moved = draws(logits, [1.0, 2.0], 15, 5)
        second, _ = draws(logits, [1.0, 2.0], 15, 5)
    for value in first:
        index_of(value, "sample_next(logits, temperature, None)")
    check(moved and first == second, "sample_next_global_draw", first=first[:12], second=second[:12])


@pytest.mark.points(1, blank=BLANK)
def test_contract(nb):
    """回傳 Python int、不修改 logits / a Python int, logits left alone"""
    logits = torch.randn(28) * 2
    with calling(BLANK, hints=HINTS):
        # a call that changed logits in place (logits /= temperature) is refused by the worker, naming it
        for temperature in (0.0, 1.0, 2.0):
            index_of(nb.sample_next(logits, temperature, generator(nb, 3)),
                     f"sample_next(logits, {temperature}, generator)")
