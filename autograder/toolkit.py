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
        if not isinstance(exc, StudentError) or exc.timeout or exc.type == "MemoryError":
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
