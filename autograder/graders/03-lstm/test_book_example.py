"""The book's example: rnn = nn.LSTM(10, 20, 2) on a 5×3×10 input, with the book's names (Input, capital
I: the book's spelling; a lowercase input, PyTorch's docs' spelling, gets a hint, not the points);
lstm_shapes and last_step, which reason about what the axes mean for any sizes (answers that cannot be
typed in as constants)."""

import pytest
import torch
from torch import nn

from autograder.graders.lstm import NO_HINT, shape_of
from autograder.messages import msg
from autograder.toolkit import calling, check, error_of, fail, kind_of, named, tensor, tolerance_of

BLANK = "book_example"


BOOK_NAMES = {"input": "book_input_name"}          # the book's Input, as PyTorch's docs spell it


def book_tensors(nb):
    """The book's globals, shapes checked: Input (5, 3, 10), h0/c0 (2, 3, 20), output (5, 3, 20), hn/cn."""
    shapes = {"Input": (5, 3, 10), "h0": (2, 3, 20), "c0": (2, 3, 20),
              "output": (5, 3, 20), "hn": (2, 3, 20), "cn": (2, 3, 20)}
    return {name: tensor(named(nb, name, BOOK_NAMES if name == "Input" else None), name, shape) for name, shape in shapes.items()}


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
    """output, (hn, cn) 就是 rnn(Input, (h0, c0)) / output, (hn, cn) are what rnn(Input, (h0, c0)) computes"""
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
        output, (hn, cn) = module(tensors["Input"].double(), (tensors["h0"].double(), tensors["c0"].double()))
    for name, expected in (("output", output), ("hn", hn), ("cn", cn)):
        error, tolerance = error_of(tensors[name], expected), tolerance_of(expected)
        check(error <= tolerance, "lstm_book_run", name=name, error=error, tolerance=tolerance)


SIZES = [(5, 3, 10, 20, 2), (7, 2, 4, 6, 1), (3, 6, 5, 4, 3), (1, 4, 8, 3, 2), (6, 1, 2, 9, 1)]   # (T, N, D, H, L)


def torch_shapes(T, N, D, H, L, batch_first):
    """What nn.LSTM itself gives: the shapes of its input, output, h_n and c_n for these sizes."""
    module = nn.LSTM(D, H, L, batch_first=batch_first)
    x = torch.zeros((N, T, D) if batch_first else (T, N, D))
    with torch.no_grad():
        out, (h_n, c_n) = module(x)
    return {"input": tuple(x.shape), "output": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}


def expect_shapes(nb, batch_first: bool):
    for size in SIZES:
        call = f"lstm_shapes({', '.join(map(str, size))}, batch_first={batch_first})"
        with calling(BLANK):
            got = nb.lstm_shapes(*size, batch_first=batch_first)
        expected = torch_shapes(*size, batch_first)
        if type(got) is not dict or set(got) != set(expected):
            fail("expected_got", what=call, expected="dict: input, output, h_n, c_n",
                 got=sorted(map(repr, got)) if type(got) is dict else kind_of(got))
        for key, shape in expected.items():
            answer = shape_of(nb, got[key])
            hint = msg("lstm_hint_hn_batch_first") if batch_first and key in ("h_n", "c_n") else NO_HINT
            check(answer == shape, "lstm_book_shape", name=f"{call}[{key!r}]", expected=shape, got=answer,
                  hint=hint)


@pytest.mark.points(2, blank=BLANK)
def test_shapes_time_major(nb):
    """lstm_shapes：batch_first=False 時各張量的形狀（多種大小）/ lstm_shapes with batch_first=False, several sizes"""
    expect_shapes(nb, False)


@pytest.mark.points(2, blank=BLANK)
def test_shapes_batch_first(nb):
    """lstm_shapes：batch_first=True 時各張量的形狀（多種大小）/ lstm_shapes with batch_first=True, several sizes"""
    expect_shapes(nb, True)


@pytest.mark.points(1, blank=BLANK)
def test_last_step(nb):
    """last_step 取出最後一個時間步，等於 h_n[-1]（兩種排法、多種大小）/ last_step is h_n[-1], both layouts"""
    for T, N, D, H, L in SIZES:
        for batch_first in (False, True):
            module = nn.LSTM(D, H, L, batch_first=batch_first)
            x = torch.randn((N, T, D) if batch_first else (T, N, D))
            with torch.no_grad():
                output, (h_n, _) = module(x)
            what = f"last_step(output of nn.LSTM({D}, {H}, {L}, batch_first={batch_first}), batch_first={batch_first})"
            with calling(BLANK):
                got = tensor(nb.last_step(output, batch_first=batch_first), what, (N, H))
            error = error_of(got, h_n[-1])
            check(error <= tolerance_of(h_n[-1]), "lstm_book_last_step_of", what=what, error=error)
