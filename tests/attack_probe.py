"""Grade a chosen few attacks of the corpus, with their honest twins, and say what each got: the evidence
that an attack wins (or loses) on the engine of this checkout, one environment at a time.

Run as root (it makes the environments as tests/test_attacks.py does, with tests/confine.py):

    PYTHONPATH=. python tests/attack_probe.py --env root --env user-without-userns \\
        --group frame-cell-error-list --group ipc-shm-1-stash,ipc-shm-2-fetch ...

Each ``--group`` (attack names, comma-separated) is graded as a class of its own: the attacks and their
twins, ``course grade SUBMITTED --out OUT --jobs 2`` of a copy of the course with validate's short limits,
as ``tests/test_attacks.grade_in`` grades the whole corpus. An attack that crashes ``course grade`` takes
only its own group down. For each attack it prints its score and its twin's (WINS where the graders'
outcomes or the score differ), the graders whose outcome differs, the graders that broke, the size of its
executed.ipynb beside its twin's, its peak memory and what its last cell printed; and for the group:
whether ``course grade`` crashed (exit status, the end of its traceback), the processes of the workers'
uids left running (``tests/conftest.py:workers_running``, right after grading, after ``--settle``
seconds and after ``--linger`` more), how fast the namespace still forks then (a chain of processes that
live a millisecond each is seldom in a listing of /proc: the pids it takes show it), System V IPC objects
(``ipcs``) before and after, files that appeared beside the course, and files of the course copy or the
class whose content, mode, owner, times or extended attributes changed.

``--own``: in the environments of an ordinary user, the course copy and the class belong to that user
(as where an instructor grades as themself), not only the folder that holds them.
``--ballast N``: N idle processes beside the grading, as on a machine that runs a few hundred (a kill
loop that reads /proc takes its time over each of them).

The probe runs in PID, network, IPC and mount namespaces of its own (``unshare``), so that what it sees,
kills and removes is its own gradings' alone, whatever else runs on the machine: whatever the attacks
leave behind (processes of the workers' uids or of the ordinary user, IPC objects that were not there
before) is removed after each group is reported, and anything left dies with the namespace when the
probe ends.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from autograder import course as courses, results, validate  # noqa: E402
from autograder.reaper import kill_as  # noqa: E402
from conftest import AID, ROOT, USER, workers_running  # noqa: E402
from test_attacks import course_copy, write_class  # noqa: E402

ENVIRONMENTS = {
    "root": [],
    "root-without-cap-sys-admin": ["--drop-sys-admin"],
    "user-with-userns": ["--user", USER],
    "user-without-userns": ["--user", USER, "--refuse", "unshare"],
}


def tester() -> pwd.struct_passwd:
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                          capture_output=True, text=True)
    assert made.returncode in (0, 9), made.stderr
    return pwd.getpwnam(USER)


def meta(path: Path) -> dict:
    """What an attack could change of a file or folder without writing it: mode, owner, times, xattrs."""
    info = os.lstat(path)
    try:
        xattrs = {name: os.getxattr(path, name, follow_symlinks=False).hex()
                  for name in os.listxattr(path, follow_symlinks=False)}
    except OSError:
        xattrs = {}
    return {"mode": oct(info.st_mode), "owner": (info.st_uid, info.st_gid), "mtime": info.st_mtime_ns,
            "xattrs": xattrs}


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder`` (and the folder itself), content and metadata; compiled bytecode left out
    (the grading process writes it into the course copy where it may)."""
    import hashlib

    found = {".": meta(folder)}
    for path in sorted(folder.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        key = str(path.relative_to(folder))
        entry = meta(path)
        if path.is_symlink():
            entry["link"] = os.readlink(path)
        elif path.is_file():
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        found[key] = entry
    return found


def changes(before: dict, after: dict) -> list[str]:
    out = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{key}: {'appeared' if a is None else 'vanished'}")
            continue
        if "sha256" not in a and "link" not in a and {k for k in a if a[k] != b.get(k)} == {"mtime"}:
            continue    # a folder whose mtime alone moved: an entry was added (the grading's bytecode)
        out.append(f"{key}: " + ", ".join(f"{k} {a.get(k)} -> {b.get(k)}" for k in sorted(set(a) | set(b))
                                          if a.get(k) != b.get(k)))
    return out


def ipcs() -> str:
    text = subprocess.run(["ipcs"], capture_output=True, text=True).stdout
    return "\n".join(line for line in text.splitlines() if line.strip())


def ipc_ids() -> set[tuple[str, str]]:
    """(kind, id) of every System V IPC object: shm, msg, sem."""
    found = set()
    for kind, flag in (("shm", "-m"), ("msg", "-q"), ("sem", "-s")):
        for line in subprocess.run(["ipcs", flag], capture_output=True, text=True).stdout.splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[0].startswith("0x"):
                found.add((kind, parts[1]))
    return found


def printed(executed: Path) -> str:
    """What the attack's last cell printed, as the executed notebook keeps it."""
    if not executed.exists() or executed.stat().st_size > 50_000_000:
        return ""
    cells = [c for c in json.loads(executed.read_text("utf-8"))["cells"] if c["cell_type"] == "code"][-1:]
    texts = ["".join(o.get("text", "")) for c in cells for o in c.get("outputs", []) if o.get("name") == "stdout"]
    return " | ".join(t.strip() for t in texts if t.strip())


def last_pid() -> int:
    """The last pid this PID namespace gave out: how fast it rises says whether something still forks."""
    return int(Path("/proc/loadavg").read_text().split()[-1])


def forks_per_second() -> int:
    before = last_pid()
    time.sleep(1)
    return (last_pid() - before) % 4194304


def newest_processes(tries: int = 2000) -> list[str]:
    """The processes behind the pids this namespace gave out last, caught as they are born: where something forks
    a process a millisecond that lives a millisecond, a listing of /proc finds each one gone, this finds it."""
    seen = {}
    for _ in range(tries):
        pid = last_pid()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        owner = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        seen.setdefault((owner, cmdline[:100]), pid)
    return [f"pid {pid} uid {owner}: {cmdline}" for (owner, cmdline), pid in seen.items()]


def uids_running(tester_uid: int, scans: int = 50) -> set[int]:
    """The uids of the workers (≥ 100000) and the ordinary user that run a process, over ``scans`` looks at
    /proc (a chain whose links live a millisecond is seldom in one listing)."""
    found = set()
    for _ in range(scans):
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            owner = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
            if owner >= 100000 or owner == tester_uid:
                found.add(owner)
    return found


def kill_leftovers(tester_uid: int) -> None:
    """Kill what the workers left (only this namespace's: see ``in_namespaces_of_its_own``)."""
    for _ in range(20):
        uids = uids_running(tester_uid, scans=5) | {tester_uid}
        for uid in uids:
            kill_as(uid)
        time.sleep(0.05)
        if not uids_running(tester_uid, scans=5) - {tester_uid} and forks_per_second() < 5:
            return


def ballast(count: int) -> list[subprocess.Popen]:
    """``count`` idle processes: a machine with a few hundred processes, as most have (a kill loop that lists
    /proc takes its time over each)."""
    return [subprocess.Popen(["sleep", "3600"]) for _ in range(count)]


def grade_group(env: str, names: list[str], corpus: dict, user, args) -> None:
    flags = ENVIRONMENTS[env]
    attacks = [corpus[n] for n in names]
    home = Path(tempfile.mkdtemp(prefix="course-probe-", dir="/tmp"))
    print(f"\n======== {env}: {', '.join(names)}   ({home})", flush=True)
    try:
        os.chmod(home, 0o755)
        course = course_copy(home)
        twins = write_class(home, attacks)
        if "--user" in flags:
            os.chown(home, user.pw_uid, user.pw_gid)
            if args.own:
                for path in [*course.rglob("*"), course, *(home / "submitted").rglob("*"), home / "submitted"]:
                    os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        before = {area: snapshot(home / area) for area in ("course", "submitted")}
        top_before = {k: v for k, v in meta(home).items() if k != "mtime"}     # (graded/ appears in it)
        ipc_before, ipc_text = ipc_ids(), ipcs()
        reach = [os.path.realpath(sys.base_prefix), sys.prefix, str(ROOT), str(home)]
        command = [sys.executable, str(HERE / "confine.py"), *sum((["--reach", p] for p in reach), []), *flags,
                   "--", sys.executable, "-m", "autograder.cli", "--course", str(course), "grade",
                   str(home / "submitted"), "--out", str(home / "graded"), "--jobs", "2", "--quiet"]
        env_vars = dict(os.environ, PYTHONPATH=str(course), SECRET_TOKEN="hunter2", GITHUB_TOKEN="ghp_x")
        idle = ballast(args.ballast)
        started = time.time()
        proc = subprocess.run(command, cwd=course, env=env_vars, capture_output=True, text=True, timeout=900)
        took = time.time() - started
        left_now = workers_running({user.pw_uid}, started)
        time.sleep(args.settle)
        left_settled = workers_running({user.pw_uid}, started)
        forks_settled, uids_settled = forks_per_second(), uids_running(user.pw_uid)
        newest = newest_processes() if forks_settled > 5 else []
        left_late, forks_late, uids_late = [], 0, set()
        if args.linger and (left_settled or forks_settled > 5 or uids_settled):
            time.sleep(args.linger)
            left_late, forks_late = workers_running({user.pw_uid}, started), forks_per_second()
            uids_late = uids_running(user.pw_uid)
        for sleeper in idle:
            sleeper.kill()
            sleeper.wait()
        ipc_after = ipc_ids()
        crashed = proc.returncode != 0
        print(f"course grade: exit {proc.returncode} after {took:.0f} s"
              f"{'  ** CRASHED **' if crashed else ''}; gradebook.csv "
              f"{'written' if (home / 'graded' / 'gradebook.csv').exists() else 'MISSING'}")
        if crashed or "Traceback" in proc.stderr:
            print("  stderr (end): " + "\n  ".join(proc.stderr.strip().splitlines()[-8:]))
        graded = home / "graded"
        got = {p.parent.parent.name: results.load(p) for p in graded.glob(f"*/{AID}/results.json")}
        for attack in attacks:
            student, twin = f"attack-{attack.name}", twins[f"attack-{attack.name}"]
            mine, theirs = got.get(student), got.get(twin)
            size = lambda s: (graded / s / AID / "executed.ipynb").stat().st_size \
                if (graded / s / AID / "executed.ipynb").exists() else 0      # noqa: E731
            if mine is None or theirs is None:
                print(f"  {attack.name}: no verified result (attack {'ok' if mine else 'none'}, "
                      f"twin {twin} {'ok' if theirs else 'none'})")
                continue
            a = {t.nodeid: t.status for t in mine.tests}
            b = {t.nodeid: t.status for t in theirs.tests}
            differ = [f"{n.split('::')[-1]} ({n.split('/')[-1].split('::')[0]}): {a.get(n)} vs {b.get(n)}"
                      for n in b if a.get(n) != b.get(n)]
            verdict = "WINS" if differ or mine.score != theirs.score else "held"
            print(f"  {attack.name}: {verdict}: score {mine.score:g} vs twin {twin} {theirs.score:g} "
                  f"(of {mine.max_score:g}); executed.ipynb {size(student):,} vs {size(twin):,} bytes; "
                  f"peak memory {mine.peak_memory_kib // 1024} vs {theirs.peak_memory_kib // 1024} MiB")
            for line in differ[:args.show]:
                print(f"      differs: {line}")
            if len(differ) > args.show:
                print(f"      ... and {len(differ) - args.show} more graders differ")
            broken = [t.name for t in mine.grader_errors]
            if broken:
                print(f"      graders broke ({len(broken)}): {broken[:3]}")
                print(f"      first: {next(t.output for t in mine.tests if t.grader_error)[:300]!r}")
            if mine.error:
                print(f"      error: {mine.error[:200]}")
            said = printed(graded / student / AID / "executed.ipynb")
            if said:
                print(f"      it printed: {said[:args.printed]!r}")
        outside = sorted(p.name for p in home.iterdir())
        extra = [n for n in outside if n not in ("course", "graded", "submitted")]
        print(f"  beside the course: {extra or 'nothing'}")
        for name in extra:
            path = home / name
            text = path.read_text(errors="replace")[:200] if path.is_file() else "(folder)"
            print(f"      {name}: {text!r}")
        top_after = {k: v for k, v in meta(home).items() if k != "mtime"}
        if top_after != top_before:
            print(f"  the attacks' folder itself changed: {top_before} -> {top_after}")
        for area in ("course", "submitted"):
            changed = changes(before[area], snapshot(home / area))
            print(f"  {area}/ changed: {len(changed)} entries" if changed else f"  {area}/: unchanged")
            for line in changed[:8]:
                print(f"      {line}")
        late = args.linger and (left_settled or forks_settled > 5 or uids_settled)
        print(f"  processes left: right after {len(left_now)}, after {args.settle:g} s {len(left_settled)}"
              + (f", after {args.settle + args.linger:g} s {len(left_late)}" if late else ""))
        for line in (left_late or left_settled)[:5]:
            print(f"      {line}")
        print(f"  forks in this namespace, a second after grading ended and {args.settle:g} s more: {forks_settled}/s"
              + (f"; {args.linger:g} s later: {forks_late}/s" if late else "")
              + f"; uids of the workers or the user still running a process: {sorted(uids_settled) or 'none'}"
              + (f", later {sorted(uids_late) or 'none'}" if late else ""))
        for line in newest[:4]:
            print(f"      newest: {line}")
        new_ipc = ipc_after - ipc_before
        print(f"  IPC objects: {len(ipc_before)} before, {len(ipc_after)} after ({len(new_ipc)} new)")
        if new_ipc:
            print("      ipcs before:\n        " + ipc_text.replace("\n", "\n        "))
            print("      ipcs after:\n        " + ipcs().replace("\n", "\n        "))
        if args.keep:
            print(f"  kept: {home}")
    finally:
        kill_leftovers(user.pw_uid)
        for kind, ident in ipc_ids() - ipc_before if "ipc_before" in locals() else ():
            subprocess.run(["ipcrm", {"shm": "-m", "msg": "-q", "sem": "-s"}[kind], ident], capture_output=True)
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def in_namespaces_of_its_own(argv: list[str]) -> None:
    """Run the probe in PID, network, IPC and mount namespaces of its own (its own /proc): what it lists,
    kills and removes (processes, Unix sockets, IPC objects) is its gradings' alone, whatever else runs on
    the machine (another checkout's tests grading their own workers), and whatever outlives a grading dies
    with the namespace. The environments themselves are made inside, by confine.py, as the tests make them."""
    if os.environ.get("ATTACK_PROBE_NAMESPACES") == "1":
        if os.getpid() != 1:
            return
        # pid 1 of the namespace: reap every orphan (a chain of processes leaves thousands), end with the probe
        probe = os.fork()
        if probe == 0:
            return
        while True:
            pid, status = os.wait()
            if pid == probe:
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    os.environ["ATTACK_PROBE_NAMESPACES"] = "1"
    command = ["unshare", "--pid", "--fork", "--mount-proc", "--net", "--ipc", "--",
               sys.executable, str(Path(__file__).resolve()), *argv]
    os.execvp(command[0], command)


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("attack_probe: run as root (it makes the environments)")
    in_namespaces_of_its_own(sys.argv[1:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", choices=list(ENVIRONMENTS), required=True)
    parser.add_argument("--group", action="append", required=True, help="attack names, comma-separated")
    parser.add_argument("--own", action="store_true", help="the user owns the course copy and the class")
    parser.add_argument("--settle", type=float, default=4.0)
    parser.add_argument("--linger", type=float, default=0.0, help="look again this much later when some are left")
    parser.add_argument("--show", type=int, default=6, help="differing graders shown per attack")
    parser.add_argument("--keep", action="store_true", help="keep each group's folder")
    parser.add_argument("--ballast", type=int, default=0, help="idle processes beside the grading (a busier machine)")
    parser.add_argument("--printed", type=int, default=400, help="characters shown of what an attack printed")
    args = parser.parse_args()
    corpus = {a.name: a for a in validate.attacks(courses.load(ROOT), AID)}
    groups = [[n for n in g.split(",") if n] for g in args.group]
    unknown = [n for g in groups for n in g if n not in corpus]
    if unknown:
        sys.exit(f"attack_probe: no such attacks: {unknown}")
    for env in args.env:
        for names in groups:
            grade_group(env, names, corpus, tester(), args)      # (the user again: another run's tests remove it)


if __name__ == "__main__":
    main()
