"""Run cells in one submission's worker exactly as the engine does, in whatever environment this process
is in (tests/confine.py makes them), and print what came of it as JSON.

    python tests/probe_worker.py < SPEC.json

SPEC: ``cells`` (the notebook's code cells; ``@JUDGE@`` in them becomes this process's pid), ``names`` (globals to look up afterwards), ``limits``
(fields of Limits), ``marker`` (the name a hostile program gives its processes, looked for once the
submission is closed). Printed: ``values``, ``isolation``, ``runs`` (index, status, message), ``pids``
(the workers'), ``judge`` (this process: pid, IPC namespace), ``error`` (what closing or starting
raised, e.g. a refusal), and, once the submission is closed, ``left`` (processes named ``marker``),
``cgroups`` (folders of the workers' cgroups still there), ``folder_left`` (whether its working folder is).
"""

from __future__ import annotations

import json
import os
import sys
import time

from autograder import cgroups, spawn
from autograder.limits import Limits
from autograder.submission import Submission


def named(marker: str) -> list[str]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/comm") as comm, open(f"/proc/{entry}/stat") as stat:
                if comm.read().strip() == marker and stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(entry)
        except OSError:
            continue
    return found


def main() -> None:
    spec = json.load(sys.stdin)
    out = {"judge": {"pid": os.getpid(), "ipc": os.readlink("/proc/self/ns/ipc")}, "values": {}, "pids": [],
           "left": []}
    cells = [cell.replace("@JUDGE@", str(os.getpid())) for cell in spec["cells"]]
    sub = Submission(cells, limits=Limits(**spec.get("limits", {})), hide=tuple(spec.get("hide", ())))
    spawned = Submission._spawn

    def spawn_and_note(self):
        worker = spawned(self)
        out["pids"].append(worker.proc.pid)
        return worker

    Submission._spawn = spawn_and_note
    try:
        sub.start()
        out["isolation"] = sub.isolation
        out["runs"] = [(r.index, r.status, (r.error or {}).get("message")) for r in sub.runs]
        for name in spec.get("names", []):
            try:
                out["values"][name] = sub.lookup(name)
            except Exception as exc:
                out["values"][name] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        folder = sub._workdir.name if sub._workdir is not None else None
        try:
            sub.close()
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
        out["folder_left"] = folder is not None and os.path.exists(folder)
    if spec.get("marker"):          # (a chain moves on faster than /proc is read: one look can miss it)
        out["left"] = next((found for _ in range(20) if (found := named(spec["marker"])) or time.sleep(0.05)), [])
    out["cgroups"] = [path for pid in out["pids"] for path in cgroups.of_worker(pid)]
    spawn.SERVERS.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
