"""``course``: a thin command line over the engine's API.

    course release [AID...] [--check]
    course grade [PATH...] [--out DIR] [--jobs N] [--junit FILE] [--fail-under SCORE] [--shard K/N] [--resume]
                 [--feedback] [--gradebook DB]
    course merge DIR... [--out DIR] [--junit FILE] [--gradebook DB]
    course feedback [DIR]
    course export {gradescope,student} AID [--out DIR]
    course validate [AID...] [--jobs N] [--out DIR]
    course validate --mutate [AID...] [--jobs N] [--out DIR] [--operators A,B] [--limit N] [--report FILE]
    course check NOTEBOOK

Exit status: 0 when the command did its job (grading finished, whatever the scores); 1 when it
found what it was asked to look for (stale release, a failed validation or public check, a score
under --fail-under); 2 when the course or the graders themselves are broken.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder import course as courses, proctitle
from autograder.course import CourseError, GraderSetupError
from autograder.isolation import IsolationRefused


def _jobs(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("--jobs must be at least 1")
    return n


def _operators(value: str) -> list[str]:
    from autograder.mutate import OPERATORS

    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in OPERATORS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown operator(s) {', '.join(unknown) or '(none given)'}; "
                                         f"known: {', '.join(OPERATORS)}")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="An autograded course on recurrent neural networks.")
    p.add_argument("--course", type=Path, default=None, help="the folder holding course.toml (default: found upwards)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="source → release/ (student notebooks) and solutions/ (executed)")
    r.add_argument("assignments", nargs="*", metavar="AID")
    r.add_argument("--check", action="store_true", help="only compare; exit 1 if release/ or solutions/ are stale")

    g = sub.add_parser("grade", help="grade notebooks or a class in submitted/<student>/<aid>/ layout")
    g.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="default: the embedded example class")
    g.add_argument("--out", type=Path, default=Path("graded"), help="where results go (default: ./graded)")
    g.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1, help="submissions graded at once")
    g.add_argument("--junit", type=Path, help="also write JUnit XML here")
    g.add_argument("--fail-under", type=float, metavar="SCORE",
                   help="exit 1 if any submission scores below SCORE (a percentage of its maximum)")
    g.add_argument("--quiet", action="store_true", help="no progress lines")
    g.add_argument("--shard", metavar="K/N", help="grade only the K-th of N deterministic slices (CI matrices)")
    g.add_argument("--resume", action="store_true",
                   help="keep the complete results already in --out; grade only what has none")
    g.add_argument("--feedback", action="store_true",
                   help="also write feedback.html for each submission (with the notebook's figures)")
    g.add_argument("--gradebook", metavar="DB",
                   help="also write the scores into nbgrader's gradebook.db (a path or sqlite:/// URL), each submission into autograded/ beside it for the TA to grade the written answers in the formgrader, and the TA's points so far into the results")
    g.add_argument("--trust-submissions", action="store_true",
                   help="grade even where student code cannot be isolated (every result then says so); "
                        "only for submissions you trust")

    m = sub.add_parser("merge", help="combine the results of several runs (CI shards) into one gradebook")
    m.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    m.add_argument("--out", type=Path, default=Path("graded"))
    m.add_argument("--junit", type=Path)
    m.add_argument("--gradebook", metavar="DB", help="also write the scores into nbgrader's gradebook.db")

    f = sub.add_parser("feedback", help="write feedback.html beside every results.json of a grading run")
    f.add_argument("folder", nargs="?", type=Path, default=Path("graded"), metavar="DIR")

    e = sub.add_parser("export", help="build the Gradescope autograder zip or the students' bundle")
    e.add_argument("kind", choices=["gradescope", "student"])
    e.add_argument("assignment", metavar="AID")
    e.add_argument("--out", type=Path, default=Path("dist"), help="folder of the zip (default: ./dist)")

    v = sub.add_parser("validate", help="prove the graders: solution, blank, mutants, variants")
    v.add_argument("assignments", nargs="*", metavar="AID")
    v.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1)
    v.add_argument("--out", type=Path, help="keep every notebook's results here (DIR/<name>/<aid>/, gradebook.csv)")
    v.add_argument("--trust-submissions", action="store_true",
                   help="validate even where workers cannot be isolated (the attack corpus is then not run)")
    v.add_argument("--attack-root", default="/", metavar="DIR",
                   help="where the attack corpus's file-system attacks look (default: /)")
    v.add_argument("--mutate", action="store_true",
                   help="mutation testing instead: grade machine-made mutants of each blank's solution; "
                        "exit 1 if one keeps full marks and is not listed in autograder/mutants/equivalent.py")
    v.add_argument("--operators", type=_operators, metavar="A,B",
                   help="--mutate: only these operators (activation, drop-term, transpose, index, swap-args, "
                        "operator, no-clone, in-place)")
    v.add_argument("--limit", type=_jobs, metavar="N", help="--mutate: at most N mutants per assignment "
                                                           "(the same ones on every run)")
    v.add_argument("--report", type=Path, metavar="FILE", help="--mutate: also write a JSON summary here")

    c = sub.add_parser("check", help="a student's self-check: the public checks only")
    c.add_argument("notebook", type=Path)
    return p


# pyproject.toml's optional "grading" dependencies (the modules they provide)
GRADING_EXTRAS = {"nbgrader", "nbconvert", "pyseccomp"}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if argv is None:        # the process's own command line: a secret given there is shown to no one
        proctitle.private()
        proctitle.retitle(f"course {args.command}")
    try:
        course = courses.load(args.course)
        return COMMANDS[args.command](course, args)
    except (CourseError, GraderSetupError, IsolationRefused) as exc:
        print(f"course: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name not in GRADING_EXTRAS:
            raise
        print(f"course: `course {args.command}` needs {exc.name}, one of the grading extras that a student's "
              f"install leaves out: pip install -c constraints.txt -e '.[grading]'", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course: interrupted", file=sys.stderr)
        return 130


def cmd_release(course, args) -> int:
    from autograder import api

    problems = api.release(course, args.assignments, check=args.check)
    for line in problems:
        print(line)
    if args.check:
        print("release/ and solutions/ are up to date" if not problems else
              "stale: run `course release` and commit the result", file=sys.stderr)
    return 1 if problems else 0


def cmd_grade(course, args) -> int:
    from autograder import api, results
    from autograder.progress import Progress

    graded = api.grade(course, args.paths, out=args.out, jobs=args.jobs, junit=args.junit,
                       progress=None if args.quiet else Progress(sys.stderr), resume=args.resume, shard=args.shard,
                       feedback=args.feedback, gradebook=args.gradebook, trust=args.trust_submissions,
                       on_isolation=announce)
    print(results.table(graded))
    print(f"\nresults: {args.out}/<student>/<assignment>/results.json, gradebook: {args.out / 'gradebook.csv'}")
    failed = api.engine_failures(graded)
    if failed:
        print(f"course: the engine failed on {len(failed)} submission(s) (every other one is graded): "
              + ", ".join(f"{r.student}/{r.assignment}" for r in failed), file=sys.stderr)
        return 1
    if args.fail_under is not None:
        low = api.under(graded, args.fail_under)
        if low:
            print(f"{len(low)} submission(s) under {args.fail_under:g}%", file=sys.stderr)
            return 1
    return 0


def announce(measures, isolated: bool) -> None:
    """What protects this run, said before it starts (the table ends with it again)."""
    from autograder import isolation

    print(isolation.notice(measures, isolated), file=sys.stderr)


def cmd_merge(course, args) -> int:
    from autograder import api, results

    merged = api.merge(course, args.folders, args.out, junit=args.junit, gradebook=args.gradebook)
    print(results.table(merged))
    print(f"\nmerged {len(merged)} result(s) into {args.out / 'gradebook.csv'}")
    return 0


def cmd_feedback(course, args) -> int:
    from autograder import api

    pages = api.write_feedback(course, args.folder)     # a broken results.json: CourseError, exit 2
    if not pages:
        print(f"course: no results.json under {args.folder}", file=sys.stderr)
        return 1
    print(f"{len(pages)} feedback page(s): {args.folder}/<student>/<assignment>/feedback.html")
    return 0


def cmd_export(course, args) -> int:
    from autograder import api

    print(api.export(course, args.kind, args.assignment, args.out))
    return 0


def cmd_validate(course, args) -> int:
    from autograder import api

    if args.mutate:
        return cmd_mutate(course, args)
    stray = [flag for flag, value in (("--operators", args.operators), ("--limit", args.limit),
                                      ("--report", args.report)) if value is not None]
    if stray:
        print(f"course: {', '.join(stray)} only go with --mutate", file=sys.stderr)
        return 2
    ok = True
    for report in api.validate(course, args.assignments, jobs=args.jobs, out=args.out,
                               trust=args.trust_submissions, attack_root=args.attack_root):
        print_report(report)
        ok = ok and report.ok
    print("validation passed" if ok else "validation FAILED")
    return 0 if ok else 1


def print_report(report) -> None:
    """One assignment's checks, a line each, as `course validate` prints them."""
    print(f"== {report.assignment}")
    for check in report.checks:
        mark = "ok  " if check.ok else "FAIL"
        score = f"{check.score:g}/{check.max_score:g}" if check.max_score else ""
        print(f"  {mark} {check.what:<40} {score:>7}  {check.detail}".rstrip())


def cmd_mutate(course, args) -> int:
    """`course validate --mutate`: the machine mutants of each assignment, and what survived them."""
    from autograder import api

    reports, seconds = api.mutate(course, args.assignments, jobs=args.jobs, out=args.out,
                                  trust=args.trust_submissions, operators=args.operators, limit=args.limit,
                                  report=args.report)
    for report in reports:
        print_report(report)
    ok = all(report.ok for report in reports)
    graded = sum(report.generated for report in reports)
    print(f"mutation testing {'passed' if ok else 'FAILED'} ({graded} mutants graded in {seconds:.0f} s)")
    return 0 if ok else 1


def cmd_check(course, args) -> int:
    from autograder import api
    from autograder.messages import say

    result = api.check(course, args.notebook)
    for t in result.tests:
        print(f"[{say('check_passed' if t.status == 'passed' else 'check_failed')}] {t.name}")
        if t.output:
            print("    " + t.output.replace("\n", "\n    "))
    for note in result.notes:
        print(f"{say('check_note')}: {note}")
    passed = sum(t.status == "passed" for t in result.tests)
    print("\n" + say("check_summary", passed=passed, total=len(result.tests)))
    return 0 if passed == len(result.tests) else 1


COMMANDS = {"release": cmd_release, "grade": cmd_grade, "merge": cmd_merge, "feedback": cmd_feedback,
            "export": cmd_export, "validate": cmd_validate, "check": cmd_check}

if __name__ == "__main__":
    sys.exit(main())
