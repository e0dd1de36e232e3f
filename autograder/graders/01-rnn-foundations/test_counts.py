"""n_params_shared(D, H, O, T) and n_params_unshared(D, H, O, T): trainable numbers with and without weight sharing."""

import pytest

from autograder.graders import rnn_foundations as ref
from autograder.messages import msg
from autograder.toolkit import Fail

CASES = [(4, 6, 2, 5), (1, 1, 1, 1), (10, 20, 3, 7), (3, 8, 5, 50), (7, 3, 9, 2)]     # (D, H, O, T)


def count(nb, name, D, H, O, T):
    what = f"{name}({D}, {H}, {O}, {T})"
    return what, ref.integer(ref.call(nb, name, D, H, O, T), what)


def expect_count(what, got, expected, mistakes):
    if got == expected:
        return
    message = msg("rf_count", what=what, expected=expected, got=got)
    for key, value in mistakes:
        if got == value:
            message += msg(key)
            break
    raise Fail(message)


@pytest.mark.points(2, blank="n_params_shared")
def test_n_params_shared(nb):
    """權重共享時的參數個數，與 T 無關 / the count with weight sharing, independent of T"""
    for D, H, O, T in CASES:
        what, got = count(nb, "n_params_shared", D, H, O, T)
        per_step = H * D + H * H + H
        expect_count(what, got, ref.n_params_shared(D, H, O, T), [
            ("rf_hint_count_times_t", T * (per_step + O * H + O)),
            ("rf_hint_count_times_t", T * per_step + O * H + O),
            ("rf_hint_count_no_bias", H * D + H * H + O * H),
            ("rf_hint_count_torch", ref.n_params_shared(D, H, O, T) + H)])
    D, H, O = 5, 7, 3
    counts = {T: count(nb, "n_params_shared", D, H, O, T)[1] for T in (1, 2, 100)}
    if len(set(counts.values())) > 1:
        raise Fail(msg("rf_count_depends_on_t", D=D, H=H, O=O, t1=1, n1=counts[1], t2=100, n2=counts[100]))


@pytest.mark.points(2, blank="n_params_unshared")
def test_n_params_unshared(nb):
    """每一步各有 W_h、U_h、b_h、共用 W_y、b_y 時的參數個數 / every step its own W_h, U_h, b_h; one W_y, b_y"""
    for D, H, O, T in CASES + [(4, 6, 2, 100)]:
        what, got = count(nb, "n_params_unshared", D, H, O, T)
        expect_count(what, got, ref.n_params_unshared(D, H, O, T), [
            ("rf_hint_count_no_bias", T * (H * D + H * H) + O * H),
            ("rf_hint_count_no_bias", T * (H * D + H * H) + O * H + O),
            ("rf_hint_count_no_bias", T * (H * D + H * H + H) + O * H),
            ("rf_hint_count_all_shared_t", T * (H * D + H * H + H + O * H + O)),
            ("rf_hint_count_shared", ref.n_params_shared(D, H, O, T)),
            ("rf_hint_count_torch", T * (H * D + H * H + 2 * H) + O * H + O)])
