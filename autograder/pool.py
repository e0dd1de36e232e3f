"""Judge processes for a class: ``jobs`` of them, each grading one submission at a time.

Judges are forked from multiprocessing's fork server, which has imported what a judge needs
(:mod:`autograder.preload`) and run nothing: none pays torch's and pytest's imports again, and none
inherits the grading process's threads.  Where there is no such server (not Linux), they are
spawned, each a fresh interpreter.

Each judge gets a clone of the grading process's workers' fork server, already warm (see
:func:`autograder.spawn.attach`): the class pays that warm-up once, not once per judge.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as completed

from autograder import spawn


def judges(count: int) -> ProcessPoolExecutor:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["autograder.preload"])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=spawn.attach,
                               initargs=(spawn.clone_requests(),))


def parallel_map(fn, items: list, jobs: int):
    """``map(fn, items)`` in ``jobs`` processes, in order; inline for one job."""
    if jobs <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with judges(min(jobs, len(items))) as pool:
        return list(pool.map(fn, items))


def as_completed(fn, items: list, jobs: int, first=None, on_first=None):
    """Yield ``fn(item)`` for every item as each finishes, in ``jobs`` processes; inline for one job.

    ``first``: a call (no arguments) made before any result is yielded, its value given to
    ``on_first``; pooled, it runs in a judge while the others start on the items (a refusal it raises
    cancels them, and nothing is yielded). The grading probe uses it: the pool's start-up and the
    workers' server's warm-up overlap instead of following each other."""
    if jobs <= 1 or len(items) <= 1:
        if first is not None:
            value = first()
            if on_first is not None:
                on_first(value)
        for item in items:
            yield fn(item)
        return
    with judges(min(jobs, len(items))) as pool:
        probe = pool.submit(first) if first is not None else None
        futures = [pool.submit(fn, item) for item in items]
        if probe is not None:
            try:
                value = probe.result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            if on_first is not None:
                on_first(value)
        for future in completed(futures):
            yield future.result()
