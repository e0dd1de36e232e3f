"""params_from_torch(rnn, fc) → the Elman params of nn.RNN(D, H) and nn.Linear(H, O), detached tensors."""

import pytest

from autograder.graders import rnn_foundations as ref
from autograder.messages import msg
from autograder.submission import keep
from autograder.toolkit import check, close, fail, Fail, kind_of, mismatch, tensor

BLANK = "params_from_torch"
SIZES = [(3, 5, 2), (4, 4, 4), (6, 2, 3)]       # (D, H, O); D == H once, so W_h and U_h swapped run


def torch_pair(nb, D, H, O):
    """nn.RNN(D, H) and nn.Linear(H, O) built in the worker, and their weights read judge-side."""
    rnn, fc = nb.torch.nn.RNN(D, H), nb.torch.nn.Linear(H, O)
    state = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    state.update({f"fc.{k}": v for k, v in fc.state_dict().items()})
    return rnn, fc, {k: v.float() for k, v in state.items()}


def expected_params(state):
    """(key → (source, value)), and what the usual mistakes put there instead."""
    return {
        "W_h": ("rnn.weight_ih_l0", state["rnn.weight_ih_l0"]),
        "U_h": ("rnn.weight_hh_l0", state["rnn.weight_hh_l0"]),
        "b_h": ("rnn.bias_ih_l0 + rnn.bias_hh_l0", state["rnn.bias_ih_l0"] + state["rnn.bias_hh_l0"]),
        "W_y": ("fc.weight", state["fc.weight"]),
        "b_y": ("fc.bias", state["fc.bias"]),
    }


def student_dict(nb, rnn, fc):
    """What params_from_torch returned, if it is a dict with the five keys (values not looked at)."""
    params = ref.call(nb, BLANK, rnn, fc)
    keys = list(ref.ELMAN_KEYS)
    got = sorted(params) if type(params) is dict and all(type(k) is str for k in params) else kind_of(params)
    check(type(params) is dict and sorted(params) == sorted(keys), "rf_params_type", expected=keys, got=got)
    return params


def student_params(nb, rnn, fc, D, H, O):
    params = student_dict(nb, rnn, fc)
    shapes = {"W_h": (H, D), "U_h": (H, H), "b_h": (H,), "W_y": (O, H), "b_y": (O,)}
    for key in ref.ELMAN_KEYS:
        try:
            tensor(params[key], f"params_from_torch(nn.RNN({D}, {H}), nn.Linear({H}, {O}))[{key!r}]", shapes[key])
        except Fail as exc:
            swapped = key in ("W_h", "U_h") and tuple(getattr(params["W_h"], "shape", ())) == (H, H) \
                and tuple(getattr(params["U_h"], "shape", ())) == (H, D)
            if not swapped:
                raise
            other = "rnn.weight_hh_l0" if key == "W_h" else "rnn.weight_ih_l0"
            raise Fail(exc.message + msg("rf_hint_swapped", entry=key, name=other)) from None
    return params


@pytest.mark.points(1, blank=BLANK)
def test_keys_and_shapes(nb):
    """回傳有 W_h、U_h、b_h、W_y、b_y 五個鍵的 dict，形狀正確 / a dict with the five keys, of the right shapes"""
    for D, H, O in SIZES:
        rnn, fc, _ = torch_pair(nb, D, H, O)
        student_params(nb, rnn, fc, D, H, O)


@pytest.mark.points(3, blank=BLANK)
def test_values(nb):
    """W_h = weight_ih_l0、U_h = weight_hh_l0、b_h = 兩個偏差的和、W_y、b_y / the values, b_h the sum of both biases"""
    for D, H, O in SIZES:
        rnn, fc, state = torch_pair(nb, D, H, O)
        params = student_params(nb, rnn, fc, D, H, O)
        wrong = {"b_h": [("rnn.bias_ih_l0", state["rnn.bias_ih_l0"]), ("rnn.bias_hh_l0", state["rnn.bias_hh_l0"])],
                 "W_h": [("rnn.weight_hh_l0", state["rnn.weight_hh_l0"])],
                 "U_h": [("rnn.weight_ih_l0", state["rnn.weight_ih_l0"])]}
        for key, (source, value) in expected_params(state).items():
            m = mismatch(params[key], value, rtol=1e-6, atol=1e-6)
            if m is None:
                continue
            message = msg("rf_params_value", entry=key, source=source, where=m.where, expected=m.expected, got=m.got)
            for name, other in wrong.get(key, []):
                if other.shape == params[key].shape and close(params[key], other, rtol=1e-6, atol=1e-6):
                    message += msg("rf_hint_bias_one", name=name) if key == "b_h" else \
                        msg("rf_hint_swapped", entry=key, name=name)
                    break
            raise Fail(message)


@pytest.mark.points(1, blank=BLANK)
def test_detached(nb):
    """回傳的張量脫離計算圖（requires_grad 為 False）/ the tensors are detached (requires_grad is False)"""
    rnn, fc, _ = torch_pair(nb, 3, 5, 2)
    student_dict(nb, rnn, fc)
    kept = keep(nb.params_from_torch, rnn, fc)        # the dict stays in the worker, with its tensors as they are
    for key in ref.ELMAN_KEYS:
        flag = keep(kept.get, key).requires_grad
        if flag is not False:
            fail("rf_params_attached", entry=key)
