"""The book's example: rnn = nn.LSTM(10, 20, 2) on a 5×3×10 input, and what its axes mean."""

import pytest
import torch
from torch import nn

from autograder.graders.lstm import NO_HINT, bool_answer, int_answer, shape_answer
from autograder.messages import msg
from autograder.toolkit import check, error_of, fail, kind_of, tensor, tolerance_of

BLANK = "book_example"


def book_tensors(nb):
    """The book's globals, shapes checked: input (5, 3, 10), h0/c0 (2, 3, 20), output (5, 3, 20), hn/cn."""
    shapes = {"input": (5, 3, 10), "h0": (2, 3, 20), "c0": (2, 3, 20),
              "output": (5, 3, 20), "hn": (2, 3, 20), "cn": (2, 3, 20)}
    return {name: tensor(getattr(nb, name), name, shape) for name, shape in shapes.items()}


@pytest.mark.points(1, blank=BLANK)
def test_module(nb):
    """rnn 是 nn.LSTM(10, 20, 2)，batch_first=False / rnn is nn.LSTM(10, 20, 2) with batch_first=False"""
    rnn = nb.rnn
    check(getattr(rnn, "kind", None) == "LSTM", "wrong_type", what="rnn", expected="nn.LSTM", got=kind_of(rnn))
    for attr, expected in (("mode", "LSTM"), ("input_size", 10), ("hidden_size", 20), ("num_layers", 2),
                           ("batch_first", False), ("bidirectional", False), ("proj_size", 0)):
        got = getattr(rnn, attr)
        check(type(got) is type(expected) and got == expected, "lstm_book_module", attr=attr, got=repr(got))


@pytest.mark.points(1, blank=BLANK)
def test_shapes(nb):
    """output (5, 3, 20)、hn 與 cn (2, 3, 20) / output (5, 3, 20), hn and cn (2, 3, 20)"""
    book_tensors(nb)


@pytest.mark.points(1, blank=BLANK)
def test_recomputed(nb):
    """output, (hn, cn) 就是 rnn(input, (h0, c0)) / output, (hn, cn) are what rnn(input, (h0, c0)) computes"""
    tensors = book_tensors(nb)
    state = nb.rnn.state_dict()
    if type(state) is not dict:
        fail("lstm_book_module", attr="state_dict()", got=kind_of(state))
    module = nn.LSTM(10, 20, 2).double()
    try:
        module.load_state_dict({k: torch.as_tensor(v).double() for k, v in state.items()}, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        fail("lstm_book_module", attr="state_dict()", got=str(exc).splitlines()[0][:200])
    with torch.no_grad():
        output, (hn, cn) = module(tensors["input"].double(), (tensors["h0"].double(), tensors["c0"].double()))
    for name, expected in (("output", output), ("hn", hn), ("cn", cn)):
        error, tolerance = error_of(tensors[name], expected), tolerance_of(expected)
        check(error <= tolerance, "lstm_book_run", name=name, error=error, tolerance=tolerance)


@pytest.mark.points(2, blank=BLANK)
def test_axes(nb):
    """batch_dim == 1、seq_dim == 0（書中的註解說反了）/ batch_dim == 1, seq_dim == 0 (the book's comment is wrong)"""
    for name, expected in (("batch_dim", 1), ("seq_dim", 0)):
        value = getattr(nb, name)
        got = int_answer(value)
        check(got == expected, "lstm_book_axis", name=name, expected=expected,
              got=got if got is not None else (repr(value) if type(value) in (bool, float, str) else kind_of(value)))


@pytest.mark.points(1, blank=BLANK)
def test_last_step(nb):
    """output[-1] 等於 hn[-1]，last_step_equal 為 True / output[-1] equals hn[-1] and last_step_equal is True"""
    tensors = book_tensors(nb)
    error = error_of(tensors["output"][-1], tensors["hn"][-1])
    check(error <= tolerance_of(tensors["hn"][-1]), "lstm_book_last_step", error=error)
    value = nb.last_step_equal
    got = bool_answer(value)
    check(got is True, "lstm_book_flag", got=repr(got) if got is not None else kind_of(value))


@pytest.mark.points(2, blank=BLANK)
def test_batch_first_shapes(nb):
    """batch_first=True 時的形狀：input (3, 5, 10)、output (3, 5, 20)、h_n (2, 3, 20) / the batch-first shapes"""
    for name, expected, why in (("input_shape_batch_first", (3, 5, 10), NO_HINT),
                                ("output_shape_batch_first", (3, 5, 20), NO_HINT),
                                ("hn_shape_batch_first", (2, 3, 20), msg("lstm_hint_hn_batch_first"))):
        got = shape_answer(nb, name)
        check(got == expected, "lstm_book_batch_first", name=name, expected=expected, got=got, hint=why)
