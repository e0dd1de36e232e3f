"""The public checks of 02-char-rnn: what the notebook's visible checks ask, run by `course check`.

These are deliberately the visible checks only; the hidden graders ask much more.
"""

import numpy as np
import pytest

from autograder.toolkit import expect

TEXT = ['對酒當歌', '人生幾何', '譬如朝露', '去日苦多', '慨當以慷', '憂思難忘', '何以解憂', '唯有杜康']


@pytest.mark.points(1, blank="GetDummies")
def test_input_shape(nb):
    """Input 的形狀為 (8, 3, 28)、float32 / Input has shape (8, 3, 28), float32"""
    x = nb.Input
    shape = tuple(getattr(x, "shape", ()))
    expect(shape == (8, 3, 28), f"Input 的形狀應為 (8, 3, 28)，得到 {shape}", f"Input shape should be (8, 3, 28), got {shape}")
    dtype = str(getattr(x, "dtype", type(x).__name__))
    expect(dtype.endswith("float32"), f"Input 應為 float32，得到 {dtype}", f"Input should be float32, got {dtype}")


@pytest.mark.points(1, blank="Model")
def test_model_shapes(nb):
    """Model(28, 28, 12, 1) 的輸出 (24, 28)、hidden (1, 8, 12) / Model's out (24, 28), hidden (1, 8, 12)"""
    x = np.zeros((8, 3, 28), dtype=np.float32)
    x[:, :, 0] = 1
    import torch

    out, hidden = nb.Model(28, 28, 12, 1)(torch.from_numpy(x))
    got = (tuple(out.shape), tuple(hidden.shape))
    expect(got == ((24, 28), (1, 8, 12)), f"形狀應為 (24, 28) 與 (1, 8, 12)，得到 {got}",
           f"shapes should be (24, 28) and (1, 8, 12), got {got}")


@pytest.mark.points(1, blank="train")
def test_losses_decrease(nb):
    """losses 有 100 個 float 且下降 / losses holds 100 floats and decreases"""
    losses = nb.losses
    expect(type(losses) is list and len(losses) == 100, "losses 應為 100 個元素的列表",
           f"losses should be a list of 100 items, got {type(losses).__name__} of {len(losses) if hasattr(losses, '__len__') else '?'}")
    expect(all(type(v) is float for v in losses), "losses 的元素應為 float", "the losses should be floats")
    expect(losses[-1] < losses[0], f"損失應下降：{losses[0]:.4f} → {losses[-1]:.4f}",
           f"the loss should decrease: {losses[0]:.4f} → {losses[-1]:.4f}")


@pytest.mark.points(1, blank="sample")
def test_dui_jiu_dang_ge(nb):
    """sample(net, 4, '對') == '對酒當歌'"""
    got = nb.sample(nb.net, 4, '對')
    expect(got == '對酒當歌', f"sample(net, 4, '對') 應為 '對酒當歌'，得到 {got!r}",
           f"sample(net, 4, '對') should be '對酒當歌', got {got!r}")
