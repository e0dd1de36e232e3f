"""The graders' and public checks' one toolkit: failing with a message, checking what came back,
comparing tensors with the course's tolerances, and calling student code.

Everything here runs in the judge, on values the protocol rebuilt, so a comparison can never be
fooled by a student's ``__eq__``: a value is first brought to a numpy array or a Python scalar of the
judge's own making, then compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.messages import Message, msg, text
from autograder.submission import Handle, StudentError


class Fail(AssertionError):
    """A grader's verdict: the submission does not do what the test asks. Its message (a
    :class:`~autograder.messages.Message`) is for the student, rendered where the outcome is recorded."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message.render()


def fail(key: str, **fields) -> None:
    raise Fail(msg(key, **fields))


def check(condition: bool, key: str, **fields) -> None:
    if not condition:
        fail(key, **fields)


def named(nb, name: str, near: dict[str, str] | None = None) -> Any:
    """The notebook's global ``name``. Where it is not defined but a near name is (``near``: near name →
    the catalogue key that says so; the book's ``Input`` written as PyTorch's docs' ``input``), that
    message is the verdict, naming what the notebook has instead."""
    try:
        return getattr(nb, name)
    except StudentError as exc:
        if exc.type != "NameError":
            raise
        for other, key in (near or {}).items():
            try:
                found = getattr(nb, other)
            except StudentError:
                continue
            fail(key, got=kind_of(found))
        raise


def kind_of(value: Any) -> str:
    """A short name of what came back, for messages."""
    if isinstance(value, Handle):
        return value.kind
    if isinstance(value, np.ndarray):
        return f"np.ndarray {value.dtype}"
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        return f"torch.Tensor {str(value.dtype).removeprefix('torch.')}"
    return type(value).__name__


def _torch():
    import sys
    return sys.modules.get("torch")


def to_array(value: Any, what: str, expected: str = "np.ndarray") -> np.ndarray:
    """An ndarray or tensor that came back, as a numpy array (tensors are accepted and converted)."""
    torch = _torch()
    if isinstance(value, np.ndarray):
        return value
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64 if value.dtype == torch.bfloat16 else value.dtype).numpy()
    fail("wrong_type", what=what, expected=expected, got=kind_of(value))


def expect_shape(value: Any, shape: tuple, what: str) -> None:
    got = tuple(getattr(value, "shape", ()))
    check(got == tuple(shape), "wrong_shape", what=what, expected=tuple(shape), got=got)


def is_float(value: Any) -> bool:
    return type(value) is float and math.isfinite(value)


def expect(condition: bool, zh: str, en: str) -> None:
    """A public check's verdict, written where it is checked (the visible checks' own words)."""
    if not condition:
        raise Fail(text(zh, en))


def size_ids(letters: str):
    """``ids=`` for a grader parametrized over sizes: (5, 3, 4) with letters "TND" is "T=5,N=3,D=4"."""
    return lambda size: ",".join(f"{letter}={value}" for letter, value in zip(letters, size))


# ------------------------------------------------------------------------------------------ tensors
# How close a student's float32 result must come to a float64 reference: float32 round-off is ~1e-6 of
# the largest value, and every mistake the graders look for moves a result by 1e-2 and more.
RTOL = 1e-4               # relative to the largest magnitude of the expected value
ATOL = 1e-5


@dataclass
class Mismatch:
    """Where a result is furthest from the reference, and by how much."""

    where: str
    expected: float
    got: float
    error: float
    tolerance: float


def tolerance_of(expected, rtol: float = RTOL, atol: float = ATOL) -> float:
    return atol + rtol * float(expected.abs().max()) if expected.numel() else atol


def error_of(got, expected) -> float:
    """The largest absolute difference (inf where the shapes differ or ``got`` is not finite)."""
    if tuple(got.shape) != tuple(expected.shape):
        return float("inf")
    if not expected.numel():
        return 0.0
    error = (got.double() - expected.double()).abs()
    return float("inf") if not bool(error.isfinite().all()) else float(error.max())


def mismatch(got, expected, rtol: float = RTOL, atol: float = ATOL) -> Mismatch | None:
    """None when ``got`` is within atol + rtol·max|expected| of ``expected`` everywhere; else the worst place."""
    got, expected = got.double(), expected.double()
    if got.shape != expected.shape:
        return Mismatch("(shape)", float("nan"), float("nan"), float("inf"), 0.0)
    if expected.numel() == 0:
        return None
    tolerance = tolerance_of(expected, rtol, atol)
    error = (got - expected).abs()
    error = error.where(got.isfinite(), error.new_full((), float("inf")))
    worst = float(error.max())
    if worst <= tolerance:
        return None
    index = tuple(int(i) for i in np.unravel_index(int(error.flatten().argmax()), tuple(expected.shape)))
    return Mismatch(str(list(index)), float(expected[index]), float(got[index]), worst, tolerance)


def close(got, expected, rtol: float = RTOL, atol: float = ATOL) -> bool:
    return mismatch(got, expected, rtol, atol) is None


THE_REFERENCE = text("參考答案", "the reference")


def differs(what: str, m: Mismatch, reference: Message = THE_REFERENCE, hint=None, notes=()) -> Message:
    """"``what`` differs from ``reference``: at [i, j] expected …, got … (largest error …, tolerance …)",
    then ``hint`` (a Message or a message key: the known mistake the answer is), then ``notes``."""
    message = msg("values_differ", what=what, reference=reference, where=m.where, expected=m.expected, got=m.got,
                  error=m.error, tolerance=m.tolerance)
    for extra in ([hint if isinstance(hint, Message) else msg(hint)] if hint else []) + list(notes):
        message += extra
    return message


def first_match(got, candidates, pick=lambda r: r, rtol: float = RTOL, atol: float = ATOL):
    """The label of the first candidate whose result equals ``got``, or None.

    ``candidates``: (label, compute) pairs, ``compute()`` giving a known mistake's result (a tensor, or a
    list of tensors compared with a list ``got`` item by item); ``pick`` selects the compared part. A
    mistake that cannot be computed for these sizes (x W_h untransposed where D ≠ H, say) is not this one.
    """
    got = list(got) if isinstance(got, (list, tuple)) else [got]
    for label, compute in candidates:
        try:
            result = pick(compute())
        except Exception:       # noqa: BLE001 (a judge-side computation of a mistake, any failure = no match)
            continue
        result = list(result) if isinstance(result, (list, tuple)) else [result]
        if len(result) == len(got) and all(tuple(r.shape) == tuple(g.shape) and close(g, r, rtol, atol)
                                           for g, r in zip(got, result)):
            return label
    return None


def expect_values(got, expected, what: str, reference: Message = THE_REFERENCE, hints=(), pick=lambda r: r,
                  notes=(), rtol: float = RTOL, atol: float = ATOL) -> None:
    """Fail unless ``got`` is within atol + rtol·max|expected| of ``expected``; the message (:func:`differs`)
    hints at the first of ``hints`` (label, compute) whose result ``got`` is."""
    m = mismatch(got, expected, rtol, atol)
    if m is not None:
        raise Fail(differs(what, m, reference, first_match(got, hints, pick, rtol, atol), notes))


def expect_near(got, expected, key: str, **fields) -> None:
    """Fail with message ``key`` (its ``error`` and ``tolerance`` filled in) unless ``got`` is within the
    course's tolerance of ``expected``: for properties with a message of their own (a gate held open)."""
    error, tolerance = error_of(got, expected), tolerance_of(expected)
    check(error <= tolerance, key, error=error, tolerance=tolerance, **fields)


def tensor(value: Any, what: str, shape: tuple):
    """A float32 torch tensor of ``shape`` with finite values, or Fail saying what came back instead:
    its type, then its shape, then its dtype, then its values."""
    torch = _torch()
    check(torch is not None and isinstance(value, torch.Tensor), "wrong_type", what=what, expected="torch.Tensor",
          got=kind_of(value))
    expect_shape(value, shape, what)
    check(value.dtype == torch.float32, "wrong_dtype", what=what, expected="torch.float32",
          got=str(value.dtype).removeprefix("torch."))
    check(bool(torch.isfinite(value).all()), "not_finite", what=what)
    return value


def unpack(result: Any, what: str, names: tuple[str, ...]) -> tuple:
    """A tuple or list of exactly ``len(names)`` items, or Fail saying what came back."""
    if type(result) not in (tuple, list) or len(result) != len(names):
        got = kind_of(result) if type(result) not in (tuple, list) else f"{type(result).__name__} of {len(result)}"
        fail("returns", what=what, expected="(" + ", ".join(names) + ")", got=got)
    return tuple(result)


# ------------------------------------------------------------------------------------------ calling
class calling:  # noqa: N801 (a context manager read as a phrase: `with calling("lstm_forward", ...)`)
    """A context for calls into the worker that judges the student's exceptions.

    - The stub of another blank (``depends``) raised inside the call: Fail "this depends on X, which
      is not implemented yet", not a failure of this blank.
    - Any other exception of the student's, where ``diagnose()`` or ``hints`` (a substring of the
      exception's message → a message key) names a hint: "X raised ..." with the hint below it.
    """

    def __init__(self, blank: str, depends=(), hints: dict | None = None, diagnose=None):
        self.blank, self.depends, self.hints, self.diagnose = blank, tuple(depends), hints or {}, diagnose

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if not isinstance(exc, StudentError) or exc.timeout or exc.type in ("MemoryError", "ArgumentChanged"):
            return False
        if exc.not_implemented:
            for other in self.depends:
                if exc.message.startswith(f"{other}：") or (other in exc.message and self.blank not in exc.message):
                    fail("depends_on", name=other, why=msg("not_implemented", name=other))
            return False
        key = self.diagnose() if self.diagnose is not None else None
        if key is None:
            key = next((k for needle, k in self.hints.items() if needle in exc.message), None)
        if key is not None:
            message = msg("student_raised", name=self.blank, type=exc.type, message=exc.message) + msg(key)
            raise Fail(message + exc.traceback if exc.traceback else message) from None
        return False
