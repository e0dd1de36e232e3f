"""What the judge server imports before it forks judge processes (see :mod:`autograder.judgeserver`).

Never imported by the process that grades. Importing it loads what every judge needs before its first
submission (seconds of CPU: torch, pytest, nbformat, the graders' shared modules) once, so each forked
judge starts warm.  Nothing is *run* here (no tensor is made), so no thread pool exists to be broken by
the fork.

The package comes first: its ``__init__`` keeps ``rfc3987_syntax`` out of nbformat's jsonschema
(2.4 s of parser building at import).
"""

import autograder  # noqa: F401  (first: see above)

import nbformat  # noqa: E402,F401
import numpy  # noqa: E402,F401
import pytest  # noqa: E402,F401
import torch  # noqa: E402,F401

import autograder.toolkit  # noqa: E402,F401
import autograder.judge  # noqa: E402,F401
from autograder import snapshot  # noqa: E402

snapshot.preload_shared()        # the graders' shared modules, whatever this course has
