"""What a long grading run says while it runs: a bar on a terminal, one plain line per submission elsewhere."""

from __future__ import annotations


class Progress:
    """A bar with done, failures and time left on a terminal; one plain line per submission elsewhere (CI)."""

    def __init__(self, stream):
        import time

        self.stream, self.clock, self.started, self.failures = stream, time.monotonic, time.monotonic(), 0
        self.tty = stream.isatty()

    def __call__(self, done: int, total: int, result) -> None:
        self.failures += bool(result.error)
        elapsed = self.clock() - self.started
        left = elapsed / done * (total - done) if done else 0.0
        if self.tty:
            width = 30
            bar = "#" * (width * done // max(total, 1))
            self.stream.write(f"\r[{bar:<{width}}] {done}/{total}  failures {self.failures}  "
                              f"left ~{left:.0f}s ")
            if done == total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{done}/{total}] {result.student}/{result.assignment}: "
                              f"{result.score:g}/{result.max_score:g} ({result.seconds:.1f}s, ~{left:.0f}s left)\n")
        self.stream.flush()
