"""The book is quoted as it is: every quote a notebook makes is held here as data (tests/book_quotes/<aid>.toml),
each must stand in the released notebook exactly as held, and, where the chapter's extracted text is at hand
(../shared/book/, not part of the repository, so CI checks only the first half), each must be in the book.

The extract lost all white space and figures, mixes Simplified and Traditional characters and inserts readings
such as 當(dāng); a quote is compared with it after the same normalization of both sides (readings and white
space dropped, Simplified characters).  Where the extract is damaged beyond that (`?` for `−`, lost subscripts), a
quote holds the extract's form in `book` and says in `repair` what was repaired."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT

QUOTES = ROOT / "tests" / "book_quotes"
EXTRACT = ROOT.parent / "shared" / "book" / "rnn-chapter-extract.txt"
AIDS = ("01-rnn-foundations", "02-char-rnn", "03-lstm")
# what a notebook says when it quotes from memory; the book is at hand now
HEDGES = ("手邊沒有原文", "逐字抄錄", "憑記憶", "our reading", "from memory")

TONES = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
READING = re.compile(rf"\([a-zü{TONES}]*[{TONES}][a-zü{TONES}]*\)")     # 學(xué) → 學


def normal(text: str) -> str:
    import zhconv
    return zhconv.convert(re.sub(r"\s+", "", READING.sub("", text)), "zh-hans")


def quotes(aid: str) -> list[dict]:
    return tomllib.loads((QUOTES / f"{aid}.toml").read_text("utf-8"))["quote"]


def released(aid: str) -> str:
    """Every cell's source of the student's notebook, one after another."""
    path = next((ROOT / "release" / aid).glob("*.ipynb"))
    return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text("utf-8"))["cells"])


@pytest.mark.parametrize("aid", AIDS)
def test_every_quote_stands_in_the_students_notebook_as_held(aid):
    text = released(aid)
    missing = [q["text"] for q in quotes(aid) if q["text"].strip() not in text]
    assert not missing, f"{aid}: quoted in tests/book_quotes but not in the released notebook: {missing}"


@pytest.mark.parametrize("aid", AIDS)
def test_no_notebook_says_the_book_is_not_at_hand(aid):
    text = released(aid) + "\n".join(
        "".join(c["source"]) for p in (ROOT / "source" / aid).glob("*.ipynb")
        for c in json.loads(p.read_text("utf-8"))["cells"])
    assert not [h for h in HEDGES if h in text]


@pytest.mark.skipif(not EXTRACT.exists(), reason="the chapter's extract is not in this checkout's ../shared/book")
@pytest.mark.parametrize("aid", AIDS)
def test_every_quote_is_in_the_book(aid):
    book = normal(EXTRACT.read_text("utf-8"))
    wrong = [q["text"] for q in quotes(aid) if normal(q.get("book", q["text"])) not in book]
    assert not wrong, f"{aid}: not in the chapter's text: {wrong}"
    assert all(q.get("repair") for q in quotes(aid) if "book" in q), "a repaired quote says what it repaired"


def test_the_normalization_keeps_what_tells_quotes_apart():
    """A guard on the comparison itself: readings and spaces go, a changed character or symbol does not."""
    book = normal("optimizer.zero_grad()#清理前一個紀(jì)元的梯度記錄")
    assert normal("optimizer.zero_grad()  # 清理前一個紀元的梯度記錄") in book
    assert normal("optimizer.zero_grad()  # 清理前一個時期的梯度記錄") not in book
    assert normal("optimizer.zero_grad(); # 清理前一個紀元的梯度記錄") not in book
