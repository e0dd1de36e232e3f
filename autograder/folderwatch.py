"""The judge's watch over a worker's working folder, where no tmpfs bounds it.

With mount namespaces the worker writes into a private tmpfs with a size and a number of files
(:mod:`autograder.sandbox`). Elsewhere (root without CAP_SYS_ADMIN, an ordinary user without user
namespaces) its folder is a host folder, and only RLIMIT_FSIZE bounds each file: a notebook could fill
the disk with many files. There, a thread of the judge measures the folder every ``PERIOD`` seconds
(the blocks of every file and folder in it, each inode once, and the files its processes hold open
after deleting them) and kills the worker when it passes ``Limits.folder_bytes`` or
``Limits.folder_files``; the judge also measures it at the end of each cell, before it reads on
(``WorkerProcess.receive``), so that a cell that wrote too much between two looks is the one blamed.
The cell is reported as having killed its worker for writing too much, and the folder is emptied
before the next worker. What a worker can write beyond the limits before the kill is what it writes in
``PERIOD`` at the speed of memory (about 64 MiB here): seccomp refuses fallocate, which gave 40 GiB in
0.1 s. A folder the judge cannot list
counts as passing the limits (a worker can hide what it writes from no one but the judge).
"""

from __future__ import annotations

import os
import shutil
import stat
import threading

PERIOD = 0.1
HOLDERS_EVERY = 10          # rounds between two looks for the worker's processes (their open, deleted files)


class Unwatched:
    """Where a tmpfs of the worker's own bounds its folder: nothing to watch."""

    verdict: str | None = None

    def check(self, header) -> str | None:
        return None

    def stop(self, empty: bool = False) -> None:
        pass


class FolderWatch:
    """A thread that measures ``folder`` and calls ``kill`` once it holds too much."""

    def __init__(self, folder: str, max_bytes: int, max_files: int, kill, holders=lambda: ()):
        self.folder = os.path.realpath(folder)
        self.max_bytes, self.max_files = max_bytes, max_files
        self.kill, self.holders = kill, holders
        self.pids = ()                          # the worker's processes, the last time they were looked for
        self.verdict: str | None = None         # why the worker was killed, once it was
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True, name="folder-watch")
        self.thread.start()

    def _watch(self) -> None:
        rounds = 0
        while not self.done.wait(PERIOD):
            if rounds % HOLDERS_EVERY == 0:      # (reading /proc costs more than reading the folder)
                self.pids = self.holders()
            rounds += 1
            if self._over() is not None:
                self.kill()
                return

    def _over(self) -> str | None:
        """The verdict, once the folder holds too much (measured now)."""
        if self.verdict is None:
            size, files, unreadable = measure(self.folder, self.pids)
            if unreadable or size > self.max_bytes or files > self.max_files:
                what = "a folder its judge cannot list" if unreadable else f"{size / 2**20:.0f} MiB in {files} files"
                self.verdict = (f"wrote too much into its working folder: {what} (limits: "
                                f"{self.max_bytes / 2**20:.0f} MiB, {self.max_files} files)")
        return self.verdict

    def check(self, header) -> str | None:
        """At each cell's end, measured at once: a cell that wrote too much faster than a look every
        ``PERIOD`` (a single write of tens of MiB) is the one that killed its worker, not the next."""
        if isinstance(header, dict) and header.get("event") == "cell" and header.get("status") != "start":
            return self._over()
        return self.verdict

    def stop(self, empty: bool = False) -> None:
        """Stop watching; with ``empty`` (its processes all gone), empty the folder if it held too much."""
        self.done.set()
        if self.thread is not threading.current_thread():
            self.thread.join(5)
        if empty and self.verdict is not None:
            clear(self.folder)


def verdict(worker) -> str | None:
    """Why ``worker`` was killed by its watch, if it was."""
    return getattr(getattr(worker, "watch", None), "verdict", None)


def check(worker, header) -> str | None:
    """For each frame the judge reads from ``worker``: the verdict if its folder holds too much (at a cell's
    end, measured then), else None."""
    watch = getattr(worker, "watch", None)
    return watch.check(header) if watch is not None else None


def watch(worker, folder: str, limits):
    """Watch worker's ``folder`` where its sandbox gave it no tmpfs of its own (see the module)."""
    if {"private_tmp", "private_workdir"} & set(worker.isolation):
        return Unwatched()
    pid = worker.proc.pid
    server = getattr(getattr(worker.proc, "server", None), "pid", None)
    uid = 100000 + pid if "uid" in worker.isolation else None

    def holders() -> set[int]:
        """The worker's processes: its descendants (a fork server's, whose orphans it adopts), its uid's."""
        from autograder import reaper

        found = {pid} | {t.pid for root in (pid, server) if root for t in reaper.descendants(root)}
        return found | set(reaper.running_as(uid)) if uid is not None else found

    return FolderWatch(folder, limits.folder_bytes, limits.folder_files, worker.kill, holders)


def measure(folder: str, holders=()) -> tuple[int, int, bool]:
    """(bytes on disk, files and folders, whether some folder could not be listed) of ``folder``, each
    inode counted once, plus the deleted files below it that ``holders`` (pids) keep open."""
    seen: set[tuple[int, int]] = set()
    size = files = 0
    todo = [folder]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except FileNotFoundError:
            continue
        except OSError:
            return size, files, True
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            files += 1
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                size += info.st_blocks * 512
            if stat.S_ISDIR(info.st_mode):
                todo.append(entry.path)
    prefix = folder.rstrip("/") + "/"
    for pid in holders:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if not (target.startswith(prefix) and target.endswith(" (deleted)")):
                    continue
                info = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                size += info.st_blocks * 512
                files += 1
    return size, files, False


def clear(folder: str) -> None:
    """Remove everything in ``folder`` (not the folder), opening what its owner closed to the judge."""
    def opened(function, path, _):
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
        except OSError:
            pass
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass

    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, onerror=opened)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass
