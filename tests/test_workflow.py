"""The example GitHub Actions workflow: valid YAML whose every `course` command the real CLI accepts."""

import re
import shlex

import yaml

from autograder import cli
from conftest import ROOT

WORKFLOW = ROOT / "examples" / "github-actions" / "grade-class.yml"


def commands(text: str) -> list[list[str]]:
    """Every `.venv/bin/course ...` line (in steps or in comments), with the matrix expanded to shard 1."""
    found = []
    for line in text.splitlines():
        match = re.search(r"\.venv/bin/course (.*)$", line)
        if match:
            found.append(shlex.split(match.group(1).replace("${{ matrix.shard }}", "1")))
    return found


def test_the_workflow_is_yaml_with_a_sharded_grade_job_and_a_merge_after_it():
    flow = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    shards = flow["jobs"]["grade"]["strategy"]["matrix"]["shard"]
    assert flow["jobs"]["merge"]["needs"] == "grade"
    runs = [step.get("run", "") for job in flow["jobs"].values() for step in job["steps"]]
    grade = next(r for r in runs if " grade " in r and "--shard" in r)
    assert f"/{len(shards)}" in grade                          # --shard K/N with N = the matrix's size
    # as root, where the sandbox is whole (the runner's own user has no user namespaces on ubuntu-latest);
    # then the results go back to the runner's user, whose upload step reads them
    assert "sudo -E .venv/bin/course grade" in grade and "sudo chown -R" in grade
    merge = next(r for r in runs if " merge " in r)
    assert all(f"graded-{k}" in merge for k in shards)          # the merge takes every shard's folder


def test_every_course_command_in_the_workflow_parses_with_the_real_cli():
    found = commands(WORKFLOW.read_text("utf-8"))
    assert {args[0] for args in found} >= {"grade", "merge", "feedback", "check"}
    for args in found:
        parsed = cli.parser().parse_args(args)       # argparse exits (SystemExit) on an unknown option
        assert parsed.command == args[0]
