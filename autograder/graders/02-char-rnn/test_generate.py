"""generate(model, out_len, start='對', temperature=0.0, generator=None) → str: the start fed once, then one
character a model call with the returned hidden carried forward, each character chosen by sample_next.

generate is graded with the contract's Model (forward(x, hidden=None), a stand-in of the judge's) and with the
references of what it may call (GetDummies, predict, sample_next) in place of the notebook's: a wrong
Model or sample_next costs their own points only.
"""

import pytest
import torch

from autograder.graders.char_rnn import (GENERATE_CALLS, RECORDER, TEXT, expect_text, generate_reference,
                                         greedy_completion, hidden_model, random_completions, reference_from,
                                         state_of)
from autograder.messages import msg
from autograder.references import made
from autograder.submission import keep
from autograder.toolkit import check, fail

BLANK = "generate"


def generated(nb, model, out_len, start, **kwargs) -> str:
    with nb.overriding(**made(GENERATE_CALLS, nb)):
        text = nb.generate(model, out_len, start, **kwargs)
    shown = ", ".join([str(out_len), repr(start)] + [f"{k}=..." if k == "generator" else f"{k}={v!r}"
                                                      for k, v in kwargs.items()])
    return expect_text(text, f"generate(model, {shown})")


@pytest.mark.points(2, blank=BLANK)
def test_greedy_equals_refeeding(nb, poem):
    """溫度 0：與每次重送整段前文的貪婪解碼相同（隨機權重）/ temperature 0: equals greedy decoding that re-feeds the prefix (random weights)"""
    model, reference = hidden_model(nb, poem.size, poem.size, 16, 1)
    for case, start, out_len, expected in random_completions(reference, poem, 17, 4, 6):
        # the temperature by its default, or given as 0.0 or 0
        kwargs = [{}, {"temperature": 0.0}, {"temperature": 0}][case % 3]
        got = generated(nb, model, out_len, start, **kwargs)
        check(got == expected, "generate_greedy", out_len=out_len, start=start, expected=expected, got=got)


@pytest.mark.points(1, blank=BLANK)
def test_greedy_trained(nb, poem, book_trained, retry_seeds):
    """溫度 0、訓練好的（與未訓練的）模型：每一句的第一個字補全得與重送前文相同 / temperature 0, a trained (and an untrained) model: as re-feeding, from every first character"""
    trained = book_trained(retry_seeds[0])
    model, _ = hidden_model(nb, poem.size, poem.size, 12, 1)
    with nb.changing(model):
        model.load_state_dict(trained.state_dict())
    reference = reference_from(state_of(model))
    asked = 0
    for phrase in TEXT:
        expected, decisive = greedy_completion(reference, poem, phrase[0], 7)
        if decisive:
            got = generated(nb, model, 7, phrase[0], temperature=0.0)
            check(got == expected, "generate_greedy", out_len=7, start=phrase[0], expected=expected, got=got)
            asked += 1
    if asked < 4:
        raise RuntimeError(f"only {asked} completions were decisive")
    # and on an untrained model, as that model says: a generate that recites the poem is not judged by its text
    model, reference = hidden_model(nb, poem.size, poem.size, 16, 1)
    for phrase in TEXT[:4]:
        expected, decisive = greedy_completion(reference, poem, phrase[0], 7)
        if decisive:
            got = generated(nb, model, 7, phrase[0], temperature=0.0)
            check(got == expected, "generate_greedy", out_len=7, start=phrase[0], expected=expected, got=got)


def describe(call):
    shape, hidden = call
    return msg("generate_call_got", shape=tuple(shape), hidden=msg(f"generate_hidden_{hidden}"))


@pytest.mark.points(2, blank=BLANK)
def test_one_step_per_call(nb, poem):
    """開頭只送一次，之後每次呼叫只送一個字並傳回 hidden / the start once, then one character a call with the hidden passed back"""
    model, _ = hidden_model(nb, poem.size, poem.size, 12, 1)
    recorder_class = nb.define("Recorder", RECORDER)
    for start, out_len, temperature in (('對', 5, 0.0), ('慨當', 6, 1.0), ('何以解', 4, 0.0), ('唯有杜康', 4, 0.0),
                                        ('人生幾何', 2, 0.0)):
        recorder = recorder_class(model)
        kwargs = {"temperature": temperature}
        if temperature:
            g = keep(nb.torch.Generator)
            g.manual_seed(5)
            kwargs["generator"] = g
        got = generated(nb, recorder, out_len, start, **kwargs)
        check(len(got) == max(out_len, len(start)) and got.startswith(start), "expected_got",
              what=f"generate(model, {out_len}, {start!r})", expected=f"{max(out_len, len(start))} × str, {start!r}…",
              got=repr(got))
        calls = recorder.calls
        steps = max(out_len - len(start), 0)
        check(len(calls) == steps, "generate_calls", out_len=out_len, start=start, expected=steps, got=len(calls))
        if not calls:
            continue
        first = calls[0]
        check(tuple(first[0][:2]) == (1, len(start)) and first[1] in ("none", "zero"), "generate_first_call",
              out_len=out_len, start=start, steps=len(start), got=describe(first))
        for index, call in enumerate(calls[1:], start=2):
            check(tuple(call[0][:2]) == (1, 1) and call[1] == "returned", "generate_step_call", out_len=out_len,
                  start=start, index=index, got=describe(call))


@pytest.mark.points(3, blank=BLANK)
def test_sampled_equals_reference(nb, poem):
    """溫度 > 0、固定種子的 generator：與參考相同，且不動用全域亂數 / temperature > 0, a seeded generator: the reference's text, the global RNG untouched"""
    model, reference = hidden_model(nb, poem.size, poem.size, 16, 1)
    for start, out_len, temperature, seed in (('對', 12, 1.0, 3), ('人生', 10, 0.7, 4), ('何', 9, 2.0, 5),
                                              ('去日', 10, 1.3, 6)):
        g = keep(nb.torch.Generator)
        g.manual_seed(seed)
        state = nb.torch.get_rng_state()
        got = generated(nb, model, out_len, start, temperature=temperature, generator=g)
        check(torch.equal(nb.torch.get_rng_state(), state), "global_rng_used", what="generate(..., generator=g)")
        expected = generate_reference(reference, poem, out_len, start, temperature, torch.Generator().manual_seed(seed))
        if got != expected:
            fail("generate_sampled", seed=seed, temperature=temperature, out_len=out_len, start=start,
                 expected=expected, got=got)
