"""The course as ``course.toml`` describes it, and where its parts live on disk."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.limits import Limits

PACKAGE = Path(__file__).resolve().parent


class CourseError(Exception):
    """The course's configuration or layout is wrong (an instructor's problem, not a student's)."""


class GraderSetupError(Exception):
    """The hidden graders themselves are broken (collection failed, points missing): not a student's fault."""


@dataclass(frozen=True)
class Assignment:
    id: str
    notebook: str
    points: float                        # the hidden graders' points, together
    title: str = ""
    written: tuple[tuple[str, float], ...] = ()   # written questions graded by hand: (answer cell's grade_id, points)

    def path(self, root: Path, area: str) -> Path:
        """The assignment's notebook in ``source``, ``release`` or ``solutions``."""
        return root / area / self.id / self.notebook

    @property
    def graders(self) -> Path:
        """The hidden graders: one folder per assignment, named as the assignment."""
        return PACKAGE / "graders" / self.id

    @property
    def checks(self) -> Path:
        """The public checks behind ``course check``."""
        return PACKAGE / "checks" / self.id

    @property
    def written_ids(self) -> set[str]:
        return {qid for qid, _ in self.written}

    @property
    def written_points(self) -> float:
        return sum(points for _, points in self.written)


@dataclass(frozen=True)
class Course:
    root: Path
    id: str
    language: str
    limits: Limits
    seed: int
    retry_seeds: tuple[int, ...]
    assignments: tuple[Assignment, ...] = field(default_factory=tuple)
    title: str = ""
    trust_submissions: bool = False      # [grading] trust_submissions: grade even where workers cannot be isolated

    def assignment(self, aid: str) -> Assignment:
        for a in self.assignments:
            if a.id == aid:
                return a
        known = ", ".join(a.id for a in self.assignments)
        raise CourseError(f"no assignment {aid!r} in course.toml (known: {known})")

    def select(self, aids) -> list[Assignment]:
        return [self.assignment(a) for a in aids] if aids else list(self.assignments)

    def by_notebook(self, filename: str) -> Assignment | None:
        for a in self.assignments:
            if a.notebook == filename:
                return a
        return None


def find_root(start: Path | None = None) -> Path:
    """The folder holding ``course.toml``: the start folder or one above it, else the package's checkout."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "course.toml").is_file():
            return folder
    if (PACKAGE.parent / "course.toml").is_file():
        return PACKAGE.parent
    raise CourseError(f"no course.toml in {here} or above it")


# what course.toml may hold: a key outside these is a typo, refused with the known ones listed
KNOWN = {
    "": ("course", "grading", "assignments"),
    "course": ("id", "title", "language"),
    "grading": (*Limits.names(), "seed", "retry_seeds", "trust_submissions"),
    "assignments": ("id", "notebook", "points", "title", "written"),
}


def load(root: Path | None = None) -> Course:
    root = find_root(root) if root is None or not (Path(root) / "course.toml").is_file() else Path(root).resolve()
    try:
        data = tomllib.loads((root / "course.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"cannot read {root / 'course.toml'}: {exc}") from None
    try:
        return _course(root, data)
    except (KeyError, TypeError, ValueError) as exc:
        reason = f"an entry lacks {exc}" if isinstance(exc, KeyError) else str(exc)
        raise CourseError(f"{root / 'course.toml'}: {reason}") from None


def _course(root: Path, data: dict) -> Course:
    _known(data, "")
    info = _table(data, "course")
    grading = _table(data, "grading")
    entries = data.get("assignments", [])
    if not isinstance(entries, list):
        raise ValueError("[[assignments]] must be an array of tables")
    assignments = []
    for entry in entries:
        _known(entry, "assignments")
        assignments.append(Assignment(id=_text(entry, "id", "assignments", required=True),
                                      notebook=_text(entry, "notebook", "assignments", required=True),
                                      points=_number(entry["points"], "[[assignments]] points"),
                                      title=_text(entry, "title", "assignments"),
                                      written=_written(entry.get("written", {}))))
    ids = [a.id for a in assignments]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two [[assignments]] share an id: {sorted({i for i in ids if ids.count(i) > 1})}")
    language = _text(info, "language", "course") or "zh-Hant"
    from autograder.messages import LANGUAGES

    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    trust = grading.get("trust_submissions", False)
    if not isinstance(trust, bool):
        raise ValueError(f"[grading] trust_submissions must be true or false, not {trust!r}")
    seeds = grading.get("retry_seeds", [0, 1, 2])
    if not (isinstance(seeds, list) and seeds and all(_whole(s) for s in seeds)):
        raise ValueError(f"[grading] retry_seeds must be a list of whole numbers, not {seeds!r}")
    seed = grading.get("seed", 0)
    if not _whole(seed):
        raise ValueError(f"[grading] seed must be a whole number, not {seed!r}")
    return Course(root=root, id=_text(info, "id", "course") or root.name, language=language,
                  limits=Limits.from_table(grading), seed=seed, retry_seeds=tuple(seeds),
                  assignments=tuple(assignments), title=_text(info, "title", "course"), trust_submissions=trust)


def _written(table) -> tuple[tuple[str, float], ...]:
    """``[assignments.written]``: question id (the answer cell's ``grade_id``) = points, in the file's order."""
    if not isinstance(table, dict):
        raise ValueError(f"[assignments.written] must be a table of question = points, not {table!r}")
    for qid in table:
        if not re.fullmatch(r"[A-Za-z_][\w-]*", qid):
            raise ValueError(f"[assignments.written] question id {qid!r} is not a cell grade_id (letters, digits, _ and -)")
    return tuple((qid, _number(points, f"[assignments.written] {qid}")) for qid, points in table.items())


def _known(table: dict, name: str) -> None:
    unknown = sorted(set(table) - set(KNOWN[name]))
    if unknown:
        where = f"[{name}]" if name else "the top level"
        hints = [f"{u!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(u, KNOWN[name], 1))
                 else repr(u) for u in unknown]
        raise ValueError(f"unknown key {', '.join(hints)} in {where}; known: {', '.join(KNOWN[name])}")


def _table(data: dict, name: str) -> dict:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ValueError(f"[{name}] must be a table")
    _known(table, name)
    return table


def _text(table: dict, key: str, name: str, required: bool = False) -> str:
    value = table[key] if required else table.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"[{name}] {key} must be a {'non-empty ' if required else ''}string, not {value!r}")
    return value


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{what} must be a positive number, not {value!r}")
    return float(value)
