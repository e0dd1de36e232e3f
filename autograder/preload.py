"""What multiprocessing's fork server imports before it forks judge processes (see :mod:`autograder.pool`).

Named, never imported, by the process that grades: ``set_forkserver_preload(["autograder.preload"])``.
Importing it loads what every judge needs before its first submission (seconds of CPU: torch,
pytest, nbformat, the graders' shared modules) once, so each forked judge starts warm.  Nothing is
*run* here (no tensor is made), so no thread pool exists to be broken by the fork.

The package comes first: its ``__init__`` keeps ``rfc3987_syntax`` out of nbformat's jsonschema
(2.4 s of parser building at import).
"""

import atexit
import os
import sys

import autograder  # noqa: F401  (first: see above)

_SERVER = os.getpid()


def _leave_at_once() -> None:
    """The fork server outlives the grading process by about a second tearing down torch and pytest,
    holding the grader's stdout and stderr open all the while (a CI step or ``subprocess.run`` waits
    for them). It has nothing to flush or save: it leaves at once. (Its children, the judges, never
    run this: multiprocessing ends them with ``os._exit``; the pid check makes sure.)"""
    if os.getpid() == _SERVER:
        os._exit(0)


def _imported_by_the_fork_server() -> bool:
    """Whether multiprocessing's fork server is importing this (anyone else keeps an ordinary exit)."""
    from multiprocessing import forkserver

    frame = sys._getframe()
    while frame is not None and frame.f_code is not forkserver.main.__code__:
        frame = frame.f_back
    return frame is not None


if _imported_by_the_fork_server():
    atexit.register(_leave_at_once)

import nbformat  # noqa: E402,F401
import numpy  # noqa: E402,F401
import pytest  # noqa: E402,F401
import torch  # noqa: E402,F401

import autograder.toolkit  # noqa: E402,F401
import autograder.judge  # noqa: E402,F401
from autograder import snapshot  # noqa: E402

snapshot.preload_shared()        # the graders' shared modules, whatever this course has
