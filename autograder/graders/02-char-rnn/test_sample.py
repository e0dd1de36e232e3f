"""sample(model, out_len, start='對') → the completed string, out_len characters, starting with start."""

import pytest

from autograder.graders.char_rnn import TEXT, book_model, expect_text, greedy_completion, random_completions
from autograder.messages import msg
from autograder.toolkit import check, fail

BLANK = "sample"


def sampled(nb, model, out_len, start):
    return expect_text(nb.sample(model, out_len, start), f"sample(model, {out_len}, {start!r})")


def poem_cases(nb, book_trained, retry_seeds, cases):
    failures = []
    for seed in retry_seeds:
        model = book_trained(seed)
        wrong = None
        for out_len, start, expected in cases:
            got = sampled(nb, model, out_len, start)
            if got != expected:
                wrong = msg("sample_text", out_len=out_len, start=start, expected=expected, got=got)
                break
        if wrong is None:
            return
        failures.append(wrong)
    seeds = ", ".join(str(s) for s in retry_seeds)
    fail("poem_after_training", seeds=seeds, detail=failures[0])


def untrained_cases(nb, poem, cases, least: int = 1, models: int = 3):
    """The same calls on untrained models complete as each model says (its greedy completion, computed
    here): a sample that recites the poem, or hard-codes it, is not judged by its text alone. Asked where
    every choice is decisive (by MARGIN), on up to ``models`` models until ``least`` cases were asked, or
    the grader itself is broken."""
    asked = 0
    for _ in range(models):
        model, reference = book_model(nb, poem.size, poem.size, 16, 1)
        for out_len, start in cases:
            text, decisive = greedy_completion(reference, poem, start, out_len)
            if decisive:
                got = sampled(nb, model, out_len, start)
                check(got == text, "sample_untrained", out_len=out_len, start=start, expected=text, got=got)
                asked += 1
        if asked >= least:
            return
    raise RuntimeError(f"only {asked} untrained completions were decisive")


@pytest.mark.points(4, blank=BLANK)
def test_dui_jiu_dang_ge(nb, poem, book_trained, retry_seeds):
    """訓練後「對」補全為「對酒當歌」，未訓練的模型照模型補全 / after training, "對" completes to "對酒當歌"; untrained, as the model says"""
    poem_cases(nb, book_trained, retry_seeds, [(4, '對', '對酒當歌')])
    untrained_cases(nb, poem, [(4, '對')])


@pytest.mark.points(2, blank=BLANK)
def test_every_phrase(nb, poem, book_trained, retry_seeds):
    """訓練後每一句的第一個字都補全為整句；未訓練的模型照模型補全 / after training, every first character completes to its phrase; untrained, as the model says"""
    poem_cases(nb, book_trained, retry_seeds, [(4, p[0], p) for p in TEXT])
    untrained_cases(nb, poem, [(4, p[0]) for p in TEXT], least=4)


@pytest.mark.points(2, blank=BLANK)
def test_start_length_determinism(nb, poem, book_trained, retry_seeds):
    """多字開頭、out_len、結果固定（訓練後與未訓練）/ a multi-character start, out_len respected, deterministic (trained and untrained)"""
    poem_cases(nb, book_trained, retry_seeds, [(4, '對酒', '對酒當歌'), (4, '慨當', '慨當以慷'), (2, '譬', '譬如'),
                                          (4, '唯有杜康', '唯有杜康')])
    model = book_trained(retry_seeds[0])
    first, second = sampled(nb, model, 7, '何'), sampled(nb, model, 7, '何')
    check(len(first) == 7, "sample_text", out_len=7, start='何', expected="7 characters", got=first)
    check(first == second, "sample_not_deterministic", first=first, second=second)
    untrained_cases(nb, poem, [(4, '對酒'), (4, '慨當'), (2, '譬'), (4, '唯有杜康'), (7, '何')], least=3)


@pytest.mark.points(2, blank=BLANK)
def test_matches_greedy(nb, poem):
    """隨機權重下與參考的貪婪補全一致（開頭保留、長度正確）/ equals the reference's greedy completion, random weights"""
    model, reference = book_model(nb, poem.size, poem.size, 16, 1)
    for _, start, out_len, text in random_completions(reference, poem, 7, 3, 5):
        got = sampled(nb, model, out_len, start)
        check(got == text, "sample_text", out_len=out_len, start=start, expected=text, got=got)
