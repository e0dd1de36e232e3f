"""The course as ``course.toml`` describes it, and where its parts live on disk."""

from __future__ import annotations

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
    points: float
    title: str = ""

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


def load(root: Path | None = None) -> Course:
    root = find_root(root) if root is None or not (Path(root) / "course.toml").is_file() else Path(root).resolve()
    try:
        data = tomllib.loads((root / "course.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"cannot read {root / 'course.toml'}: {exc}") from None
    info = data.get("course", {})
    grading = data.get("grading", {})
    assignments = []
    for entry in data.get("assignments", []):
        try:
            assignments.append(Assignment(id=entry["id"], notebook=entry["notebook"],
                                          points=float(entry["points"]), title=entry.get("title", "")))
        except KeyError as exc:
            raise CourseError(f"an assignment in course.toml lacks {exc}") from None
    language = info.get("language", "zh-Hant")
    from autograder.messages import LANGUAGES

    if language not in LANGUAGES:
        raise CourseError(f"course.toml: language {language!r} is not one of {', '.join(LANGUAGES)}")
    return Course(
        root=root,
        id=info.get("id", root.name),
        language=language,
        limits=Limits.from_table(grading),
        seed=int(grading.get("seed", 0)),
        retry_seeds=tuple(int(s) for s in grading.get("retry_seeds", [0, 1, 2])),
        assignments=tuple(assignments),
        title=str(info.get("title", "")),
        trust_submissions=grading.get("trust_submissions", False) is True,
    )
