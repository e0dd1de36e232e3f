"""The graders as they were before any student code ran: private copies the judge loads them from.

The judge trusts nothing on disk that a worker could have touched. A grading run copies the grader
folders it needs (tests, conftest.py, the folder's pytest.ini; never a ``__pycache__``) into a folder
only the judge may enter before its first worker starts, and every judge has imported the graders'
shared modules before it grades (:func:`preload_shared`, or the pool's preload);
pytest then runs on the copies with its configuration named (``-c``) and conftest files looked for no
higher than the copy (``--confcutdir``), so a ``conftest.py``, ``pytest.ini`` or cache planted in the
course, its parents or /tmp is never read. The copies are removed when the run ends.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import shutil
import tempfile
from pathlib import Path


PREFIX = "course-graders-"


def is_copy(folder: Path) -> bool:
    """Whether ``folder`` is a grader folder of a snapshot (``<snapshot>/<area>/<folder>``)."""
    return Path(folder).parent.parent.name.startswith(PREFIX)


class Snapshot:
    """Private copies of grader folders: ``snapshot[folder]`` is where to run ``folder``'s graders."""

    def __init__(self, folders):
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))      # mode 0700: the judge's alone
        self.copies: dict[Path, Path] = {}
        try:
            for folder in sorted({Path(f).resolve() for f in folders}):
                area = self.root / folder.parent.name
                area.mkdir(exist_ok=True)
                ini = folder.parent / "pytest.ini"
                (area / "pytest.ini").write_bytes(ini.read_bytes() if ini.is_file() else b"[pytest]\n")
                copy = area / folder.name
                shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                                symlinks=False)
                self.copies[folder] = copy
        except BaseException:
            self.close()
            raise

    def __getitem__(self, folder: Path) -> Path:
        return self.copies[Path(folder).resolve()]

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@functools.cache
def preload_shared() -> None:
    """Import the graders' shared modules (references, helpers) now, before any student code runs,
    so that graders use these and never a copy read from disk later. One that cannot be imported is
    left alone: its graders report the error, as they would anyway. A student bundle has no graders
    (``course check`` runs the public checks): nothing to load."""
    try:
        import autograder.graders
    except ModuleNotFoundError as exc:
        if exc.name != "autograder.graders":
            raise
        return
    for module in pkgutil.iter_modules(autograder.graders.__path__, "autograder.graders."):
        if not module.ispkg:
            try:
                importlib.import_module(module.name)
            except Exception:
                pass


def pytest_args(folder: Path) -> list[str]:
    """Where and how pytest finds graders: ``folder`` alone, with the configuration beside it."""
    return [str(folder), "--rootdir", str(folder), "-c", str(folder.parent / "pytest.ini"),
            "--confcutdir", str(folder), "-p", "no:cacheprovider", "-p", "no:stepwise"]
