"""The isolation policy: what a worker's sandbox must add up to before untrusted code is graded.

The sandbox (:mod:`autograder.sandbox`) takes what the machine grants and names each measure that
took effect. Here those names are read as five properties, each of which some combination of
measures gives; grading untrusted notebooks needs all five, or it does not happen:

- ``files_written``: student code can write nothing outside its own working folder, so nothing the
  judge or a later submission reads (graders, engine, course, results, other submissions);
- ``files_read``: it can read no hidden grader, source, solution, submission or result;
- ``processes``: nothing it starts outlives its worker (:mod:`autograder.reaper`), and it cannot
  signal or trace the judge;
- ``network``: it reaches no network;
- ``not_root``: it does not run as root, even root without capabilities, which still owns the engine's,
  the course's and the results' files: a uid of its own where the grading process is root, or a
  grading user that is not root (``unprivileged``; root in a user namespace of its own is not root).

Per environment, the measures that give each (the rest of each worker's measures, such as the memory
cgroup or RLIMIT_AS, the IPC namespace and /proc's narrowing, are reported but not required; see
docs/architecture.md for what each environment gives and does not):

=================  ==============================  ============================  ==========================  =====================
property           root with CAP_SYS_ADMIN         root without it               ordinary user               ordinary user, userns
=================  ==============================  ============================  ==========================  =====================
files_written      read_only_fs + private_tmp      landlock_fs                   landlock_fs                 read_only_fs + private_tmp
files_read         hidden_by_mounts                hidden_by_landlock            hidden_by_landlock          hidden_by_mounts
processes          pidns                           uid                           reaped + landlock_scopes    pidns
network            netns                           seccomp                       seccomp                     netns
not_root           uid                             uid (refused where the        unprivileged                unprivileged
                                                   Python is closed to others)
=================  ==============================  ============================  ==========================  =====================

Where the machine cannot give them, grading refuses (exit 2) with what is missing and how to get it,
unless the instructor says the submissions are trusted (``--trust-submissions``, or
``trust_submissions = true`` in course.toml's ``[grading]``); then every result says it was graded
unisolated. ``course check`` (a student's own notebook on their own machine) and the embedded
example class, which ships with the course, are trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

# each property, and the sets of measures any one of which gives it
PROPERTIES: dict[str, tuple[frozenset, ...]] = {
    "files_written": (frozenset({"read_only_fs", "private_tmp"}), frozenset({"read_only_fs", "private_workdir"}),
                      frozenset({"landlock_fs"})),
    "files_read": (frozenset({"hidden_by_mounts"}), frozenset({"hidden_by_landlock"}),
                   frozenset({"uid", "hidden_by_permissions"})),
    "processes": (frozenset({"pidns"}), frozenset({"uid"}), frozenset({"reaped", "landlock_scopes"})),
    "network": (frozenset({"netns"}), frozenset({"seccomp"})),
    "not_root": (frozenset({"uid"}), frozenset({"unprivileged"})),
}

WHAT = {
    "files_written": "student code could write outside its working folder (graders, engine, results, other submissions)",
    "files_read": "student code could read the hidden graders, sources or solutions",
    "processes": "processes started by student code could outlive their worker or signal the judge",
    "network": "student code could reach the network",
    "not_root": "student code would run as root (uid 0, if without capabilities), the owner of the engine's, the "
                "course's and the results' files",
}

WORDS = {
    "uid": "a uid of its own", "userns": "a user namespace", "mountns": "a mount namespace",
    "netns": "no network (namespace)", "pidns": "a PID namespace", "read_only_fs": "read-only file system",
    "hidden_by_mounts": "hidden paths covered", "private_tmp": "private /tmp",
    "hidden_by_permissions": "hidden paths closed to other users", "landlock_fs": "Landlock (files)",
    "hidden_by_landlock": "hidden paths outside Landlock's rules", "landlock_net": "Landlock (TCP)",
    "landlock_scopes": "Landlock (signals)", "seccomp": "seccomp", "reaped": "leftover processes killed",
    "pids_cgroup": "pids cgroup", "rlimits": "rlimits", "no_new_privs": "no_new_privs",
    "no_capabilities": "no capabilities", "python_reachable": "", "own_proc": "",
    "unprivileged": "an ordinary user", "ipcns": "an IPC namespace", "memory_cgroup": "memory cgroup",
    "kill_cgroup": "a cgroup to kill it by", "rlimit_as": "address-space limit", "proc_narrowed": "/proc narrowed",
    "private_workdir": "private folder",
}

REMEDIES = """\
Ways to get it (any one):
  - grade as root with CAP_SYS_ADMIN (on a GitHub runner: sudo; in Docker: --cap-add SYS_ADMIN, or a
    seccomp profile that allows unshare): mount, PID and network namespaces;
  - grade as root where Landlock is allowed (Linux 5.13 or later; Docker's default seccomp profile
    must let landlock_* calls through) with a Python other users can read: a uid of its own per
    worker, Landlock and seccomp;
  - grade as an ordinary user where unprivileged user namespaces are allowed
    (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also
    kernel.apparmor_restrict_unprivileged_userns=0), or where Landlock ABI 6 (Linux 6.12) is;
  - or, only if you trust every submission, say so: --trust-submissions (or trust_submissions = true
    under [grading] in course.toml); every result will then say it was graded unisolated."""


class IsolationRefused(Exception):
    """This machine cannot isolate student code, and the submissions are not trusted: nothing is graded."""


@dataclass(frozen=True)
class Policy:
    """Whether grading demands isolation (``trusted``: the instructor said the submissions are safe)."""

    trusted: bool = False

    def admit(self, measures) -> bool:
        """Whether a worker under ``measures`` may run untrusted code; raise if it may not."""
        gaps = missing(measures)
        if gaps and not self.trusted:
            raise IsolationRefused(refusal(gaps, measures))
        return not gaps


def missing(measures) -> list[str]:
    """The properties that ``measures`` do not give."""
    have = set(measures)
    return [name for name, ways in PROPERTIES.items() if not any(way <= have for way in ways)]


def describe(measures) -> str:
    """The measures in words, for an instructor: "a uid of its own, Landlock (files), seccomp, ..."."""
    words = [WORDS.get(m, m) for m in measures]
    return ", ".join(w for w in words if w) or "nothing"


def refusal(gaps: list[str], measures) -> str:
    lines = ["grading refused: this machine cannot isolate student code, so a hostile notebook could change "
             "grades (its own or others'). Missing:"]
    lines += [f"  - {WHAT[gap]}" for gap in gaps]
    if "not_root" in gaps:
        lines.append(why_root())
    lines += [f"What this machine gave: {describe(measures)}.", REMEDIES]
    return "\n".join(lines)


def why_root() -> str:
    """Why a root grading process's worker could not take a uid of its own, and how to fix it."""
    from autograder import sandbox

    closed = [(path, sandbox.closed_folder(path)) for path in sandbox.python_paths()]
    closed = [(path, folder) for path, folder in closed if folder is not None]
    if not closed:
        return ("    The worker could not take a uid of its own (setuid was refused): grade where root may "
                "change uid (CAP_SETUID, CAP_SETGID), or as an ordinary user.")
    path, folder = closed[0]
    return (f"    The worker could not take a uid of its own: the Python it runs ({path}) lies under {folder}, "
            f"which other users may not enter, and without CAP_SYS_ADMIN no mount namespace can open the way. "
            f"Install the Python where other users can read it (e.g. under /usr/local or /opt, with o+rx on "
            f"every folder on the way), or grade with CAP_SYS_ADMIN.")


def notice(measures, isolated: bool) -> str:
    """One line for the instructor on what protected a grading run."""
    if isolated:
        return f"isolation: student code ran under {describe(measures)}"
    return (f"isolation: UNISOLATED (submissions trusted): {', '.join(missing(measures))} not protected; "
            f"student code ran under {describe(measures)}")
