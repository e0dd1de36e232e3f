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
    memory_bytes: int = 2 << 30         # the worker's data segment (heap and private mappings)
    cpu_seconds: int = 900              # CPU time of one worker, a backstop behind the wall-clock limits
    processes: int = 64                 # processes and threads of the worker's own uid (as root)
    file_bytes: int = 64 << 20          # the largest file the worker may write
    open_files: int = 256
    core_dumps: bool = False

    @classmethod
    def from_table(cls, table: dict) -> "Limits":
        known = {k: table[k] for k in cls.__dataclass_fields__ if k in table}
        return cls(**known)

    def apply(self) -> None:
        """Runs in a plain worker between fork and exec (the sandbox sets the rest)."""
        if not self.core_dumps:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def rlimits(self) -> dict:
        """What the sandbox enforces with setrlimit.

        No memory limit with a CUDA build of torch: the CUDA driver maps far more than it uses, and
        GPU memory is not the process's to limit anyway.
        """
        memory = None if _cuda_build() else self.memory_bytes
        return {"memory_bytes": memory, "cpu_seconds": self.cpu_seconds, "processes": self.processes,
                "file_bytes": self.file_bytes, "open_files": self.open_files}


def _cuda_build() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.version.cuda is not None
