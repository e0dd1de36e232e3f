"""Resource limits for a worker, from ``course.toml``'s ``[grading]`` table."""

from __future__ import annotations

import resource
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 60.0          # one code cell of the notebook
    notebook_seconds: float = 300.0     # all of the notebook's cells together
    call_seconds: float = 60.0          # one request of a grader (a call, an attribute)
    restarts: int = 4                   # fresh workers one submission may use
    core_dumps: bool = False

    @classmethod
    def from_table(cls, table: dict) -> "Limits":
        known = {k: table[k] for k in cls.__dataclass_fields__ if k in table}
        return cls(**known)

    def apply(self) -> None:
        """Runs in the worker between fork and exec."""
        if not self.core_dumps:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
