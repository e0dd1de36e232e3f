"""Model(input_size, output_size, hidden_dim, n_layers): forward(x, hidden=None) → (out (N·T, O), hidden (L, N, H))."""

import pytest
import torch

from autograder.messages import msg
from autograder.toolkit import Fail, check, expect_shape, fail

from autograder.graders.char_rnn import build, forward, model_error, reference_from, state_of

BLANK = "Model"


@pytest.mark.points(3, blank=BLANK)
def test_poem_shapes(nb, poem):
    """詩句批次的輸出形狀：out (24, 28)、hidden (1, 8, 12) / shapes on the poem batch: out (24, 28), hidden (1, 8, 12)"""
    x = poem.onehot(poem.inputs)
    out, hidden = forward(nb, build(nb, 28, 28, 12, 1), x, "Model(28, 28, 12, 1)(Input)")
    expect_shape(out, (24, 28), "out")
    expect_shape(hidden, (1, 8, 12), "hidden")
    # an output size other than the input size: fc must map H to output_size
    out, _ = forward(nb, build(nb, 28, 10, 12, 1), x, "Model(28, 10, 12, 1)(Input)")
    expect_shape(out, (24, 10), "Model(28, 10, 12, 1): out")


@pytest.mark.points(2, blank=BLANK)
def test_layers_and_init_hidden(nb):
    """兩層、其他大小：hidden (L, N, H)；init_hidden 為全零 / two layers, other sizes: hidden (L, N, H); init_hidden is zeros"""
    model = build(nb, 6, 9, 7, 2)
    out, hidden = forward(nb, model, torch.rand(5, 4, 6), "Model(6, 9, 7, 2)")
    expect_shape(out, (20, 9), "Model(6, 9, 7, 2): out")
    expect_shape(hidden, (2, 5, 7), "Model(6, 9, 7, 2): hidden")
    h0 = model.init_hidden(5)
    got = tuple(getattr(h0, "shape", ()))
    norm = float(torch.as_tensor(h0).abs().max()) if isinstance(h0, torch.Tensor) and h0.numel() else 0.0
    check(isinstance(h0, torch.Tensor) and got == (2, 5, 7) and norm == 0.0,
          "init_hidden_zero", batch=5, expected=(2, 5, 7), got=got, norm=norm)


@pytest.mark.points(3, blank=BLANK)
def test_recurrent(nb):
    """真的有循環：時間 0 的改變影響同一序列時間 2 的輸出，且不影響其他序列 / really recurrent, and sequences stay apart"""
    n, t, d = 4, 5, 28
    model = build(nb, d, d, 12, 1)
    x = torch.rand(n, t, d)
    base, _ = forward(nb, model, x)
    expect_shape(base, (n * t, d), "out")
    for seq in (1, 3):
        changed = x.clone()
        changed[seq, 0] = torch.rand(d) + 1.0
        out, _ = forward(nb, model, changed)
        rows = out.reshape(n, t, d) - base.reshape(n, t, d)
        check(float(rows[seq, 2].abs().max()) > 1e-6, "model_not_recurrent", seq=seq, t=2)
        for other in range(n):
            if other != seq and float(rows[other].abs().max()) > 1e-6:
                fail("model_leaks", seq=seq, other=other)


@pytest.mark.points(4, blank=BLANK)
def test_matches_reference(nb):
    """與 nn.RNN(batch_first=True) + nn.Linear 的參考一致（相同權重，一層與兩層）/ equals the reference with the same weights"""
    for args in ((28, 28, 12, 1), (10, 6, 8, 2)):
        model = build(nb, *args)
        check(model.rnn.batch_first is True, "model_attr", attr="rnn.batch_first", expected=True,
              got=model.rnn.batch_first)
        reference = reference_from(state_of(model))
        x = torch.rand(3, 5, args[0])
        out, hidden = forward(nb, model, x, f"Model{args}")
        with torch.no_grad():
            expected, expected_hidden = reference(x)
        expect_shape(out, tuple(expected.shape), f"Model{args}: out")
        error, tolerance = model_error(out, expected)
        check(error <= tolerance, "model_vs_reference", error=error, tolerance=tolerance)
        expect_shape(hidden, tuple(expected_hidden.shape), f"Model{args}: hidden")
        error, tolerance = model_error(hidden, expected_hidden)
        check(error <= tolerance, "model_vs_reference", error=error, tolerance=tolerance)


@pytest.mark.points(2, blank=BLANK)
def test_hidden_argument(nb):
    """forward(x, hidden) 從傳入的 hidden 接著算：分兩段送入與一次送入相同 / forward(x, hidden) goes on from hidden: two pieces give what one does"""
    for args in ((10, 6, 8, 2), (28, 28, 12, 1)):
        model = build(nb, *args)
        reference = reference_from(state_of(model))
        inputs = args[0]
        x = torch.rand(3, 5, inputs)
        # as many layers as the model has (a wrong count is test_layers_and_init_hidden's to find)
        h0 = torch.randn(reference.rnn.num_layers, 3, reference.rnn.hidden_size) * 0.5
        with torch.no_grad():
            expected, expected_hidden = reference(x, h0)
            from_zero, _ = reference(x)
        # from a given state
        out, hidden = forward(nb, model, x, f"Model{args}(x, h0)", hidden=h0)
        expect_shape(out, tuple(expected.shape), f"Model{args}(x, h0): out")
        expect_shape(hidden, tuple(expected_hidden.shape), f"Model{args}(x, h0): hidden")
        for what, got, want in (("out", out, expected), ("hidden", hidden, expected_hidden)):
            error, tolerance = model_error(got, want)
            if error > tolerance:
                message = msg("model_hidden_vs_reference", what=f"Model{args}(x, h0): {what}", error=error,
                              tolerance=tolerance)
                ignored = what == "out" and model_error(got, from_zero)[0] <= tolerance
                raise Fail(message + msg("model_hint_hidden_ignored") if ignored else message)
        # in two pieces, the second from the hidden the first returned: as in one piece
        with torch.no_grad():
            whole, whole_hidden = reference(x)
        _, first_hidden = forward(nb, model, x[:, :2], f"Model{args}(x[:, :2])")
        out, hidden = forward(nb, model, x[:, 2:], f"Model{args}(x[:, 2:], hidden)", hidden=first_hidden)
        tail = whole.reshape(3, 5, -1)[:, 2:].reshape(-1, whole.shape[-1])
        expect_shape(out, tuple(tail.shape), f"Model{args}(x[:, 2:], hidden): out")
        for what, got, want in (("out", out, tail), ("hidden", hidden, whole_hidden)):
            error, tolerance = model_error(got, want)
            check(error <= tolerance, "model_hidden_vs_reference", what=f"Model{args}(x[:, 2:], hidden): {what}",
                  error=error, tolerance=tolerance)
