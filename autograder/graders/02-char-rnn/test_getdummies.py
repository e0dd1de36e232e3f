"""GetDummies(sequence, dict_size, seq_len, batch_size) → np.ndarray float32 (N, T, D), one-hot."""

import numpy as np
import pytest

from autograder.toolkit import check, expect_shape, fail, kind_of

BLANK = "GetDummies"


def onehot_of(nb, sequence, dict_size, seq_len, batch_size, what):
    got = nb.GetDummies(sequence, dict_size, seq_len, batch_size)
    check(isinstance(got, np.ndarray), "wrong_type", what=what, expected="np.ndarray", got=kind_of(got))
    expect_shape(got, (batch_size, seq_len, dict_size), what)
    check(got.dtype == np.float32, "wrong_dtype", what=what, expected="float32", got=str(got.dtype))
    return got


def expect_onehot(got, codes, what):
    codes = np.asarray(codes)
    expected = np.eye(got.shape[-1], dtype=np.float32)[codes]
    if np.array_equal(got, expected):
        return
    i, t = map(int, np.argwhere((got != expected).any(axis=-1))[0])
    ones = [int(k) for k in np.flatnonzero(got[i, t] != 0)]
    fail("onehot_not_onehot", what=what, where=f"[{i}, {t}]", expected=int(codes[i, t]), got=ones)


@pytest.mark.points(2, blank=BLANK)
def test_poem_shape_and_dtype(nb, poem):
    """詩句的獨熱編碼：形狀 (8, 3, 28)、float32 / one-hot of the poem: shape (8, 3, 28), float32"""
    onehot_of(nb, poem.inputs.tolist(), 28, 3, 8, "GetDummies(Input, 28, 3, 8)")
    onehot_of(nb, poem.targets.tolist(), 28, 3, 8, "GetDummies(Target, 28, 3, 8)")


@pytest.mark.points(2, blank=BLANK)
def test_poem_values(nb, poem):
    """詩句的獨熱編碼：每個位置恰好一個 1，在正確的索引 / one-hot of the poem: a single 1 at the right index"""
    # the targets and the phrases in another order too: an answer hard-coded for Input gains nothing
    shuffled = poem.inputs[::-1].copy()
    for codes, name in ((poem.inputs, "Input"), (poem.targets, "Target"), (shuffled, "Input[::-1]")):
        what = f"GetDummies({name}, 28, 3, 8)"
        expect_onehot(onehot_of(nb, codes.tolist(), 28, 3, 8, what), codes, what)


@pytest.mark.points(2, blank=BLANK)
def test_other_sizes(nb):
    """其他大小（不能寫死 8/3/28，最後一個索引也要對）/ other sizes (no hard-coded 8/3/28; the last index too)"""
    rng = np.random.default_rng(2)
    for dict_size, seq_len, batch_size in [(5, 7, 2), (40, 1, 3), (3, 4, 1), (28, 5, 6), (11, 2, 9)]:
        codes = rng.integers(0, dict_size, size=(batch_size, seq_len))
        codes[0, 0] = dict_size - 1                       # catches one-hot shifted by one
        codes[-1, -1] = 0
        what = f"GetDummies(sequence, {dict_size}, {seq_len}, {batch_size})"
        expect_onehot(onehot_of(nb, codes.tolist(), dict_size, seq_len, batch_size, what), codes, what)


@pytest.mark.points(2, blank=BLANK)
def test_array_input(nb, poem):
    """輸入為整數 np.ndarray（predict 就是這樣呼叫）/ an integer np.ndarray input, as predict passes it"""
    rng = np.random.default_rng(3)
    for codes in (poem.encode("對酒當"), rng.integers(0, 28, size=(4, 6)), poem.inputs):
        batch_size, seq_len = codes.shape
        what = f"GetDummies(np.array(shape={codes.shape}), 28, {seq_len}, {batch_size})"
        expect_onehot(onehot_of(nb, codes, 28, seq_len, batch_size, what), codes, what)
