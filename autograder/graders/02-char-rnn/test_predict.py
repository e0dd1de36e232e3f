"""predict(model, character) → (next_character, hidden): greedy, from the last time step."""

import numpy as np
import pytest

from autograder.graders.char_rnn import MARGIN, book_model, expect_text, greedy
from autograder.toolkit import check, fail, kind_of

BLANK = "predict"


def contexts(poem, count, rng):
    chars = list(poem.char2int)
    out = [p[:k] for p in ('對酒當歌', '慨當以慷', '何以解憂') for k in (1, 2, 3)]
    while len(out) < count:
        out.append(''.join(rng.choice(chars, size=int(rng.integers(1, 6)))))
    return out


def predicted(nb, model, context, as_list=True):
    result = nb.predict(model, list(context) if as_list else context)
    if type(result) not in (tuple, list) or len(result) != 2:
        fail("predict_returns", got=kind_of(result))
    return result


@pytest.mark.points(4, blank=BLANK)
def test_greedy_last_step(nb, poem):
    """預測 = 最後一個時間步分數最高的字（隨機權重、多種前文）/ the argmax at the last time step, for many contexts"""
    rng = np.random.default_rng(5)
    model, reference = book_model(nb, poem.size, poem.size, 16, 1)
    model.eval()
    asked = 0
    for context in contexts(poem, 40, rng):
        expected, margin = greedy(reference, poem, context)
        if margin < MARGIN:
            continue
        got = expect_text(predicted(nb, model, context)[0], f"predict(model, {list(context)!r})[0]")
        check(got == expected, "predict_char", context=context, expected=expected, got=got)
        asked += 1
    if asked < 20:                                # the grader's own inputs were poor: an instructor's problem
        raise RuntimeError(f"only {asked} contexts were decisive")


@pytest.mark.points(2, blank=BLANK)
def test_returns_hidden(nb, poem):
    """回傳 (下一個字, hidden)，hidden 形狀 (L, 1, H) / returns (next character, hidden of shape (L, 1, H))"""
    for layers, hidden_size in ((1, 12), (2, 5)):
        model, _ = book_model(nb, poem.size, poem.size, hidden_size, layers)
        char, hidden = predicted(nb, model, "對酒")
        expect_text(char, "predict(...)[0]")
        check(char in poem.char2int, "predict_returns", got=repr(char))
        got = tuple(getattr(hidden, "shape", ()))
        check(got == (layers, 1, hidden_size), "wrong_shape", what="predict(...)[1] (hidden)",
              expected=(layers, 1, hidden_size), got=got)


@pytest.mark.points(2, blank=BLANK)
def test_list_or_string(nb, poem):
    """前文可以是字元串列或字串，結果相同 / the context may be a list of characters or a str"""
    rng = np.random.default_rng(6)
    model, reference = book_model(nb, poem.size, poem.size, 16, 1)
    for context in contexts(poem, 12, rng):
        expected, margin = greedy(reference, poem, context)
        if margin < MARGIN:
            continue
        got = expect_text(predicted(nb, model, context, as_list=False)[0], f"predict(model, {context!r})[0]")
        check(got == expected, "predict_char", context=context, expected=expected, got=got)
