"""Resource limits for a worker, from ``course.toml``'s ``[grading]`` table."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 60.0          # one code cell of the notebook
    notebook_seconds: float = 300.0     # all of the notebook's cells together
    call_seconds: float = 60.0          # one request of a grader (a call, an attribute)
    restarts: int = 4                   # fresh workers one submission may use
    memory_bytes: int = 2 << 30         # the worker's memory: its cgroup's limit (as root), its data segment
    cpu_seconds: int = 900              # CPU time of one worker, a backstop behind the wall-clock limits
    processes: int = 64                 # processes and threads of the worker's own uid (as root)
    file_bytes: int = 64 << 20          # the largest file the worker may write
    open_files: int = 256
    folder_bytes: int = 512 << 20       # everything in the worker's working folder together
    folder_files: int = 10_000          # files and folders in it
    # (core dumps are always off: the sandbox sets RLIMIT_CORE to 0, so no worker fills a disk with them)

    @classmethod
    def from_table(cls, table: dict) -> "Limits":
        """The limits a ``[grading]`` table sets (its other keys are not limits); each a positive number,
        a whole one where the field is an int. Raises ValueError naming the key."""
        values = {}
        for f in fields(cls):
            if f.name not in table:
                continue
            value = table[f.name]
            whole = f.type in ("int", int)
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) or value <= 0:
                kind = "a positive whole number" if whole else "a positive number"
                raise ValueError(f"[grading] {f.name} must be {kind}, not {value!r}")
            values[f.name] = value
        return cls(**values)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

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
