"""sample_next(logits, temperature, generator=None) → int: argmax at temperature 0, else exactly one
torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=generator) draw."""

import pytest
import torch

from autograder.graders.char_rnn import SAMPLE_NEXT_DRAWS, draws_reference, sample_next_reference
from autograder.messages import msg
from autograder.submission import keep
from autograder.toolkit import Fail, calling, check, fail, kind_of

BLANK = "sample_next"
TEMPERATURES = (0.5, 1.0, 2.0, 100.0)
HINTS = {"probability tensor contains": "sample_next_hint_nan",       # nan from exp overflowing, or 0 / 0
         "invalid multinomial distribution": "sample_next_hint_nan"}


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
def test_greedy_at_zero_and_near_zero(nb):
    """溫度 0 與 1e-8 都是貪婪解碼（沒有 nan、溫度 0 不抽樣）/ temperature 0 and 1e-8 are greedy (no nan; no draw at 0)"""
    for logits in logits_cases():
        expected = int(torch.argmax(logits))
        for temperature in (0, 0.0):
            g = generator(nb, 7)
            before = g.get_state()
            with calling(BLANK, hints=HINTS):
                got = index_of(nb.sample_next(logits, temperature, g), f"sample_next(logits, {temperature!r}, generator)")
            check(got == expected, "sample_next_greedy", temperature=temperature, expected=expected, got=got)
            check(torch.equal(g.get_state(), before), "sample_next_generator_used")
        for temperature in (1e-8, 1e-6):
            with calling(BLANK, hints=HINTS):
                got = index_of(nb.sample_next(logits, temperature, generator(nb, 8)),
                               f"sample_next(logits, {temperature!r}, generator)")
            check(got == expected, "sample_next_greedy", temperature=temperature, expected=expected, got=got)


def wrong_draws():
    """(hint, draw) of the known mistakes, for hints."""
    def greedy(logits, temperature, generator):
        return int(torch.argmax(logits))

    def times(logits, temperature, generator):
        return int(torch.multinomial(torch.softmax(logits * temperature, dim=-1), 1, generator=generator))

    return [("sample_next_hint_greedy", greedy), ("sample_next_hint_times", times)]


@pytest.mark.points(2, blank=BLANK)
@pytest.mark.parametrize("seed", [11, 12], ids=lambda seed: f"seed={seed}")
def test_draws_equal_the_reference(nb, seed):
    """同一個種子的 generator，抽到的與參考相同（溫度 0.5、1、2、100）/ with the same seeded generator, the reference's draws (T = 0.5, 1, 2, 100)"""
    logits = torch.randn(28 if seed == 11 else 6) * 2
    rounds = 25
    draws = nb.define("sample_next_draws", SAMPLE_NEXT_DRAWS)
    state = nb.torch.get_rng_state()
    with calling(BLANK, hints=HINTS):
        got = draws(logits, list(TEMPERATURES), rounds, seed)
    check(torch.equal(nb.torch.get_rng_state(), state), "global_rng_used", what="sample_next(logits, T, generator)")
    for value in got:
        index_of(value, "sample_next(logits, temperature, generator)")
    expected = draws_reference(logits, TEMPERATURES, rounds, seed)
    if got == expected:
        return
    index = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
    hint = next((key for key, draw in wrong_draws() if got == draws_reference(logits, TEMPERATURES, rounds, seed, draw)),
                None)
    message = msg("sample_next_draws", seed=seed, index=index + 1, temperature=TEMPERATURES[index % len(TEMPERATURES)],
                  expected=expected[index], got=got[index])
    raise Fail(message + msg(hint) if hint else message)


@pytest.mark.points(1, blank=BLANK)
def test_contract(nb):
    """回傳 Python int、不修改 logits；generator 為 None 時用全域亂數 / a Python int, logits left alone; no generator: the global RNG"""
    logits = torch.randn(28) * 2
    with calling(BLANK, hints=HINTS):
        # a call that changed logits in place (logits /= temperature) is refused by the worker, naming it
        index_of(nb.sample_next(logits, 1.0, generator(nb, 3)), "sample_next(logits, 1.0, generator)")
        # without a generator, torch.multinomial draws from the global generator: the same draw as the
        # reference's from a generator in that state
        for temperature in (1.0, 2.0):
            state = nb.torch.get_rng_state()
            got = index_of(nb.sample_next(logits, temperature, None), f"sample_next(logits, {temperature}, None)")
            expected = sample_next_reference(logits, temperature, torch.Generator().set_state(state))
            if got != expected:
                fail("sample_next_global_draw", temperature=temperature, expected=expected, got=got)
